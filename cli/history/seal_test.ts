/**
 * Sealing (issue 11 case 14): a rewrite whose author recomputed the chain and
 * the head, but lacks the key kept outside the project, must fail
 * verification. Each test tampers as an attacker with write access to the
 * project folder (not to the key folder) would.
 */

import { sha256Hex } from "../digest/mod.ts";
import assert from "node:assert/strict";
import { SwiftDeployError } from "../errors/mod.ts";
import {
  appendEvent,
  formatLine,
  headPath,
  type HistoryProblem,
  keyIdFor,
  verifyHistory,
  type VerifyResult,
  ZERO_HASH,
} from "./mod.ts";
import { assertOutside, keyDir } from "./_seal.ts";

const LINES = 12;

/** A sealed 12-line history in `<tmp>/project/`, its key folder `<tmp>/keys/`. */
async function sealed(lines = LINES) {
  const root = await Deno.makeTempDir({ prefix: "swiftdeploy_seal_" });
  await Deno.mkdir(`${root}/project`);
  const file = `${root}/project/history.jsonl`;
  const keys = `${root}/keys`;
  for (let i = 1; i <= lines; i++) {
    await appendEvent(file, "policy_violation", {
      domain: "canary",
      reasons: [`check ${i}`],
      error_rate_percent: i,
    }, {
      actor: { user: "ops", host: "h", pid: 7 },
      now: () => new Date(Date.UTC(2026, 10, 21, 12, 0, i)),
      keyDir: keys,
    });
  }
  return {
    root,
    file,
    keys,
    verify: () => verifyHistory(file, { keyDir: keys }),
    verifyWith: (dir: string | undefined) => verifyHistory(file, { keyDir: dir }),
    async lines(): Promise<string[]> {
      return (await Deno.readTextFile(file)).slice(0, -1).split("\n");
    },
    /** Writes `lines` with every `prev` recomputed and a matching head: all an attacker without the key can do. */
    async rewrite(lines: string[]): Promise<void> {
      let prev = ZERO_HASH;
      const out = lines.map((line) => {
        const value = JSON.parse(line);
        value.prev = prev;
        const text = JSON.stringify(value);
        prev = sha256Hex(text);
        return text;
      });
      await Deno.writeTextFile(file, out.map((l) => l + "\n").join(""));
      await Deno.writeTextFile(
        headPath(file),
        JSON.stringify({ v: 1, lines: out.length, last: prev }) + "\n",
      );
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true });
    },
  };
}

function assertFails(result: VerifyResult, line: number, problem: HistoryProblem): void {
  assert.equal(result.ok, false, `expected "${problem}" at line ${line}, got a pass`);
  if (result.ok) return;
  assert.equal(result.problem, problem, result.message);
  assert.equal(result.line, line, result.message);
}

Deno.test("verifyHistory() detects a dropped line when the chain and head were recomputed", async () => {
  await using h = await sealed();
  const lines = await h.lines();
  lines.splice(4, 1); // line 5 gone
  await h.rewrite(lines);
  // The old line 6, now 5, has a new prev: its seal no longer matches.
  assertFails(await h.verify(), 5, "forged");
});

Deno.test("verifyHistory() detects an edited line when the chain and head were recomputed", async () => {
  await using h = await sealed();
  const lines = await h.lines();
  lines[6] = lines[6]!.replace('"error_rate_percent":7', '"error_rate_percent":0');
  await h.rewrite(lines);
  assertFails(await h.verify(), 7, "forged");
});

Deno.test("verifyHistory() detects reordered lines when the chain and head were recomputed", async () => {
  await using h = await sealed();
  const lines = await h.lines();
  [lines[2], lines[3]] = [lines[3]!, lines[2]!];
  await h.rewrite(lines);
  assertFails(await h.verify(), 3, "forged");
});

Deno.test("verifyHistory() detects the newest lines cut with the head rewritten, by the checkpoint", async () => {
  await using h = await sealed();
  await h.rewrite((await h.lines()).slice(0, 9)); // chain intact, head says 9
  assertFails(await h.verify(), 10, "removed");
  // The whole history and its head deleted: still seen.
  await Deno.remove(h.file);
  await Deno.remove(headPath(h.file));
  assertFails(await h.verify(), 1, "removed");
});

Deno.test("verifyHistory() detects stripped seals (the history turned back into an unsealed one)", async () => {
  await using h = await sealed();
  const stripped = (await h.lines()).map((line) => {
    const { v: _v, key: _key, mac: _mac, ...rest } = JSON.parse(line);
    return JSON.stringify({ v: 1, ...rest });
  });
  await h.rewrite(stripped);
  assertFails(await h.verify(), LINES, "edited"); // the checkpoint's last line is gone
});

Deno.test("verifyHistory() detects a line added without the key", async () => {
  await using h = await sealed();
  const lines = await h.lines();
  const fake = JSON.parse(lines[LINES - 1]!);
  fake.data.reasons = ["all fine"];
  lines.push(JSON.stringify(fake)); // a sealed-looking line with a made-up mac
  await h.rewrite(lines);
  assertFails(await h.verify(), LINES + 1, "forged");
  const plain = JSON.parse(formatLine({
    ts: "2026-11-21T12:01:00.000Z",
    event: "teardown",
    actor: { user: "ops", host: "h", pid: 7 },
    data: { clean: false, removed: [] },
    prev: ZERO_HASH,
  }));
  lines[LINES] = JSON.stringify(plain); // or an unsealed one
  await h.rewrite(lines);
  assertFails(await h.verify(), LINES + 1, "unsealed");
});

Deno.test("verifyHistory() without the key says so plainly and fails", async () => {
  await using h = await sealed();
  const id = await keyIdFor(h.file);
  await Deno.remove(`${h.keys}/${id}.key`);
  const result = await h.verify();
  assertFails(result, 1, "key");
  if (!result.ok) {
    assert.match(result.message, new RegExp(`sealed with key ${id}, which cannot be found`));
    assert.ok(result.message.includes(`${h.keys}/${id}.key" does not exist`), result.message);
    assert.match(result.message, /the seals cannot be checked/);
  }
  // No key folder at all.
  const none = await h.verifyWith(undefined);
  assertFails(none, 1, "key");
  if (!none.ok) assert.match(none.message, /no key folder is set/);
});

Deno.test("appendEvent() refuses to seal with a new key when the one lines were sealed with is gone", async () => {
  await using h = await sealed(2);
  await Deno.remove(`${h.keys}/${await keyIdFor(h.file)}.key`);
  const before = await Deno.readTextFile(h.file);
  await assert.rejects(
    appendEvent(h.file, "teardown", { clean: false, removed: [] }, { keyDir: h.keys }),
    (error: unknown) => {
      assert.ok(error instanceof SwiftDeployError);
      assert.equal(error.code, "HISTORY_KEY");
      assert.match(error.message, /its key ".*\.key" is missing, though lines were sealed with it/);
      return true;
    },
  );
  assert.equal(await Deno.readTextFile(h.file), before);
});

Deno.test("the key is 0600 in a 0700 folder and appears in no file of the project nor in any message", async () => {
  await using h = await sealed(3);
  const id = await keyIdFor(h.file);
  const keyFile = `${h.keys}/${id}.key`;
  assert.equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(h.keys)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(`${h.keys}/${id}.checkpoint`)).mode! & 0o777, 0o600);
  const key = (await Deno.readTextFile(keyFile)).trim();
  assert.match(key, /^[0-9a-f]{64}$/);
  for await (const entry of Deno.readDir(`${h.root}/project`)) {
    const text = await Deno.readTextFile(`${h.root}/project/${entry.name}`);
    assert.ok(!text.includes(key), `${entry.name} holds the key`);
  }
  const lines = await h.lines();
  lines[0] = lines[0]!.replace('"pid":7', '"pid":8');
  await Deno.writeTextFile(h.file, lines.join("\n") + "\n");
  const result = await h.verify();
  assert.equal(result.ok, false);
  assert.ok(!JSON.stringify(result).includes(key));
});

Deno.test("a key folder inside the project is refused; the folder comes from the environment", async () => {
  await using h = await sealed(1);
  await assert.rejects(
    appendEvent(h.file, "teardown", { clean: false, removed: [] }, {
      keyDir: `${h.root}/project/keys`,
    }),
    /Cannot keep the history key in ".*project\/keys": it is inside the project folder/,
  );
  // A history in a subfolder of the project: the key may not sit elsewhere in the project.
  const logs = `${h.root}/project/logs`;
  await Deno.mkdir(logs, { recursive: true });
  await assert.rejects(
    appendEvent(`${logs}/history.jsonl`, "teardown", { clean: false, removed: [] }, {
      keyDir: `${h.root}/project/keys`,
      projectDir: `${h.root}/project`,
    }),
    /Cannot keep the history key in ".*project\/keys": it is inside the project folder ".*project"/,
  );
  assert.throws(() => assertOutside(`${h.root}/project`, `${h.root}/project`), SwiftDeployError);
  assertOutside(h.keys, `${h.root}/project`); // beside it is fine
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(keyDir(env({ SWIFTDEPLOY_KEY_DIR: "/k", HOME: "/h" })), "/k");
  assert.equal(keyDir(env({ XDG_STATE_HOME: "/s", HOME: "/h" })), "/s/swiftdeploy/keys");
  assert.equal(keyDir(env({ HOME: "/h" })), "/h/.local/state/swiftdeploy/keys");
  assert.equal(keyDir(env({})), undefined);
  await assert.rejects(
    appendEvent(h.file, "teardown", { clean: false, removed: [] }, { keyDir: undefined }),
    /no folder for its key/,
  );
});

Deno.test("a history written before sealing still verifies as unsealed, and the first seal then covers it", async () => {
  await using h = await sealed(0);
  // Four lines as today's version wrote them: v1, no key, no mac.
  let prev = ZERO_HASH;
  const old: string[] = [];
  for (let i = 1; i <= 4; i++) {
    const line = formatLine({
      ts: `2026-11-20T10:00:0${i}.000Z`,
      event: "deploy_noop",
      actor: { user: "ops", host: "h", pid: 1 },
      data: { mode: "stable", version: String(i) },
      prev,
    });
    old.push(line);
    prev = sha256Hex(line);
  }
  await Deno.writeTextFile(h.file, old.map((l) => l + "\n").join(""));
  await Deno.writeTextFile(headPath(h.file), JSON.stringify({ v: 1, lines: 4, last: prev }) + "\n");
  const before = await h.verify();
  assert.ok(before.ok, before.ok ? "" : before.message);
  assert.deepEqual(before.seals, { sealed: 0, unsealed: 4, checkpoint: "missing", keyDir: h.keys });

  // The upgrade's first append seals the new line, chained to the old ones.
  const next = await appendEvent(h.file, "teardown", { clean: false, removed: [] }, {
    keyDir: h.keys,
  });
  assert.equal(next.line, 5);
  assert.equal(next.record.prev, prev);
  const after = await h.verify();
  assert.ok(after.ok, after.ok ? "" : after.message);
  assert.deepEqual(after.seals, { sealed: 1, unsealed: 4, checkpoint: "match", keyDir: h.keys });

  // Dropping an old unsealed line and recomputing is caught by that first seal.
  const lines = await h.lines();
  lines.splice(1, 1);
  await h.rewrite(lines);
  assertFails(await h.verify(), 4, "forged");
});

Deno.test("lines sealed before the project folder moved still verify with their own key", async () => {
  await using h = await sealed(3);
  await Deno.rename(`${h.root}/project`, `${h.root}/moved`);
  const moved = `${h.root}/moved/history.jsonl`;
  const result = await verifyHistory(moved, { keyDir: h.keys });
  assert.ok(result.ok, result.ok ? "" : result.message);
  assert.equal(result.seals.sealed, 3);
  assert.equal(result.seals.checkpoint, "missing"); // the checkpoint belongs to the old path
  await appendEvent(moved, "teardown", { clean: false, removed: [] }, { keyDir: h.keys });
  const again = await verifyHistory(moved, { keyDir: h.keys });
  assert.ok(again.ok, again.ok ? "" : again.message);
  assert.deepEqual([again.seals.sealed, again.seals.checkpoint], [4, "match"]);
});
