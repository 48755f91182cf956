import { sha256Hex } from "../digest/mod.ts";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import { SwiftDeployError } from "../errors/mod.ts";
import {
  type Actor,
  appendEvent,
  headPath,
  loadOrCreateKey,
  readHistory,
  redact,
  REDACTED,
  verifyHistory,
  type VerifyResult,
  ZERO_HASH,
} from "./mod.ts";

const ACTOR: Actor = { user: "root", host: "h", pid: 123 };
const at = (iso: string) => () => new Date(iso);

/** `project/history.jsonl` in a temp dir, its key folder `keys/` beside the project. */
async function tempHistory(): Promise<
  { file: string; keyDir: string; [Symbol.asyncDispose](): Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_history_" });
  await Deno.mkdir(`${dir}/project`);
  return {
    file: `${dir}/project/history.jsonl`,
    keyDir: `${dir}/keys`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Asserts a passing verification with this count and head status. */
function assertVerified(result: VerifyResult, lines: number, head: string): void {
  assert.equal(result.ok, true, result.ok ? "" : result.message);
  if (result.ok) assert.deepEqual([result.lines, result.head], [lines, head]);
}

Deno.test("appendEvent() creates the file and writes the schema's keys in order, chained", async () => {
  await using h = await tempHistory();
  const first = await appendEvent(h.file, "promote", {
    from: "stable",
    to: "canary",
    duration_ms: 812,
  }, {
    actor: ACTOR,
    keyDir: h.keyDir,
    now: at("2026-11-21T12:00:00.000Z"),
  });
  const second = await appendEvent(h.file, "teardown", { clean: true, removed: ["a", "b"] }, {
    actor: ACTOR,
    keyDir: h.keyDir,
    now: at("2026-11-21T12:00:05.250Z"),
  });
  const text = await Deno.readTextFile(h.file);
  const key = await loadOrCreateKey(h.file, h.keyDir); // the one the appends created
  const keyText = (await Deno.readTextFile(`${h.keyDir}/${key.id}.key`)).trim();
  const mac = (body: string) =>
    createHmac("sha256", Buffer.from(keyText, "hex")).update(body).digest("hex");
  const body1 = '{"v":2,"ts":"2026-11-21T12:00:00.000Z","event":"promote",' +
    '"actor":{"user":"root","host":"h","pid":123},' +
    '"data":{"from":"stable","to":"canary","duration_ms":812},' +
    `"prev":"${ZERO_HASH}","key":"${key.id}"`;
  const line1 = `${body1},"mac":"${mac(body1 + "}")}"}`;
  const body2 = '{"v":2,"ts":"2026-11-21T12:00:05.250Z","event":"teardown",' +
    '"actor":{"user":"root","host":"h","pid":123},' +
    '"data":{"clean":true,"removed":["a","b"]},' +
    `"prev":"${sha256Hex(line1)}","key":"${key.id}"`;
  const line2 = `${body2},"mac":"${mac(body2 + "}")}"}`;
  assert.equal(text, line1 + "\n" + line2 + "\n");
  assert.equal(first.line, 1);
  assert.equal(first.hash, sha256Hex(line1));
  assert.equal(second.line, 2);
  assert.equal(second.record.prev, first.hash);
  assert.equal(
    await Deno.readTextFile(headPath(h.file)),
    `{"v":1,"lines":2,"last":"${sha256Hex(line2)}"}\n`,
  );
  assertVerified(await verifyHistory(h.file, { keyDir: h.keyDir }), 2, "match");
});

Deno.test("appendEvent() fills the actor from the environment when none is given", async () => {
  await using h = await tempHistory();
  const { record } = await appendEvent(
    h.file,
    "deploy_noop",
    { mode: "stable", version: "1.0.0" },
    {
      keyDir: h.keyDir,
    },
  );
  assert.equal(record.actor.pid, Deno.pid);
  assert.equal(record.actor.host, Deno.hostname());
  assert.ok(record.actor.user.length > 0);
  assert.match(record.ts, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
});

Deno.test("appendEvent() redacts values of secret-looking keys before writing", async () => {
  await using h = await tempHistory();
  const data = {
    reason: "registry login failed",
    container: "app",
    token: "t0k3n",
    nested: { db_password: "hunter2", list: [{ clientSecret: "s" }, { API_KEY: "k", ok: 1 }] },
  };
  // deno-lint-ignore no-explicit-any
  await appendEvent(h.file, "deploy_failed", data as any, { actor: ACTOR, keyDir: h.keyDir });
  const text = await Deno.readTextFile(h.file);
  for (const secret of ["t0k3n", "hunter2", '"s"', '"k"']) {
    assert.ok(!text.includes(secret), secret);
  }
  const { events } = await readHistory(h.file);
  assert.deepEqual(events[0]?.data, {
    reason: "registry login failed",
    container: "app",
    token: REDACTED,
    nested: {
      db_password: REDACTED,
      list: [{ clientSecret: REDACTED }, { API_KEY: REDACTED, ok: 1 }],
    },
  });
  // The caller's object is not changed.
  assert.equal(data.token, "t0k3n");
});

Deno.test("redact() goes through toJSON so a Secret wrapper never leaks", () => {
  const secret = { toJSON: () => "[REDACTED]", reveal: () => "real" };
  assert.deepEqual(redact({ value: secret, keep: [1, "two", null] }), {
    value: "[REDACTED]",
    keep: [1, "two", null],
  });
});

Deno.test("appendEvent() chains correctly after a last line longer than one read chunk", async () => {
  await using h = await tempHistory();
  const long = "x".repeat(20_000);
  await appendEvent(h.file, "deploy_failed", { reason: long }, { actor: ACTOR, keyDir: h.keyDir });
  await appendEvent(h.file, "deploy_failed", { reason: "é ünïcödé 🚀" }, {
    actor: ACTOR,
    keyDir: h.keyDir,
  });
  const third = await appendEvent(h.file, "deploy_failed", { reason: long + "y" }, {
    actor: ACTOR,
    keyDir: h.keyDir,
  });
  await appendEvent(h.file, "deploy_failed", { reason: "after" }, {
    actor: ACTOR,
    keyDir: h.keyDir,
  });
  assert.equal(third.line, 3);
  assertVerified(await verifyHistory(h.file, { keyDir: h.keyDir }), 4, "match");
});

Deno.test("appendEvent() refuses to extend a file whose last line is incomplete", async () => {
  await using h = await tempHistory();
  await appendEvent(h.file, "deploy_noop", { mode: "stable", version: "1" }, {
    actor: ACTOR,
    keyDir: h.keyDir,
  });
  await Deno.writeTextFile(h.file, '{"v":1,"ts":', { append: true });
  const before = await Deno.readTextFile(h.file);
  await assert.rejects(
    appendEvent(h.file, "deploy_noop", { mode: "stable", version: "1" }, {
      actor: ACTOR,
      keyDir: h.keyDir,
    }),
    (error: unknown) => {
      assert.ok(error instanceof SwiftDeployError);
      assert.equal(error.code, "HISTORY_TAMPERED");
      assert.match(
        error.message,
        /^Cannot append to history ".*history\.jsonl": its last line is incomplete/,
      );
      return true;
    },
  );
  assert.equal(await Deno.readTextFile(h.file), before);
});

Deno.test("appendEvent() refuses when the last line no longer matches the head", async () => {
  await using h = await tempHistory();
  for (let i = 0; i < 3; i++) {
    await appendEvent(h.file, "deploy_noop", { mode: "stable", version: String(i) }, {
      actor: ACTOR,
      keyDir: h.keyDir,
    });
  }
  const lines = (await Deno.readTextFile(h.file)).split("\n");
  await Deno.writeTextFile(h.file, lines.slice(0, 2).join("\n") + "\n"); // last line removed
  await assert.rejects(
    appendEvent(h.file, "deploy_noop", { mode: "stable", version: "x" }, {
      actor: ACTOR,
      keyDir: h.keyDir,
    }),
    /its last line does not match ".*history\.jsonl\.head" \(3 lines\)/,
  );
});

Deno.test("appendEvent() repairs a head left one line behind by a crash", async () => {
  await using h = await tempHistory();
  const a = await appendEvent(h.file, "deploy_noop", { mode: "stable", version: "1" }, {
    actor: ACTOR,
    keyDir: h.keyDir,
  });
  const headAfterFirst = await Deno.readTextFile(headPath(h.file));
  await appendEvent(h.file, "deploy_noop", { mode: "stable", version: "2" }, {
    actor: ACTOR,
    keyDir: h.keyDir,
  });
  await Deno.writeTextFile(headPath(h.file), headAfterFirst); // as if the crash hit before the head update
  assertVerified(await verifyHistory(h.file, { keyDir: h.keyDir }), 2, "behind");
  const c = await appendEvent(h.file, "deploy_noop", { mode: "stable", version: "3" }, {
    actor: ACTOR,
    keyDir: h.keyDir,
  });
  assert.equal(a.line, 1);
  assert.equal(c.line, 3);
  assertVerified(await verifyHistory(h.file, { keyDir: h.keyDir }), 3, "match");
});

Deno.test("appendEvent() counts existing lines when the head file is missing", async () => {
  await using h = await tempHistory();
  for (let i = 0; i < 3; i++) {
    await appendEvent(h.file, "deploy_noop", { mode: "stable", version: String(i) }, {
      actor: ACTOR,
      keyDir: h.keyDir,
    });
  }
  await Deno.remove(headPath(h.file));
  assertVerified(await verifyHistory(h.file, { keyDir: h.keyDir }), 3, "missing");
  const d = await appendEvent(h.file, "deploy_noop", { mode: "stable", version: "3" }, {
    actor: ACTOR,
    keyDir: h.keyDir,
  });
  assert.equal(d.line, 4);
  assertVerified(await verifyHistory(h.file, { keyDir: h.keyDir }), 4, "match");
});

Deno.test("appendEvent() serialises concurrent appends within one process", async () => {
  await using h = await tempHistory();
  const results = await Promise.all(
    Array.from(
      { length: 40 },
      (_, i) =>
        appendEvent(h.file, "chaos_change", { mode: "error", rate: i / 100 }, {
          actor: ACTOR,
          keyDir: h.keyDir,
        }),
    ),
  );
  assert.deepEqual(
    results.map((r) => r.line).sort((x, y) => x - y),
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  assertVerified(await verifyHistory(h.file, { keyDir: h.keyDir }), 40, "match");
});

Deno.test("readHistory() gives an empty history for a missing file and lists bad lines", async () => {
  await using h = await tempHistory();
  assert.deepEqual(await readHistory(h.file), { events: [], malformed: [] });
  await appendEvent(h.file, "deploy_noop", { mode: "stable", version: "1" }, {
    actor: ACTOR,
    keyDir: h.keyDir,
  });
  await Deno.writeTextFile(h.file, "not json\n", { append: true });
  await Deno.writeTextFile(h.file, '{"v":1}\n', { append: true });
  const read = await readHistory(h.file);
  assert.equal(read.events.length, 1);
  assert.equal(read.events[0]?.data["version"], "1");
  assert.deepEqual(read.malformed, [2, 3]);
});
