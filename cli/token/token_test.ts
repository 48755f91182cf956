import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkToken,
  createToken,
  generateToken,
  hashToken,
  readTokens,
  revokeToken,
  scopeAllows,
  TokenCache,
  tokenStorePath,
} from "./mod.ts";

Deno.test("generateToken() gives sdt_ + 43 base64url characters (256 bits), never the same twice", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const t = generateToken();
    assert.match(t, /^sdt_[A-Za-z0-9_-]{43}$/);
    seen.add(t);
  }
  assert.equal(seen.size, 200);
});

Deno.test("checkToken() answers missing, unknown, revoked and ok with the record's name and scope", () => {
  const good = generateToken();
  const gone = generateToken();
  const records = [
    { name: "ci", scope: "deploy" as const, hash: hashToken(good), created_at: "x" },
    {
      name: "old",
      scope: "read" as const,
      hash: hashToken(gone),
      created_at: "x",
      revoked_at: "y",
    },
  ];
  assert.deepEqual(checkToken(records, undefined), { ok: false, reason: "missing" });
  assert.deepEqual(checkToken(records, ""), { ok: false, reason: "missing" });
  assert.deepEqual(checkToken(records, generateToken()), { ok: false, reason: "unknown" });
  assert.deepEqual(checkToken(records, good.slice(0, -1)), { ok: false, reason: "unknown" });
  assert.deepEqual(checkToken(records, hashToken(good)), { ok: false, reason: "unknown" });
  assert.deepEqual(checkToken(records, gone), { ok: false, reason: "revoked" });
  assert.deepEqual(checkToken(records, good), { ok: true, name: "ci", scope: "deploy" });
});

Deno.test("scopeAllows(): deploy may do everything, read only read routes", () => {
  assert.equal(scopeAllows("deploy", "deploy"), true);
  assert.equal(scopeAllows("deploy", "read"), true);
  assert.equal(scopeAllows("read", "read"), true);
  assert.equal(scopeAllows("read", "deploy"), false);
});

Deno.test("createToken() stores only the hash in a 0600 file; names are unique; revokeToken() keeps the record", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_token_" });
  try {
    const state = join(dir, ".swiftdeploy");
    const { token, record } = await createToken(state, "ci-bot", "deploy");
    const text = await Deno.readTextFile(tokenStorePath(state));
    assert.ok(!text.includes(token), "the token itself is never written");
    assert.ok(text.includes(hashToken(token)));
    assert.equal((await Deno.stat(tokenStorePath(state))).mode! & 0o777, 0o600);
    assert.equal(record.scope, "deploy");
    await assert.rejects(createToken(state, "ci-bot", "read"), /the name is taken/);
    await assert.rejects(createToken(state, "bad name", "read"), /Invalid token name/);
    await assert.rejects(createToken(state, "x", "admin"), /Invalid scope "admin"/);
    const cache = new TokenCache(state);
    assert.deepEqual(await cache.check(token), { ok: true, name: "ci-bot", scope: "deploy" });
    assert.equal((await revokeToken(state, "ci-bot")).already, false);
    assert.deepEqual(await cache.check(token), { ok: false, reason: "revoked" });
    assert.equal((await Deno.stat(tokenStorePath(state))).mode! & 0o777, 0o600);
    const [kept] = await readTokens(tokenStorePath(state));
    assert.ok(kept?.revoked_at);
    await assert.rejects(revokeToken(state, "nobody"), /no token has that name/);
    await assert.rejects(createToken(state, "ci-bot", "read"), /the name is taken/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTokens() refuses a damaged store with TOKEN_STORE instead of letting everyone in", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_token_" });
  try {
    const path = tokenStorePath(dir);
    assert.deepEqual(await readTokens(path), []);
    await Deno.writeTextFile(path, "{not json");
    await assert.rejects(
      readTokens(path),
      (e: Error & { code?: string }) => e.code === "TOKEN_STORE",
    );
    await Deno.writeTextFile(
      path,
      JSON.stringify({ version: 1, tokens: [{ name: "a", scope: "root", hash: "00" }] }),
    );
    await assert.rejects(
      readTokens(path),
      (e: Error & { code?: string }) => e.code === "TOKEN_STORE",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("token revoke of a token revoked before says so, keeps its first revoked_at and writes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_token_" });
  try {
    const state = join(dir, ".swiftdeploy");
    await createToken(state, "ci", "deploy");
    const first = await revokeToken(state, "ci");
    assert.equal(first.already, false);
    const mtime = (await Deno.stat(tokenStorePath(state))).mtime;
    const again = await revokeToken(state, "ci");
    assert.equal(again.already, true);
    assert.equal(again.record.revoked_at, first.record.revoked_at);
    assert.deepEqual((await Deno.stat(tokenStorePath(state))).mtime, mtime);
    // The command's words: the first revoke says revoked, the second says it already was.
    const { runTokenRevoke } = await import("../commands/token.ts");
    await createToken(state, "bot", "read");
    const lines: string[] = [];
    const ctx = { stateDir: state, term: { out: (l: string) => lines.push(l) } } as never;
    assert.equal(await runTokenRevoke(ctx, "bot"), 0);
    assert.equal(await runTokenRevoke(ctx, "bot"), 0);
    assert.match(lines[0]!, /^revoked token "bot" at /);
    assert.match(lines[1]!, /^token "bot" was already revoked at .* \(nothing changed\)$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
