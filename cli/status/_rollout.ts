/**
 * The rollout part of the dashboard (issue 13 item 7), as data and text.
 * Pure: the command reads the persisted rollout (cli/rollout's
 * `readRolloutState`) and the per-variant edge figures of the last refresh
 * interval (two successive reads of nginx's per-variant counters, diffed as
 * the app's window is), and passes them in with the time.
 *
 * @module
 */
import type { RolloutStep } from "../manifest/types.ts";
import type { RolloutPhase, RolloutState, VariantFigures } from "../rollout/mod.ts";

/**
 * How long a finished (completed or aborted) rollout stays on the
 * dashboard after its last transition, seconds: long enough for whoever
 * watched it to read the outcome, short enough not to describe an old
 * release as news.
 */
export const RECENT_ROLLOUT_SECONDS = 600;

/** One variant as the dashboard shows it. */
export interface RolloutVariantStatus {
  version: string;
  container: string;
  /** Share of traffic routed to it, percent (the canary's weight, or 100 minus it). */
  weight_percent: number;
  /** Over the live interval at nginx; null when unknown (no interval yet, unreadable, reset). */
  request_count: number | null;
  requests_per_second: number | null;
  error_rate_percent: number | null;
  /** Upper bound (ms) of the latency bucket holding the P99, as the analysis judges it. */
  p99_latency_ms: number | null;
  /** Set when the P99 lies beyond the highest finite bucket: the bound (ms) it exceeds. */
  p99_above_ms: number | null;
  /** Why a figure is unknown, when one is. */
  unknown: string | null;
}

/** The current step, e.g. `{ number: 3, total: 6, kind: "analysis", text: "step 3/6: analysis" }`. */
export interface RolloutStepStatus {
  /** 1-based; `total + 1` once every step is done (the implied full switch). */
  number: number;
  total: number;
  kind: "weight" | "pause" | "analysis" | "switch";
  /** `weight 20 %`, `pause 30 s`, `analysis (30 s window)`, `full switch`. */
  detail: string;
  /** `step 3/6: analysis`, `all 6 steps done: full switch`. */
  text: string;
}

/** The last analysis decision. */
export interface RolloutDecisionStatus {
  /** ISO 8601, when its window ended. */
  at: string;
  /** 1-based step number. */
  step: number;
  weight: number;
  outcome: "continue" | "hold" | "rollback";
  /** The first reason, or null when the policy gave none (a `continue`). */
  reason: string | null;
  reasons: string[];
}

/** The rollout block of the `--json` document (`rollout`, present only when a rollout is shown). */
export interface RolloutStatus {
  id: string;
  phase: RolloutPhase;
  /** True once completed or aborted (shown for RECENT_ROLLOUT_SECONDS after). */
  ended: boolean;
  /** Whether a process walks the steps; null when not known. */
  driven: boolean | null;
  started_at: string;
  updated_at: string;
  step: RolloutStepStatus;
  /** Seconds left in the current pause or analysis window; null when not timed (a weight step, paused, ended). */
  time_left_seconds: number | null;
  /** The canary's weight, percent. */
  weight_percent: number;
  stable: RolloutVariantStatus;
  canary: RolloutVariantStatus;
  /** Length (s) of the interval the live figures cover; null when there are none. */
  live_seconds: number | null;
  /** Why there are no live figures, when there are none. */
  live_error: string | null;
  last_analysis: RolloutDecisionStatus | null;
  analyses_failed: number;
  analyses_inconclusive: number;
  /** Set once aborted (or aborting): who and why. */
  abort: { by: "analysis" | "operator"; reasons: string[] } | null;
}

/** Per-variant figures over one interval between two reads of nginx's per-variant counters. */
export interface VariantLive {
  /** Length of the interval, seconds (> 0). */
  seconds: number;
  canary: VariantFigures;
  stable: VariantFigures;
}

/** What the command passes: the persisted rollout and the live figures (or why there are none). */
export interface RolloutObservation {
  state: RolloutState;
  live?: VariantLive | { error: string };
  /** The manifest's default analysis window, seconds (for an analysis step that names none). */
  defaultWindowSeconds: number;
  now: Date;
  /** Whether a process walks the steps (the driver lock is held); undefined: not known. */
  driven?: boolean;
}

const ENDED: ReadonlySet<RolloutPhase> = new Set(["completed", "aborted"]);

/**
 * True when `state` belongs on the dashboard at `now`: while it runs (any
 * phase but completed/aborted), and for RECENT_ROLLOUT_SECONDS after its
 * last transition (`updated_at`) once it ended. An unreadable `updated_at`
 * on an ended rollout hides it (nothing says it is recent).
 */
export function rolloutShown(state: RolloutState, now: Date): boolean {
  if (!ENDED.has(state.phase)) return true;
  const at = Date.parse(state.updated_at);
  return Number.isFinite(at) && now.getTime() - at <= RECENT_ROLLOUT_SECONDS * 1000;
}

function stepKind(step: RolloutStep | undefined): RolloutStepStatus["kind"] {
  if (!step) return "switch";
  if ("weight" in step) return "weight";
  if ("pause_seconds" in step) return "pause";
  return "analysis";
}

function stepDetail(step: RolloutStep | undefined, defaultWindowSeconds: number): string {
  if (!step) return "full switch";
  if ("weight" in step) return `weight ${step.weight} %`;
  if ("pause_seconds" in step) return `pause ${step.pause_seconds} s`;
  return `analysis (${step.analysis.window_seconds ?? defaultWindowSeconds} s window)`;
}

/** The current step of `state` as a number out of the total and a label. */
export function rolloutStep(state: RolloutState, defaultWindowSeconds: number): RolloutStepStatus {
  const total = state.steps.length;
  const index = Math.max(0, Math.min(state.step_index, total));
  const step = state.steps[index];
  const kind = stepKind(step);
  const detail = stepDetail(step, defaultWindowSeconds);
  const text = step
    ? `step ${index + 1}/${total}: ${kind}`
    : `all ${total} steps done: full switch`;
  return { number: index + 1, total, kind, detail, text };
}

/**
 * Seconds left in the current pause or analysis window at `now`:
 * `step_started_at` plus the step's length (a pause's `pause_seconds`, an
 * analysis's window or `defaultWindowSeconds`) minus `now`, never below 0
 * (a window that has run out waits for its decision). Null when the step is
 * not timed (a weight step, the final switch), the rollout is paused (the
 * step starts over on resume), decided (completing, aborting) or ended, or
 * `step_started_at` is unreadable.
 */
export function timeLeftSeconds(
  state: RolloutState,
  now: Date,
  defaultWindowSeconds: number,
): number | null {
  if (state.phase !== "progressing") return null;
  const step = state.steps[state.step_index];
  if (!step || "weight" in step) return null;
  const started = Date.parse(state.step_started_at);
  if (!Number.isFinite(started)) return null;
  const seconds = "pause_seconds" in step
    ? step.pause_seconds
    : step.analysis.window_seconds ?? defaultWindowSeconds;
  return Math.max(0, Math.ceil((started + seconds * 1000 - now.getTime()) / 1000));
}

function variantStatus(
  v: { version: string; container: string },
  weight: number,
  figures: VariantFigures | undefined,
  seconds: number | null,
): RolloutVariantStatus {
  const requests = figures?.requests ?? null;
  return {
    version: v.version,
    container: v.container,
    weight_percent: weight,
    request_count: requests,
    requests_per_second: requests !== null && seconds !== null && seconds > 0
      ? requests / seconds
      : null,
    error_rate_percent: figures?.error_rate_percent ?? null,
    p99_latency_ms: figures?.p99_latency_ms ?? null,
    p99_above_ms: figures?.p99_above_ms ?? null,
    unknown: figures?.unknown ?? null,
  };
}

/**
 * The rollout block of one refresh. Weights: the canary's is the
 * persisted `weight`, stable's the rest (100 − weight). Live figures:
 * `requests_per_second` is the variant's requests over the interval divided
 * by its length; error rate and P99 are passed on as computed from the two
 * reads (null stays null: unknown is never shown as 0).
 */
export function rolloutStatus(o: RolloutObservation): RolloutStatus {
  const s = o.state;
  const live = o.live && !("error" in o.live) ? o.live : undefined;
  const seconds = live ? live.seconds : null;
  const weight = Math.max(0, Math.min(100, s.weight));
  const last = s.analyses[s.analyses.length - 1];
  return {
    id: s.id,
    phase: s.phase,
    ended: ENDED.has(s.phase),
    driven: o.driven ?? null,
    started_at: s.started_at,
    updated_at: s.updated_at,
    step: rolloutStep(s, o.defaultWindowSeconds),
    time_left_seconds: timeLeftSeconds(s, o.now, o.defaultWindowSeconds),
    weight_percent: weight,
    stable: variantStatus(s.stable, 100 - weight, live?.stable, seconds),
    canary: variantStatus(s.canary, weight, live?.canary, seconds),
    live_seconds: seconds,
    live_error: o.live && "error" in o.live
      ? o.live.error
      : live
      ? null
      : "no interval yet (the figures need two reads)",
    last_analysis: last
      ? {
        at: last.at,
        step: last.step + 1,
        weight: last.weight,
        outcome: last.outcome,
        reason: last.reasons[0] ?? null,
        reasons: [...last.reasons],
      }
      : null,
    analyses_failed: s.analyses_failed,
    analyses_inconclusive: s.analyses_inconclusive,
    abort: s.abort ? { by: s.abort.by, reasons: [...s.abort.reasons] } : null,
  };
}

/** Colours the rollout lines use (the dashboard's `Paint`). */
export interface RolloutPaint {
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const same = (s: string) => s;

const fixed = (v: number | null, digits: number, unit = "") =>
  v === null ? "n/a" : `${v.toFixed(digits)}${unit}`;

function p99Text(v: RolloutVariantStatus): string {
  if (v.p99_above_ms !== null) return `>${fixed(v.p99_above_ms, 0)} ms`;
  return fixed(v.p99_latency_ms, 0, " ms");
}

/** `1m 05s`, `42 s`. */
export function durationText(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  return `${m}m ${String(seconds % 60).padStart(2, "0")}s`;
}

function phaseText(r: RolloutStatus, paint: RolloutPaint): string {
  switch (r.phase) {
    case "progressing":
      return r.driven === false
        ? paint.yellow(
          "progressing, but no process walks its steps (`swiftdeploy rollout resume` continues, " +
            "`rollout abort` rolls back)",
        )
        : paint.green("progressing");
    case "paused":
      return paint.yellow("paused (`swiftdeploy rollout resume` continues)");
    case "completing":
      return paint.green("completing (all traffic to the canary, stable draining)");
    case "aborting":
      return paint.red("rolling back (canary at 0 %, draining)");
    case "completed":
      return paint.green(`completed: ${r.canary.version} is stable`);
    case "aborted":
      return paint.red(`rolled back by ${r.abort?.by ?? "unknown"}: ${r.stable.version} serves`);
  }
}

function outcomeText(outcome: RolloutDecisionStatus["outcome"], paint: RolloutPaint): string {
  return outcome === "continue"
    ? paint.green("continue")
    : outcome === "hold"
    ? paint.yellow("hold")
    : paint.red("rollback");
}

/**
 * The rollout section of the dashboard: a heading, the phase, the step and
 * the time left, both variants side by side (version, container, weight,
 * req/s, error rate, P99 at nginx over the live interval), the last
 * analysis decision with its first reason, and the abort's reasons. Error
 * rates above `limits.maxErrorRate` and P99 bounds above `limits.maxP99`
 * (the analysis's absolute limits) are red.
 */
export function renderRollout(
  r: RolloutStatus,
  limits: { maxErrorRate: number; maxP99: number },
  paint: RolloutPaint,
  rule: (title: string) => string,
): string[] {
  const lines = [rule(`Rollout ${r.id}`)];
  lines.push(`  phase       : ${phaseText(r, paint)}`);
  if (!r.ended) {
    const left = r.time_left_seconds === null ? "" : ` — ${durationText(r.time_left_seconds)} left`;
    const where = r.step.kind === "switch"
      ? r.step.text
      : `step ${r.step.number}/${r.step.total}: ${r.step.detail}`;
    lines.push(`  step        : ${where}${left}`);
  }
  const errPaint = (v: RolloutVariantStatus) =>
    (v.error_rate_percent !== null && v.error_rate_percent > limits.maxErrorRate
      ? paint.red
      : same)(
        fixed(v.error_rate_percent, 2, "%"),
      );
  const p99Paint = (v: RolloutVariantStatus) =>
    (v.p99_above_ms !== null || (v.p99_latency_ms !== null && v.p99_latency_ms > limits.maxP99)
      ? paint.red
      : same)(p99Text(v));
  // Rows of [label, plain text per variant, coloured text per variant]; the
  // stable column is as wide as its widest plain text, so colours never
  // shift the columns.
  type Row = [string, (v: RolloutVariantStatus) => string, (v: RolloutVariantStatus) => string];
  const rows: Row[] = [
    ["version", (v) => v.version, (v) => v.version],
    ["container", (v) => v.container, (v) => v.container],
    ["weight", (v) => `${v.weight_percent} %`, (v) => `${v.weight_percent} %`],
  ];
  if (!r.ended) {
    const rps = (v: RolloutVariantStatus) => fixed(v.requests_per_second, 2);
    rows.push(
      ["req/s", rps, rps],
      ["error rate", (v) => fixed(v.error_rate_percent, 2, "%"), errPaint],
      ["P99", p99Text, p99Paint],
    );
  }
  const width = Math.max("stable".length, ...rows.map(([, plainOf]) => plainOf(r.stable).length)) +
    3;
  lines.push(`  ${"".padEnd(12)}  ${"stable".padEnd(width)}canary`);
  for (const [label, plainOf, colouredOf] of rows) {
    const pad = " ".repeat(width - plainOf(r.stable).length);
    lines.push(`  ${label.padEnd(12)}: ${colouredOf(r.stable)}${pad}${colouredOf(r.canary)}`);
  }
  if (!r.ended) {
    if (r.live_error !== null) lines.push(paint.dim(`  (figures: ${r.live_error})`));
    else lines.push(paint.dim(`  (at nginx, last ${fixed(r.live_seconds, 0, " s")})`));
    for (const v of [r.stable, r.canary]) {
      if (v.unknown !== null) lines.push(paint.yellow(`  ! ${v.container}: ${v.unknown}`));
    }
  }
  const a = r.last_analysis;
  if (a) {
    lines.push(
      `  analysis    : ${outcomeText(a.outcome, paint)} at step ${a.step} (weight ${a.weight} %)` +
        (a.reason === null ? "" : `: ${a.reason}`) +
        (a.reasons.length > 1 ? paint.dim(` (+${a.reasons.length - 1} more)`) : ""),
    );
  } else if (!r.ended) {
    lines.push(`  analysis    : ${paint.dim("none yet")}`);
  }
  if (r.analyses_failed + r.analyses_inconclusive > 0) {
    lines.push(
      `  tolerated   : ${r.analyses_failed} failed, ${r.analyses_inconclusive} inconclusive`,
    );
  }
  if (r.abort) {
    lines.push(paint.red(`  rolled back by ${r.abort.by}:`));
    for (const reason of r.abort.reasons) lines.push(paint.red(`      ! ${reason}`));
  }
  return lines;
}
