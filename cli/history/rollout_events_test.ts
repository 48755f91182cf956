import assert from "node:assert/strict";
import {
  type Actor,
  appendEvent,
  EVENT_NAMES,
  parseLine,
  readHistory,
  REDACTED,
  verifyHistory,
} from "./mod.ts";

const ACTOR: Actor = { user: "root", host: "h", pid: 7 };

const ROLLOUT_EVENTS = [
  "rollout_started",
  "rollout_step",
  "rollout_analysis",
  "rollout_paused",
  "rollout_resumed",
  "rollout_promoted",
  "rollout_completed",
  "rollout_aborted",
] as const;

Deno.test("EVENT_NAMES lists every rollout event the controller appends", () => {
  for (const name of ROLLOUT_EVENTS) assert.ok(EVENT_NAMES.includes(name), name);
});

Deno.test("appendEvent() writes rollout events that read back, verify, and are redacted as any other", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_history_rollout_" });
  try {
    await Deno.mkdir(`${dir}/project`);
    const file = `${dir}/project/history.jsonl`;
    const opts = { actor: ACTOR, keyDir: `${dir}/keys` };
    const figures = { requests: 120, errors: 0, error_rate_percent: 0, p99_latency_ms: 50 };
    const id = "20261201T100000-abcdef12";
    await appendEvent(file, "rollout_started", {
      id,
      stable: { container: "p-app-1111", version: "1.0.0" },
      canary: { container: "p-app-2222", version: "1.1.0" },
      steps: [{ weight: 10 }, { analysis: {} }],
    }, opts);
    await appendEvent(file, "rollout_step", {
      id,
      step: 0,
      weight: 10,
      previous_weight: 0,
      ms: 4,
    }, opts);
    await appendEvent(file, "rollout_analysis", {
      id,
      step: 1,
      weight: 10,
      outcome: "continue",
      reasons: [],
      canary: figures,
      stable: figures,
      window_seconds: 30,
    }, opts);
    await appendEvent(file, "rollout_paused", { id, step: 2, by: "alice" }, opts);
    await appendEvent(file, "rollout_resumed", { id, step: 2, by: "alice" }, opts);
    const decision = {
      allow: true,
      reasons: [],
      domain: "rollout",
      checked: { api_token: "t0k3n" },
    };
    await appendEvent(file, "rollout_promoted", { id, step: 2, decision }, opts);
    await appendEvent(
      file,
      "rollout_completed",
      { id, version: "1.1.0", duration_ms: 61_000 },
      opts,
    );
    await appendEvent(file, "rollout_aborted", {
      id,
      step: 1,
      weight: 10,
      by: "operator",
      reasons: ["aborted by alice"],
    }, opts);

    const { events, malformed } = await readHistory(file);
    assert.deepEqual(malformed, []);
    assert.deepEqual(events.map((e) => e.event), [...ROLLOUT_EVENTS]);
    assert.deepEqual(events[2]?.data["canary"], figures);
    // The redaction rule is the same for rollout events: a secret-looking key is hidden.
    assert.deepEqual(
      (events[5]?.data["decision"] as { checked: unknown }).checked,
      { api_token: REDACTED },
    );
    assert.ok(!(await Deno.readTextFile(file)).includes("t0k3n"));
    const verified = await verifyHistory(file, { keyDir: `${dir}/keys` });
    assert.equal(verified.ok, true, verified.ok ? "" : verified.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseLine() reads a rollout line and still refuses an event name no code writes", () => {
  const line = (event: string) =>
    JSON.stringify({
      v: 1,
      ts: "2026-12-01T10:00:00.000Z",
      event,
      actor: ACTOR,
      data: { id: "x" },
      prev: "0".repeat(64),
    });
  assert.equal(parseLine(line("rollout_step")).ok, true);
  const bad = parseLine(line("rollout_exploded"));
  assert.ok(!bad.ok && bad.problem.includes("unknown event"), JSON.stringify(bad));
});
