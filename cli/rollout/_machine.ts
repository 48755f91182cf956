/**
 * The rollout state machine, pure: from a persisted `RolloutState` and the
 * clock to the next move, and from a move's result to the next state. The
 * shell (`_driver.ts`) carries moves out and persists every state this
 * module returns; nothing here reads a clock, a file or the engine.
 *
 * Vocabulary is Argo Rollouts': steps are `weight`, `pause` and `analysis`;
 * 100 % is implied after the last step; an analysis decides `continue`,
 * `hold` (analyse again) or `rollback` (abort).
 */
import type { RolloutStep } from "../manifest/types.ts";
import type { AnalysisRecord, RolloutState, RolloutVariant, VariantFigures } from "./_state.ts";

/** What the driver should do next. */
export type Move =
  /** Route `weight` percent of traffic to the canary, then go to the next step. */
  | { kind: "set-weight"; weight: number }
  /** A pause step: wait `ms` more (0: its time is up, go to the next step). */
  | { kind: "wait"; ms: number }
  /** Judge the canary against stable over a window of `windowSeconds`. */
  | { kind: "analyse"; windowSeconds: number }
  /** Every step is done: the canary takes all traffic, the old stable drains. */
  | { kind: "complete" }
  /** A decided rollback whose routes and drain are still to be carried out. */
  | { kind: "abort" }
  /** Paused by an operator: nothing until `rollout resume`. */
  | { kind: "idle" }
  /** Completed or aborted: nothing left. */
  | { kind: "done" };

/** A rollout is active while it can still change traffic. */
export function isActive(state: RolloutState): boolean {
  return state.phase !== "completed" && state.phase !== "aborted";
}

/** ISO 8601 without milliseconds, as the history writes times. */
export function isoSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * A new rollout at step 0 with no traffic on the canary (it has just joined
 * at weight 0). `id` is `<yyyymmddThhmmss>-<canary spec hash8>` (UTC).
 */
export function newRollout(
  input: { steps: RolloutStep[]; stable: RolloutVariant; canary: RolloutVariant },
  now: Date,
): RolloutState {
  const at = isoSeconds(now);
  const stamp = at.replace(/[-:]/g, "").replace(/Z$/, "");
  return {
    id: `${stamp}-${input.canary.spec_hash.slice(0, 8)}`,
    phase: "progressing",
    steps: structuredClone(input.steps),
    step_index: 0,
    weight: 0,
    stable: input.stable,
    canary: input.canary,
    started_at: at,
    step_started_at: at,
    updated_at: at,
    analyses: [],
    analyses_failed: 0,
    analyses_inconclusive: 0,
  };
}

/**
 * The next move for `state` at `now`. `defaultWindowSeconds` is the
 * manifest's analysis window, used by an analysis step that names none.
 */
export function nextMove(state: RolloutState, now: Date, defaultWindowSeconds: number): Move {
  switch (state.phase) {
    case "completed":
    case "aborted":
      return { kind: "done" };
    case "aborting":
      return { kind: "abort" };
    case "completing":
      return { kind: "complete" };
    case "paused":
      return { kind: "idle" };
    case "progressing":
      break;
  }
  const step = state.steps[state.step_index];
  if (!step) return { kind: "complete" };
  if ("weight" in step) return { kind: "set-weight", weight: step.weight };
  if ("pause_seconds" in step) {
    const end = Date.parse(state.step_started_at) + step.pause_seconds * 1000;
    return { kind: "wait", ms: Math.max(0, end - now.getTime()) };
  }
  return {
    kind: "analyse",
    windowSeconds: step.analysis.window_seconds ?? defaultWindowSeconds,
  };
}

/** The state once the current step is done: the next step starts at `now`. */
export function advance(state: RolloutState, now: Date): RolloutState {
  const at = isoSeconds(now);
  return { ...state, step_index: state.step_index + 1, step_started_at: at, updated_at: at };
}

/** The state once `weight` is in effect (a weight step is done by it). */
export function weightSet(state: RolloutState, weight: number, now: Date): RolloutState {
  return advance({ ...state, weight }, now);
}

/**
 * The state after an analysis decided `record.outcome`: `continue` goes to
 * the next step; `hold` stays on this step (it is analysed again) and counts
 * a failed or inconclusive analysis; `rollback` decides the abort (phase
 * `aborting`). `failed` says whether the analysis failed a limit (otherwise
 * a hold or rollback was for too little or unknown evidence).
 */
export function analysed(
  state: RolloutState,
  record: AnalysisRecord,
  failed: boolean,
  now: Date,
): RolloutState {
  const at = isoSeconds(now);
  const counted: RolloutState = {
    ...state,
    analyses: [...state.analyses, record],
    analyses_failed: state.analyses_failed + (record.outcome !== "continue" && failed ? 1 : 0),
    analyses_inconclusive: state.analyses_inconclusive +
      (record.outcome !== "continue" && !failed ? 1 : 0),
    updated_at: at,
  };
  if (record.outcome === "continue") return advance(counted, now);
  if (record.outcome === "hold") return { ...counted, step_started_at: at };
  return decideAbort(counted, "analysis", record.reasons, now);
}

/** The state once an abort is decided (by the analysis or an operator). */
export function decideAbort(
  state: RolloutState,
  by: "analysis" | "operator",
  reasons: string[],
  now: Date,
): RolloutState {
  const at = isoSeconds(now);
  return { ...state, phase: "aborting", abort: { by, reasons, at }, updated_at: at };
}

/** The state once the completion is decided (all steps done, or `rollout promote`). */
export function decideComplete(state: RolloutState, now: Date): RolloutState {
  return { ...state, phase: "completing", updated_at: isoSeconds(now) };
}

/** The state once a decided completion or abort was carried out. */
export function finished(state: RolloutState, now: Date): RolloutState {
  const at = isoSeconds(now);
  if (state.phase === "completing") {
    return { ...state, phase: "completed", weight: 100, updated_at: at };
  }
  if (state.phase === "aborting") return { ...state, phase: "aborted", weight: 0, updated_at: at };
  return state;
}

/** Paused by an operator; the current step starts over on resume. */
export function paused(state: RolloutState, now: Date): RolloutState {
  return { ...state, phase: "paused", updated_at: isoSeconds(now) };
}

/** Resumed: the current step starts over at `now` (a pause waits its full time again). */
export function resumed(state: RolloutState, now: Date): RolloutState {
  const at = isoSeconds(now);
  return { ...state, phase: "progressing", step_started_at: at, updated_at: at };
}

/**
 * The input of `swiftdeploy.rollout` (policies/rollout.rego) for one
 * analysis: the step, the weight, the counts of earlier failed and
 * inconclusive analyses, and each variant's figures over the window.
 */
export function analysisInput(
  state: RolloutState,
  figures: { canary: VariantFigures; stable: VariantFigures },
  windowSeconds: number,
): Record<string, unknown> {
  return {
    step: state.step_index,
    weight: state.weight,
    window_seconds: windowSeconds,
    analyses_failed: state.analyses_failed,
    analyses_inconclusive: state.analyses_inconclusive,
    canary: figures.canary,
    stable: figures.stable,
  };
}

/** `weight 10`, `pause 30 s`, `analysis (30 s window)`: one step as text. */
export function describeStep(step: RolloutStep | undefined, defaultWindowSeconds: number): string {
  if (!step) return "full switch";
  if ("weight" in step) return `weight ${step.weight} %`;
  if ("pause_seconds" in step) return `pause ${step.pause_seconds} s`;
  return `analysis (${step.analysis.window_seconds ?? defaultWindowSeconds} s window)`;
}
