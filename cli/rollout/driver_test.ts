/**
 * The driver against a fake world (state in memory, a fake clock, scripted
 * policy decisions, recorded steps and history): every path of the state
 * machine without an engine. The real engine and nginx run the same driver
 * in tests/rollout_test.ts.
 */
import assert from "node:assert/strict";
import type { Decision } from "../policy/mod.ts";
import type { Step } from "../actions/mod.ts";
import {
  abort,
  drive,
  type DriverDeps,
  newRollout,
  nextMove,
  outcomeOf,
  paused,
  type RolloutState,
  type VariantWindow,
} from "./mod.ts";
import type { RolloutStep } from "../manifest/types.ts";

const STEPS: RolloutStep[] = [
  { weight: 10 },
  { pause_seconds: 2 },
  { analysis: {} },
  { weight: 50 },
  { analysis: { window_seconds: 3 } },
];

const FIGURES: VariantWindow = {
  canary: { requests: 50, errors: 0, error_rate_percent: 0, p99_latency_ms: 5 },
  stable: { requests: 450, errors: 0, error_rate_percent: 0, p99_latency_ms: 5 },
};

function decision(outcome: "continue" | "hold" | "rollback", failed = false): Decision {
  return {
    allow: outcome === "continue",
    reasons: [`scripted ${outcome}`],
    domain: "rollout" as Decision["domain"],
    checked: { outcome, failed },
  };
}

interface World {
  deps: DriverDeps;
  state(): RolloutState;
  set(s: RolloutState): void;
  routes: string[];
  events: { event: string; payload: Record<string, unknown> }[];
  inputs: Record<string, unknown>[];
  windows: number[];
  clock: { t: number };
}

function world(
  decisions: Decision[],
  opts: { steps?: RolloutStep[]; failRun?: boolean; onCollect?: (w: World) => void } = {},
): World {
  const clock = { t: Date.parse("2026-11-30T12:00:00Z") };
  let current: RolloutState | undefined = newRollout({
    steps: opts.steps ?? STEPS,
    stable: {
      container: "app-a",
      address: "10.0.0.16:3000",
      version: "1.0.0",
      spec_hash: "a".repeat(64),
    },
    canary: {
      container: "app-b",
      address: "10.0.0.17:3000",
      version: "1.1.0",
      spec_hash: "b".repeat(64),
    },
  }, new Date(clock.t));
  const w: World = {
    state: () => current!,
    set: (s) => current = s,
    routes: [],
    events: [],
    inputs: [],
    windows: [],
    clock,
    deps: {
      read: () => Promise.resolve(current && structuredClone(current)),
      write: (s) => {
        current = structuredClone(s);
        return Promise.resolve();
      },
      locked: (fn) => fn(),
      run: (steps: Step[]) => {
        if (opts.failRun) return Promise.reject(new Error("engine said no"));
        for (const s of steps) {
          const a = s.action;
          if (a.kind === "route") {
            w.routes.push(
              a.table.canary
                ? `canary ${a.table.canary.weight}`
                : `all ${a.table.stable.container}`,
            );
          } else if (a.kind === "drain") w.routes.push(`drain ${a.container}`);
        }
        return Promise.resolve({ ms: 1 });
      },
      collect: async (seconds, stop) => {
        w.windows.push(seconds);
        opts.onCollect?.(w);
        clock.t += seconds * 1000;
        return (await stop()) ? undefined : FIGURES;
      },
      decide: (input) => {
        w.inputs.push(input);
        const d = decisions.shift();
        return d ? Promise.resolve(d) : Promise.reject(new Error("no decision scripted"));
      },
      record: (event, payload) => {
        w.events.push({ event, payload });
        return Promise.resolve();
      },
      now: () => new Date(clock.t),
      sleep: (ms) => {
        clock.t += ms;
        return Promise.resolve();
      },
      log: () => {},
      progress: () => {},
      defaultWindowSeconds: 5,
      pollMs: 500,
    },
  };
  return w;
}

Deno.test("drive() walks weight, pause and analysis steps, then gives the canary all traffic and drains stable", async () => {
  const w = world([decision("continue"), decision("continue")]);
  const out = await drive(w.deps);
  assert.equal(out.kind, "completed");
  assert.deepEqual(w.routes, ["canary 10", "canary 50", "all app-b", "drain app-a"]);
  assert.deepEqual(w.windows, [5, 3], "the step's own window, else the default");
  assert.equal(w.state().phase, "completed");
  assert.equal(w.state().weight, 100);
  assert.equal(w.state().analyses.length, 2);
  assert.deepEqual(w.events.map((e) => e.event), [
    "rollout_step",
    "rollout_analysis",
    "rollout_step",
    "rollout_analysis",
    "rollout_completed",
  ]);
  // The pause took its time: 2 s of the fake clock passed between the weight and the analysis.
  assert.equal(w.inputs[0]!.weight, 10);
  assert.equal(w.inputs[1]!.weight, 50);
  assert.deepEqual(w.inputs[0]!.canary, FIGURES.canary);
});

Deno.test("drive() rolls back at once on a rollback decision: weight 0, the canary drains, stable untouched", async () => {
  const w = world([decision("rollback", true)]);
  const out = await drive(w.deps);
  assert.equal(out.kind, "aborted");
  assert.deepEqual(w.routes, ["canary 10", "all app-a", "drain app-b"]);
  assert.equal(w.state().phase, "aborted");
  assert.equal(w.state().abort?.by, "analysis");
  assert.deepEqual(w.state().abort?.reasons, ["scripted rollback"]);
  assert.equal(w.state().analyses_failed, 1);
  assert.deepEqual(w.events.map((e) => e.event), [
    "rollout_step",
    "rollout_analysis",
    "rollout_aborted",
  ]);
});

Deno.test("drive() analyses again on hold and hands the policy the counts of earlier holds", async () => {
  const w = world([decision("hold"), decision("hold", true), decision("rollback")]);
  const out = await drive(w.deps);
  assert.equal(out.kind, "aborted");
  assert.deepEqual(
    w.inputs.map((i) => [i.analyses_inconclusive, i.analyses_failed]),
    [[0, 0], [1, 0], [1, 1]],
  );
  assert.equal(w.state().analyses.length, 3);
  assert.deepEqual(w.state().analyses.map((a) => a.outcome), ["hold", "hold", "rollback"]);
});

Deno.test("drive() discards a window when an operator paused meanwhile, and lets go when asked to", async () => {
  const w = world([], {
    onCollect: (world) => world.set(paused(world.state(), new Date(world.clock.t))),
  });
  const out = await drive(w.deps, { untilPaused: true });
  assert.equal(out.kind, "paused");
  assert.equal(w.inputs.length, 0, "no decision from a discarded window");
  assert.equal(w.state().weight, 10);
});

Deno.test("drive() finishes an abort a killed CLI decided but never carried out", async () => {
  const w = world([]);
  // The abort was decided and persisted at 10 %, then the CLI was killed.
  w.set({
    ...w.state(),
    step_index: 1,
    weight: 10,
    phase: "aborting",
    abort: { by: "operator", reasons: ["by hand"], at: "x" },
  });
  const out = await drive(w.deps);
  assert.equal(out.kind, "aborted");
  assert.deepEqual(w.routes, ["all app-a", "drain app-b"]);
});

Deno.test("abort() by an operator records who and why before anything changes", async () => {
  const w = world([]);
  const done = await abort(w.deps, w.state(), "operator", ["rolled back by hand"]);
  assert.equal(done.phase, "aborted");
  assert.deepEqual(w.events[0], {
    event: "rollout_aborted",
    payload: { id: done.id, step: 0, weight: 0, by: "operator", reasons: ["rolled back by hand"] },
  });
  assert.deepEqual(w.routes, ["all app-a", "drain app-b"]);
});

Deno.test("drive() leaves the state as it was when a transition's steps fail", async () => {
  const w = world([], { failRun: true });
  const before = structuredClone(w.state());
  await assert.rejects(drive(w.deps), /engine said no/);
  assert.deepEqual(w.state(), before);
  assert.equal(w.events.length, 0);
});

Deno.test("outcomeOf() refuses a decision without an outcome or whose allow disagrees", () => {
  assert.equal(outcomeOf(decision("hold")), "hold");
  assert.throws(() => outcomeOf({ ...decision("continue"), allow: false }), /allow false/);
  assert.throws(
    () => outcomeOf({ ...decision("continue"), checked: {} }),
    /no outcome/,
  );
});

Deno.test("nextMove() waits out a pause from when its step started, then moves on", () => {
  const w = world([]);
  const s = { ...w.state(), step_index: 1, weight: 10 };
  const start = Date.parse(s.step_started_at);
  assert.deepEqual(nextMove(s, new Date(start + 500), 5), { kind: "wait", ms: 1500 });
  assert.deepEqual(nextMove(s, new Date(start + 2500), 5), { kind: "wait", ms: 0 });
  assert.deepEqual(nextMove({ ...s, step_index: 5 }, new Date(start), 5), { kind: "complete" });
  assert.deepEqual(nextMove({ ...s, phase: "paused" }, new Date(start), 5), { kind: "idle" });
});
