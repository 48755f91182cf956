/**
 * The rollout driver: walks the persisted steps, one move at a time. Each
 * transition (a weight, an analysis decision, the completion, an abort)
 * happens under the change lock, after the state is read again, and is
 * persisted before the next; waits (pauses, analysis windows) happen
 * outside the lock, so `rollout pause|resume|promote|abort` from another
 * terminal take effect at once. Everything it touches comes in through
 * `DriverDeps`, so its logic is tested with fakes (driver_test.ts) and run
 * against the real engine by cli/commands/rollout.ts.
 */
import type { Decision } from "../policy/mod.ts";
import type { Step } from "../actions/mod.ts";
import {
  advance,
  analysed,
  analysisInput,
  decideAbort,
  decideComplete,
  finished,
  isoSeconds,
  type Move,
  nextMove,
  weightSet,
} from "./_machine.ts";
import { abortSteps, completionSteps, weightSteps } from "./_steps.ts";
import type { AnalysisRecord, RolloutState, VariantFigures } from "./_state.ts";

/** Figures of both variants over one window. */
export interface VariantWindow {
  canary: VariantFigures;
  stable: VariantFigures;
}

export interface DriverDeps {
  /** The persisted state (undefined: none). */
  read(): Promise<RolloutState | undefined>;
  write(state: RolloutState): Promise<void>;
  /** Runs `fn` holding the change lock (waiting a little for a short holder). */
  locked<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs steps against the engine (undone in reverse when one fails before a commit). */
  run(steps: Step[]): Promise<{ ms: number }>;
  /**
   * Waits `windowSeconds` while counting both variants; resolves undefined
   * when `stop()` turned true meanwhile (the window is discarded).
   */
  collect(windowSeconds: number, stop: () => Promise<boolean>): Promise<VariantWindow | undefined>;
  /** Asks `swiftdeploy.rollout` (policies/rollout.rego). */
  decide(input: Record<string, unknown>): Promise<Decision>;
  /** Appends a history event. */
  record(event: string, payload: Record<string, unknown>): Promise<void>;
  now(): Date;
  sleep(ms: number): Promise<void>;
  log(line: string): void;
  progress(line: string): void;
  /** The manifest's default analysis window, seconds. */
  defaultWindowSeconds: number;
  /** How often a wait looks at the persisted state, ms. */
  pollMs?: number;
}

/** How a drive ended. */
export type DriveOutcome =
  | { kind: "completed"; state: RolloutState }
  | { kind: "aborted"; state: RolloutState }
  /** Paused by an operator and `untilPaused` was set: the driver let go. */
  | { kind: "paused"; state: RolloutState };

/** The same step and weight: nothing transitioned since `a` was read. */
function samePosition(a: RolloutState, b: RolloutState | undefined): boolean {
  return !!b && b.id === a.id && b.phase === a.phase && b.step_index === a.step_index &&
    b.weight === a.weight && b.analyses.length === a.analyses.length;
}

/**
 * Walks the steps from the persisted state until the rollout completes or
 * is aborted. With `untilPaused`, returns when an operator pauses it (else
 * it waits for `rollout resume`).
 *
 * @throws SwiftDeployError when the state vanished, a transition's steps
 *   failed (their undos ran; the state is unchanged, so `rollout resume`
 *   retries), or the policy could not answer (fails closed: nothing moves)
 */
export async function drive(
  deps: DriverDeps,
  opts: { untilPaused?: boolean } = {},
): Promise<DriveOutcome> {
  const poll = deps.pollMs ?? 500;
  while (true) {
    const state = await deps.read();
    if (!state) throw new Error("the rollout state disappeared");
    const move: Move = nextMove(state, deps.now(), deps.defaultWindowSeconds);
    switch (move.kind) {
      case "done":
        return state.phase === "completed"
          ? { kind: "completed", state }
          : { kind: "aborted", state };
      case "idle":
        if (opts.untilPaused) return { kind: "paused", state };
        deps.progress(`paused at step ${state.step_index + 1}: waiting for \`rollout resume\``);
        await deps.sleep(poll);
        continue;
      case "wait": {
        if (move.ms > 0) {
          deps.progress(
            `step ${state.step_index + 1}/${state.steps.length}: pause, ${
              Math.ceil(move.ms / 1000)
            } s left`,
          );
          await deps.sleep(Math.min(poll, move.ms));
          continue;
        }
        await deps.locked(async () => {
          const current = await deps.read();
          if (!samePosition(state, current)) return;
          await deps.write(advance(current!, deps.now()));
        });
        continue;
      }
      case "set-weight":
        await deps.locked(async () => {
          const current = await deps.read();
          if (!samePosition(state, current)) return;
          const { ms } = await deps.run(weightSteps(current!, move.weight));
          await deps.write(weightSet(current!, move.weight, deps.now()));
          await deps.record("rollout_step", {
            id: current!.id,
            step: current!.step_index,
            weight: move.weight,
            previous_weight: current!.weight,
            ms,
          });
          deps.log(`weight ${current!.weight} % → ${move.weight} % (in effect in ${ms} ms)`);
        });
        continue;
      case "analyse": {
        const stop = async () => !samePosition(state, await deps.read());
        const window = await deps.collect(move.windowSeconds, stop);
        if (!window) continue; // the state moved (pause, abort, promote): look again
        const outcome = await deps.locked(async () => {
          const current = await deps.read();
          if (!samePosition(state, current)) return undefined;
          return await decideAnalysis(deps, current!, window, move.windowSeconds);
        });
        if (outcome === "rollback") continue; // the next move carries the abort out
        continue;
      }
      case "complete":
        await deps.locked(async () => {
          const current = await deps.read();
          if (!samePosition(state, current)) return;
          await complete(deps, current!);
        });
        continue;
      case "abort":
        await deps.locked(async () => {
          const current = await deps.read();
          if (!samePosition(state, current)) return;
          await carryOutAbort(deps, current!);
        });
        continue;
    }
  }
}

/**
 * Asks the policy about one window and persists the result. Fails closed:
 * a policy that cannot answer throws, and nothing moves.
 */
async function decideAnalysis(
  deps: DriverDeps,
  state: RolloutState,
  window: VariantWindow,
  windowSeconds: number,
): Promise<AnalysisRecord["outcome"]> {
  const decision = await deps.decide(analysisInput(state, window, windowSeconds));
  const outcome = outcomeOf(decision);
  const record: AnalysisRecord = {
    step: state.step_index,
    weight: state.weight,
    at: isoSeconds(deps.now()),
    window_seconds: windowSeconds,
    outcome,
    reasons: decision.reasons,
    canary: window.canary,
    stable: window.stable,
  };
  const failed = decision.checked.failed === true;
  await deps.write(analysed(state, record, failed, deps.now()));
  await deps.record("rollout_analysis", {
    id: state.id,
    step: state.step_index,
    weight: state.weight,
    outcome,
    reasons: decision.reasons,
    canary: window.canary,
    stable: window.stable,
    window_seconds: windowSeconds,
  });
  deps.log(`analysis at ${state.weight} %: ${decision.reasons.join("; ")}`);
  if (outcome === "rollback") {
    await deps.record("rollout_aborted", {
      id: state.id,
      step: state.step_index,
      weight: state.weight,
      by: "analysis",
      reasons: decision.reasons,
      decision,
    });
  }
  return outcome;
}

/**
 * The analysis outcome a decision carries in `checked.outcome`.
 *
 * @throws Error when it is not one of continue, hold, rollback (a
 *   malformed decision never moves a rollout)
 */
export function outcomeOf(decision: Decision): AnalysisRecord["outcome"] {
  const o = decision.checked.outcome;
  if (o === "continue" || o === "hold" || o === "rollback") {
    if ((o === "continue") !== decision.allow) {
      throw new Error(`the rollout decision says outcome "${o}" but allow ${decision.allow}`);
    }
    return o;
  }
  throw new Error(`the rollout decision has no outcome (checked.outcome = ${JSON.stringify(o)})`);
}

/**
 * Decides and carries out the completion: the canary takes all traffic,
 * the old stable drains. Call under the change lock.
 */
export async function complete(deps: DriverDeps, state: RolloutState): Promise<RolloutState> {
  let s = state;
  if (s.phase !== "completing") {
    s = decideComplete(s, deps.now());
    await deps.write(s);
  }
  const { ms } = await deps.run(completionSteps(s));
  const done = finished(s, deps.now());
  await deps.write(done);
  const durationMs = deps.now().getTime() - Date.parse(s.started_at);
  await deps.record("rollout_completed", {
    id: s.id,
    version: s.canary.version,
    duration_ms: durationMs,
  });
  deps.log(
    `all traffic on ${s.canary.version} (in effect in ${ms} ms); ${s.stable.container} drained`,
  );
  return done;
}

/**
 * Decides (when not yet decided) and carries out an abort: the canary's
 * weight goes to 0 at once, then it drains and is removed. Call under the
 * change lock.
 */
export async function abort(
  deps: DriverDeps,
  state: RolloutState,
  by: "analysis" | "operator",
  reasons: string[],
): Promise<RolloutState> {
  let s = state;
  if (s.phase !== "aborting") {
    s = decideAbort(s, by, reasons, deps.now());
    await deps.write(s);
    await deps.record("rollout_aborted", {
      id: s.id,
      step: s.step_index,
      weight: s.weight,
      by,
      reasons,
    });
  }
  return await carryOutAbort(deps, s);
}

async function carryOutAbort(deps: DriverDeps, s: RolloutState): Promise<RolloutState> {
  const { ms } = await deps.run(abortSteps(s));
  const done = finished(s, deps.now());
  await deps.write(done);
  deps.log(
    `canary ${s.canary.version} rolled back: weight 0 in ${ms} ms, ${s.canary.container} drained`,
  );
  return done;
}
