/**
 * `swiftdeploy audit --verify` through the real CLI (`cli/main.ts` in a
 * child process, the repository's manifest copied to a temp folder): what it
 * prints for a sealed history, an unsealed (pre-upgrade) one, a rewrite and
 * a lost key. No root, engine or network.
 */

import { cliArgs } from "../commands/self.ts";
import { sha256Hex } from "../digest/mod.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { appendEvent, formatLine, headPath, keyIdFor, ZERO_HASH } from "../history/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const show = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

/** A temp folder holding a copy of the repository's manifest; `run` runs the CLI on it. */
async function makeStack() {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_audit_cli_" });
  const manifest = join(dir, "manifest.yaml");
  await Deno.copyFile(join(ROOT, "manifest.yaml"), manifest);
  return {
    dir,
    async run(args: string[], env: Record<string, string>): Promise<RunResult> {
      const out = await new Deno.Command(Deno.execPath(), {
        args: cliArgs(ROOT, ["-f", manifest, ...args]),
        env: { NO_COLOR: "1", TZ: "UTC", SWIFTDEPLOY_HOME: ROOT, ...env },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    },
  };
}

Deno.test("audit --verify says what the seals detect, and fails on a rewrite or a lost key", async () => {
  const stack = await makeStack();
  const keys = await Deno.makeTempDir({ prefix: "swiftdeploy_keys_" });
  const env = { SWIFTDEPLOY_KEY_DIR: keys };
  const file = join(stack.dir, "history.jsonl");
  try {
    for (let i = 1; i <= 3; i++) {
      await appendEvent(file, "deploy_noop", { mode: "stable", version: String(i) }, {
        keyDir: keys,
      });
    }
    const ok = await stack.run(["audit", "--verify"], env);
    assert.equal(ok.code, 0, show(ok));
    assert.match(ok.stdout, /history\.jsonl: 3 line\(s\), hash chain intact/);
    assert.match(
      ok.stdout,
      new RegExp(`Seals: 3 sealed line\\(s\\) \\(HMAC-SHA256, key folder ${keys}\\)`),
    );
    assert.match(ok.stdout, /Checkpoint beside the key: matches line 3/);
    assert.match(
      ok.stdout,
      /Detected: by anyone without the key: edits, drops, insertions and reorders/,
    );
    assert.match(ok.stdout, /Not detected: anything done by someone who can read the key/);
    const key = (await Deno.readTextFile(join(keys, `${await keyIdFor(file)}.key`))).trim();
    assert.ok(!ok.stdout.includes(key) && !ok.stderr.includes(key), "the key is never printed");

    const report = await stack.run(["audit"], env);
    assert.equal(report.code, 0, show(report));
    assert.match(
      await Deno.readTextFile(join(stack.dir, "audit_report.md")),
      /\| History chain \| Verified: 3 lines, every link intact and the head file matches; sealed: all 3 with HMAC-SHA256 under a key kept outside the project; the checkpoint beside the key matches \|/,
    );

    // Drop line 2, recompute the chain and the head: caught.
    const lines = (await Deno.readTextFile(file)).slice(0, -1).split("\n");
    lines.splice(1, 1);
    let prev = ZERO_HASH;
    const rewritten = lines.map((l) => {
      const v = JSON.parse(l);
      v.prev = prev;
      const t = JSON.stringify(v);
      prev = sha256Hex(t);
      return t + "\n";
    });
    await Deno.writeTextFile(file, rewritten.join(""));
    await Deno.writeTextFile(headPath(file), JSON.stringify({ v: 1, lines: 2, last: prev }) + "\n");
    const caught = await stack.run(["audit", "--verify"], env);
    assert.equal(caught.code, 1, show(caught));
    assert.match(caught.stdout, /Line 2 does not match its seal/);

    // The key folder elsewhere: a plain message, exit 1.
    const lost = await stack.run(["audit", "--verify"], {
      SWIFTDEPLOY_KEY_DIR: join(keys, "none"),
    });
    assert.equal(lost.code, 1, show(lost));
    assert.match(
      lost.stdout,
      /Line 1 is sealed with key [0-9a-f]{32}, which cannot be found: ".*\/none\/[0-9a-f]{32}\.key" does not exist; the seals cannot be checked/,
    );
  } finally {
    await Deno.remove(stack.dir, { recursive: true });
    await Deno.remove(keys, { recursive: true });
  }
});

Deno.test("audit --verify passes a history written before sealing and says it is unsealed", async () => {
  const stack = await makeStack();
  const keys = await Deno.makeTempDir({ prefix: "swiftdeploy_keys_" });
  const file = join(stack.dir, "history.jsonl");
  try {
    const line = formatLine({
      ts: "2026-11-20T10:00:00.000Z",
      event: "teardown",
      actor: { user: "ops", host: "h", pid: 1 },
      data: { clean: false, removed: [] },
      prev: ZERO_HASH,
    });
    await Deno.writeTextFile(file, line + "\n");
    await Deno.writeTextFile(
      headPath(file),
      JSON.stringify({ v: 1, lines: 1, last: sha256Hex(line) }) + "\n",
    );
    const r = await stack.run(["audit", "--verify"], { SWIFTDEPLOY_KEY_DIR: keys });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /history\.jsonl: 1 line\(s\), hash chain intact/);
    assert.match(
      r.stdout,
      /Seals: none \(written before sealing\); the next append seals the history/,
    );
    assert.match(
      r.stdout,
      /Not detected: a deliberate rewrite: anyone can recompute an unsealed chain/,
    );
  } finally {
    await Deno.remove(stack.dir, { recursive: true });
    await Deno.remove(keys, { recursive: true });
  }
});
