/**
 * A rollout as persisted data: the state machine a `deploy` with
 * `rollout.strategy: canary` starts and `swiftdeploy rollout …` drives. It
 * lives in `<state dir>/rollout/state.json`, replaced atomically at every
 * transition, so a killed CLI resumes from it and never from memory.
 */
import type { RolloutStep } from "../manifest/types.ts";

/** Figures of one variant over one analysis window, as the Rego policy reads them. */
export interface VariantFigures {
  requests: number | null;
  errors: number | null;
  error_rate_percent: number | null;
  /** Upper bound of the latency bucket holding the P99, ms; null when unknown or beyond the buckets. */
  p99_latency_ms: number | null;
  /** Set when the P99 lies beyond the highest finite bucket: a lower bound, ms. */
  p99_above_ms?: number;
  /** Why a figure is unknown (a reset, a route change, an unreadable source). */
  unknown?: string;
}

/** One analysis step's result. */
export interface AnalysisRecord {
  /** Index into `steps`. */
  step: number;
  weight: number;
  /** ISO 8601, when the window ended. */
  at: string;
  window_seconds: number;
  outcome: "continue" | "hold" | "rollback";
  reasons: string[];
  canary: VariantFigures;
  stable: VariantFigures;
}

export type RolloutPhase =
  /** Walking the steps. */
  | "progressing"
  /** Held by `rollout pause`; `rollout resume` continues. */
  | "paused"
  /**
   * Decided: the canary takes all traffic; its routes and the old stable's
   * drain are being carried out (a killed CLI leaves it here: `rollout
   * resume` finishes it).
   */
  | "completing"
  /** The canary took all traffic and became stable; the old stable is gone. */
  | "completed"
  /**
   * Decided: roll back; the canary's weight goes to 0 and it drains (a
   * killed CLI leaves it here: `rollout abort` or `resume` finishes it).
   */
  | "aborting"
  /** Rolled back (analysis or `rollout abort`): the canary is gone, stable serves. */
  | "aborted";

export interface RolloutVariant {
  container: string;
  /** `IPv4:port` on the project network. */
  address: string;
  version: string;
  /** sha256 of the app spec the container runs (the manifest's services section as planned). */
  spec_hash: string;
}

export interface RolloutState {
  /** Stable for the rollout's life: `<utc yyyymmddThhmmss>-<spec hash8>`. */
  id: string;
  phase: RolloutPhase;
  /** The steps as the manifest gave them when the rollout started. */
  steps: RolloutStep[];
  /** Index of the step being carried out; `steps.length` once all are done. */
  step_index: number;
  /** The canary's current weight, percent. */
  weight: number;
  stable: RolloutVariant;
  canary: RolloutVariant;
  /** ISO 8601. */
  started_at: string;
  /** When the current step began (a pause counts from here), ISO 8601. */
  step_started_at: string;
  updated_at: string;
  analyses: AnalysisRecord[];
  /** Failed and inconclusive analyses so far (the policy's tolerance counts them). */
  analyses_failed: number;
  analyses_inconclusive: number;
  /** Set once aborted: who (`analysis` or `operator`) and why. */
  abort?: { by: "analysis" | "operator"; reasons: string[]; at: string };
}
