/**
 * The events of history.jsonl and the data each one carries. Writers must
 * pass exactly these shapes; readers (the audit report) must still treat
 * every field as possibly missing, since a history outlives the code that
 * wrote it.
 */

export const EVENT_NAMES = [
  "deploy",
  "deploy_blocked",
  "deploy_failed",
  "deploy_noop",
  "promote",
  "promote_blocked",
  "promote_failed",
  "teardown",
  "status_scrape",
  "chaos_change",
  "policy_violation",
  "lock_taken_over",
  "rollout_started",
  "rollout_step",
  "rollout_analysis",
  "rollout_paused",
  "rollout_resumed",
  "rollout_promoted",
  "rollout_completed",
  "rollout_aborted",
  "webhook_delivery",
  "container_oom_killed",
] as const;

export type EventName = (typeof EVENT_NAMES)[number];

export function isEventName(value: unknown): value is EventName {
  return typeof value === "string" && (EVENT_NAMES as readonly string[]).includes(value);
}

export type Mode = "stable" | "canary";
export type ChaosState = "none" | "slow" | "error";
export type PolicyResult = "PASS" | "FAIL" | "UNKNOWN";

/** Who appended a line. */
export interface Actor {
  user: string;
  host: string;
  pid: number;
}

/**
 * A policy decision as recorded: the same `{ allow, reasons, domain, checked }`
 * object the evaluators return (cli/policy), kept structural here so the
 * history does not depend on the policy code.
 */
export interface DecisionData {
  allow: boolean;
  reasons: string[];
  domain: string;
  /**
   * What the policy examined: `outcome` and `direction` (canary), and each
   * figure it judged as given, e.g. `error_rate_percent: 0.42` (null when not
   * gathered). Lines written before 2026-11-22 hold `{ value, max|min, ok }`
   * objects instead; the audit reads both.
   */
  checked: Record<string, unknown>;
}

/** The stack was started or replaced. */
export interface DeployData {
  mode: Mode;
  version: string;
  image: string;
  /** Names of the containers now serving. */
  containers: string[];
  duration_ms: number;
  /** `rollback` when `swiftdeploy rollback` made this deploy; absent for a plain deploy. */
  kind?: "rollback";
  /** For kind `rollback`: the release number it re-applied. */
  rollback_of?: number;
  /** The evidence bundle of this change (issue 15); absent in lines written before it. */
  release?: ReleaseRef;
}

/** The pre-deploy policy denied the deploy (nothing was changed). */
export interface DeployBlockedData {
  decision: DecisionData;
  /** The evidence bundle of this change (issue 15); absent in lines written before it. */
  release?: ReleaseRef;
}

/** The deploy was attempted and undone. */
export interface DeployFailedData {
  reason: string;
  /** The container that failed, when one did. */
  container?: string;
  /** The evidence bundle of this change (issue 15); absent in lines written before it. */
  release?: ReleaseRef;
}

/** The running stack already matched the manifest. */
export interface DeployNoopData {
  mode: Mode;
  version: string;
  /** Set by a `rollback` to the release that already runs (no release is recorded for it). */
  rollback_of?: number;
  /** The evidence bundle of this change (issue 15); absent in lines written before it. */
  release?: ReleaseRef;
}

/** The mode changed. */
export interface PromoteData {
  from: Mode;
  to: Mode;
  duration_ms: number;
  /** The evidence bundle of this change (issue 15); absent in lines written before it. */
  release?: ReleaseRef;
}

/** The canary policy denied the promotion (nothing was changed). */
export interface PromoteBlockedData {
  from: Mode;
  to: Mode;
  decision: DecisionData;
  /** The evidence bundle of this change (issue 15); absent in lines written before it. */
  release?: ReleaseRef;
}

/** The promotion was attempted and undone. */
export interface PromoteFailedData {
  from: Mode;
  to: Mode;
  reason: string;
  /** The evidence bundle of this change (issue 15); absent in lines written before it. */
  release?: ReleaseRef;
}

/** The stack was removed. */
export interface TeardownData {
  clean: boolean;
  /** Containers, networks, volumes and files removed. */
  removed: string[];
}

/** One `status` refresh: what was observed and what the policies said. */
export interface StatusScrapeData {
  mode: Mode | null;
  chaos: ChaosState | null;
  version: string | null;
  requests_per_second: number | null;
  error_rate_percent: number | null;
  p99_latency_ms: number | null;
  /** Set when the P99 lay beyond the highest finite bucket: the bound (ms) it exceeded. */
  p99_above_ms?: number;
  /** null when the count was unknown (no figures, or an untrustworthy counter). */
  request_count: number | null;
  window_seconds: number | null;
  policy: {
    infrastructure: PolicyResult;
    canary: PolicyResult;
  };
  /** Reasons of the failing policies, when any. */
  reasons?: string[];
}

/** Chaos was injected or recovered through POST /chaos. */
export interface ChaosChangeData {
  mode: "slow" | "error" | "recover";
  /** Share of requests failed, 0..1, for "error". */
  rate?: number;
  /** Seconds of delay, for "slow". */
  duration?: number;
}

/** A policy denied something (also recorded as *_blocked where one applies). */
export interface PolicyViolationData {
  domain: string;
  reasons: string[];
  error_rate_percent?: number | null;
  p99_latency_ms?: number | null;
}

/** A stale project lock was broken. */
export interface LockTakenOverData {
  /** Holder recorded in the lock: its host, pid and start time (ISO 8601). */
  previous: { host?: string; pid?: number; since?: string };
  reason: string;
}

/** One variant of a rollout as its events name it. */
export interface RolloutVariantData {
  container: string;
  version: string;
}

/**
 * One variant's figures over an analysis window (cli/rollout's
 * `VariantFigures`, kept structural here like `DecisionData`).
 */
export interface RolloutFiguresData {
  requests: number | null;
  errors: number | null;
  error_rate_percent: number | null;
  /** Upper bound (ms) of the latency bucket holding the P99; null when unknown. */
  p99_latency_ms: number | null;
  /** Set when the P99 lay beyond the highest finite bucket: the bound (ms) it exceeded. */
  p99_above_ms?: number;
  /** Why a figure is unknown. */
  unknown?: string;
}

/** A canary rollout began: the new version joined beside stable at weight 0. */
export interface RolloutStartedData {
  /** The rollout's id, `<yyyymmddThhmmss>-<spec hash8>`; every rollout event carries it. */
  id: string;
  stable: RolloutVariantData;
  canary: RolloutVariantData;
  /** The steps as the manifest gave them (cli/manifest `RolloutStep`). */
  steps: unknown[];
}

/** The canary's weight changed. */
export interface RolloutStepData {
  id: string;
  /** Index of the step in the rollout's steps. */
  step: number;
  /** Percent of traffic on the canary, now and before. */
  weight: number;
  previous_weight: number;
  /** From the decision to the new weight being in effect at nginx, ms. */
  ms: number;
}

/** An analysis step was decided by `swiftdeploy.rollout`. */
export interface RolloutAnalysisData {
  id: string;
  step: number;
  weight: number;
  outcome: "continue" | "hold" | "rollback";
  reasons: string[];
  canary: RolloutFiguresData;
  stable: RolloutFiguresData;
  window_seconds: number;
}

/** `rollout pause` / `rollout resume`. */
export interface RolloutPausedData {
  id: string;
  step: number;
  /** Who asked (the operator's user name, or what acted). */
  by: string;
}

/** `rollout promote`: the remaining steps were skipped (gated by the policy). */
export interface RolloutPromotedData {
  id: string;
  step: number;
  decision: DecisionData;
}

/** The canary took all traffic and became stable. */
export interface RolloutCompletedData {
  id: string;
  version: string;
  duration_ms: number;
  /** The evidence bundle of this change (issue 15); absent in lines written before it. */
  release?: ReleaseRef;
}

/** The rollout was rolled back: the canary is at weight 0, drained and removed. */
export interface RolloutAbortedData {
  id: string;
  step: number;
  weight: number;
  by: "analysis" | "operator";
  reasons: string[];
  /** The analysis decision that rolled it back, when one did. */
  decision?: DecisionData;
  /** The evidence bundle of this change (issue 15); absent in lines written before it. */
  release?: ReleaseRef;
}

/**
 * The evidence bundle a change wrote (cli/release): named by its content
 * hash in the change's own event, so the history's chain covers the bundle.
 */
export interface ReleaseRef {
  /** `.swiftdeploy/releases/<number>/`. */
  number: number;
  /** sha256 hex of the release record (cli/release `releaseHash`). */
  hash: string;
  /** good, failed or blocked. */
  status: string;
}

/**
 * A signed git push reached `POST /v1/hooks/git` (issue 16): deployed
 * (`accepted`, with the operation that deploys it) or `ignored` (another
 * branch, a branch deleted, not a push). Never the secret, the signature or
 * the body.
 */
export interface WebhookDeliveryData {
  /** `X-GitHub-Delivery`. */
  delivery: string;
  /** `X-GitHub-Event` (push, ping…). */
  event: string;
  /** The pushed ref, e.g. refs/heads/main; null when the event has none. */
  ref: string | null;
  /** The pushed commit (`after`); null when the event has none. */
  sha: string | null;
  outcome: "accepted" | "ignored";
  reason: string;
  /** The operation that deploys it (`/v1/operations/{id}`), when accepted. */
  operation: string | null;
}

export interface EventDataMap {
  deploy: DeployData;
  deploy_blocked: DeployBlockedData;
  deploy_failed: DeployFailedData;
  deploy_noop: DeployNoopData;
  promote: PromoteData;
  promote_blocked: PromoteBlockedData;
  promote_failed: PromoteFailedData;
  teardown: TeardownData;
  status_scrape: StatusScrapeData;
  chaos_change: ChaosChangeData;
  policy_violation: PolicyViolationData;
  lock_taken_over: LockTakenOverData;
  rollout_started: RolloutStartedData;
  rollout_step: RolloutStepData;
  rollout_analysis: RolloutAnalysisData;
  rollout_paused: RolloutPausedData;
  rollout_resumed: RolloutPausedData;
  rollout_promoted: RolloutPromotedData;
  rollout_completed: RolloutCompletedData;
  rollout_aborted: RolloutAbortedData;
  webhook_delivery: WebhookDeliveryData;
  container_oom_killed: ContainerOomKilledData;
}

/**
 * The kernel killed a container of the stack for exceeding its memory cap
 * (issue 17), appended by the first `status` (or `deploy`) that sees the
 * engine report it; the engine restarts the container by its restart policy.
 */
export interface ContainerOomKilledData {
  container: string;
  /** app, nginx, opa or prometheus. */
  role: string;
  /** When the killed process exited (the engine's FinishedAt, ISO 8601). */
  finished_at: string;
  /** The engine's restart count when SwiftDeploy saw it. */
  restart_count: number;
  /** The container's memory cap, bytes. */
  memory_limit_bytes: number;
}

/** One line of history.jsonl as written; keys in this order. */
export interface HistoryRecord<E extends EventName = EventName> {
  /** 2 for every line written now (sealed); 1 for lines written before sealing. */
  v: 1 | 2;
  /** ISO 8601 UTC with milliseconds, e.g. `2026-11-21T12:00:00.000Z`. */
  ts: string;
  event: E;
  actor: Actor;
  data: EventDataMap[E];
  /** sha256 hex of the previous line's bytes (no newline), 64 zeros for the first. */
  prev: string;
}

/**
 * One line as read back: the schema is checked, the data only as an object
 * (its fields may be missing or of another type in old or edited files).
 */
export interface HistoryEvent {
  /** 1: written before sealing; 2: sealed (see `_seal.ts`). */
  v: 1 | 2;
  ts: string;
  event: EventName;
  actor: Actor;
  data: Readonly<Record<string, unknown>>;
  prev: string;
}
