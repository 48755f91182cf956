/**
 * The status dashboard as data and as text (pure). The command gathers the
 * figures and decisions; this module turns them into the `--json` document,
 * the `status_scrape` history data and the screen, redrawn in place without
 * flicker.
 *
 * @module
 */
import type { StatusScrapeData } from "../history/mod.ts";
import type { AppState, WindowFigures } from "../metrics/mod.ts";
import { canaryMetricsInput } from "../metrics/policy_input.ts";
import type { Decision } from "../policy/mod.ts";
import { type ContainerFacts, type LogVolume, renderHardening } from "./_hardening.ts";
import {
  renderRollout,
  type RolloutObservation,
  type RolloutStatus,
  rolloutStatus,
} from "./_rollout.ts";

export {
  durationText,
  RECENT_ROLLOUT_SECONDS,
  renderRollout,
  type RolloutDecisionStatus,
  type RolloutObservation,
  rolloutShown,
  type RolloutStatus,
  rolloutStatus,
  rolloutStep,
  type RolloutStepStatus,
  type RolloutVariantStatus,
  timeLeftSeconds,
  type VariantLive,
} from "./_rollout.ts";
export {
  bytesText,
  type ContainerFacts,
  type LogFile,
  type LogVolume,
  logVolume,
  newOomKills,
  type OomKilledData,
  parseLogFiles,
} from "./_hardening.ts";
export {
  decodeVariantSample,
  encodeVariantSample,
  usableBaseline,
  VARIANT_BASELINE_MAX_AGE_SECONDS,
  VARIANT_KEEP_FILE,
} from "./_variant_keep.ts";

export type Compliance = "PASS" | "FAIL" | "UNKNOWN";

export interface DomainStatus {
  result: Compliance;
  reasons: string[];
}

/** One refresh as the `--json` document (one line per refresh). */
export interface StatusDocument {
  timestamp: string;
  project: string;
  app: { reachable: boolean; error: string | null };
  mode: "stable" | "canary" | null;
  chaos: "none" | "slow" | "error" | null;
  version: string | null;
  uptime_seconds: number | null;
  window: {
    basis: "window" | "lifetime" | null;
    seconds: number | null;
    /** null when unknown: no figures, or a counter that cannot be trusted. */
    request_count: number | null;
    requests_per_second: number | null;
    error_rate_percent: number | null;
    p99_latency_ms: number | null;
    /** Upper bound (ms) of the bucket holding the P99: the figure the canary gate judges. */
    p99_bound_ms: number | null;
    /** Set when the P99 lies beyond the highest finite bucket: the bound (ms) it exceeds. */
    p99_above_ms: number | null;
    reset: boolean;
  };
  policy: { infrastructure: DomainStatus; canary: DomainStatus };
  /**
   * The rollout in progress (or one that ended less than
   * RECENT_ROLLOUT_SECONDS ago), or why its persisted state cannot be read.
   * Absent when there is none to show, so a stack without rollouts gives
   * the same document as before.
   */
  rollout?: RolloutStatus | { error: string };
  /**
   * The stack's containers: restarts, OOM kills, memory caps (issue 17).
   * Absent when the engine was not asked, so earlier documents stay as they were.
   */
  containers?: ContainerFacts[];
  /** The logs volume's files and total size, from nginx (issue 17); absent when not asked. */
  logs?: LogVolume;
}

/** A decision, or the reason there is none, as a compliance line. */
export function complianceOf(outcome: Decision | { error: string }): DomainStatus {
  if ("error" in outcome) return { result: "UNKNOWN", reasons: [outcome.error] };
  return { result: outcome.allow ? "PASS" : "FAIL", reasons: [...outcome.reasons] };
}

/** The reason shown when the canary policy cannot be asked: the mode is not known. */
export const UNKNOWN_MODE_REASON = "the app's mode is unknown (no metrics)";

/**
 * The canary policy's input for the promotion the dashboard judges: from
 * the current mode to the other one. Undefined when the mode is unknown
 * (the app could not be scraped): then there is nothing to ask.
 */
export function canaryInput(
  state: AppState | undefined,
  figures: WindowFigures | undefined,
  windowSeconds: number,
): Record<string, unknown> | undefined {
  if (!state?.mode) return undefined;
  return {
    current_mode: state.mode,
    target_mode: state.mode === "canary" ? "stable" : "canary",
    window_seconds: windowSeconds,
    ...canaryMetricsInput(figures),
  };
}

/** What one refresh observed. */
export interface Observation {
  now: Date;
  project: string;
  /** The app's gauges, when /metrics answered. */
  state?: AppState;
  /** Window (or lifetime) figures, when /metrics answered. */
  figures?: WindowFigures;
  /** Why /metrics did not answer. */
  scrapeError?: string;
  /** What /healthz said. */
  health: { version: string | null; error: string | null };
  policy: { infrastructure: DomainStatus; canary: DomainStatus };
  /**
   * The rollout to show (the command filters with `rolloutShown`), or why
   * its persisted state could not be read. Absent: no rollout.
   */
  rollout?: RolloutObservation | { error: string };
  /** The stack's containers as the engine reports them (absent: not asked). */
  containers?: ContainerFacts[];
  /** The logs volume (absent: not asked). */
  logs?: LogVolume;
}

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d+Z$/, "Z");

/** The `--json` document of one refresh. */
export function statusDocument(o: Observation): StatusDocument {
  const f = o.figures;
  return {
    timestamp: isoSeconds(o.now),
    project: o.project,
    app: {
      reachable: o.state !== undefined,
      error: o.scrapeError ?? o.health.error,
    },
    mode: o.state?.mode ?? null,
    chaos: o.state?.chaos ?? null,
    version: o.health.version,
    uptime_seconds: o.state?.uptime_seconds ?? null,
    window: {
      basis: f?.basis ?? null,
      seconds: f?.seconds ?? null,
      request_count: f?.request_count ?? null,
      requests_per_second: f?.requests_per_second ?? null,
      error_rate_percent: f?.error_rate_percent ?? null,
      p99_latency_ms: f?.p99_latency_ms ?? null,
      p99_bound_ms: f?.p99_bound_ms ?? null,
      p99_above_ms: f?.p99_above_ms ?? null,
      reset: f?.reset ?? false,
    },
    policy: o.policy,
    ...(o.rollout === undefined
      ? {}
      : { rollout: "error" in o.rollout ? { error: o.rollout.error } : rolloutStatus(o.rollout) }),
    ...(o.containers === undefined ? {} : { containers: o.containers }),
    ...(o.logs === undefined ? {} : { logs: o.logs }),
  };
}

/** The `status_scrape` history event of one refresh, with the chaos state it saw. */
export function statusScrapeData(doc: StatusDocument): StatusScrapeData {
  const reasons = [
    ...(doc.policy.infrastructure.result === "PASS" ? [] : doc.policy.infrastructure.reasons),
    ...(doc.policy.canary.result === "PASS" ? [] : doc.policy.canary.reasons),
  ];
  return {
    mode: doc.mode,
    chaos: doc.chaos,
    version: doc.version,
    requests_per_second: doc.window.requests_per_second,
    error_rate_percent: doc.window.error_rate_percent,
    p99_latency_ms: doc.window.p99_latency_ms,
    ...(doc.window.p99_above_ms === null ? {} : { p99_above_ms: doc.window.p99_above_ms }),
    request_count: doc.window.request_count,
    window_seconds: doc.window.seconds,
    policy: {
      infrastructure: doc.policy.infrastructure.result,
      canary: doc.policy.canary.result,
    },
    ...(reasons.length ? { reasons } : {}),
  };
}

/** Colours for the dashboard; the command passes its Terminal (colours only on a TTY, never with NO_COLOR). */
export interface Paint {
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const same = (s: string) => s;

const plain: Paint = { green: same, red: same, yellow: same, dim: same, bold: same };

const num = (v: number | null, digits: number, unit: string) =>
  v === null ? "n/a" : `${v.toFixed(digits)}${unit}`;

const WIDTH = 48;

function rule(title: string): string {
  const head = `── ${title} `;
  return head + "─".repeat(Math.max(0, WIDTH - head.length));
}

export interface DashboardOptions {
  intervalSeconds: number;
  once: boolean;
  limits: { maxErrorRate: number; maxP99: number };
  /**
   * The rollout analysis's absolute limits on a variant (the manifest's
   * `rollout.analysis` max error rate and P99), used to colour the
   * per-variant figures; `limits` when not given.
   */
  rolloutLimits?: { maxErrorRate: number; maxP99: number };
  /** Problems of the refresh itself (e.g. the history could not be appended to), shown as warnings. */
  warnings?: string[];
}

/** The dashboard's lines (no trailing newline), coloured with `paint` (none by default). */
export function renderDashboard(
  doc: StatusDocument,
  opts: DashboardOptions,
  paint: Paint = plain,
): string[] {
  const w = doc.window;
  const errBad = w.error_rate_percent !== null && w.error_rate_percent > opts.limits.maxErrorRate;
  // Red as the gate judges it: the bucket bound, not the interpolated figure.
  const p99Bad = w.p99_above_ms !== null ||
    (w.p99_bound_ms !== null && w.p99_bound_ms > opts.limits.maxP99);
  const p99 = w.p99_above_ms !== null
    ? `above ${num(w.p99_above_ms, 0, " ms")}`
    : num(w.p99_latency_ms, 2, " ms");
  const count = w.request_count === null ? "requests unknown" : `${w.request_count} requests`;
  const over = w.basis === "window"
    ? `last ${num(w.seconds, 0, " s")}`
    : w.basis === "lifetime"
    ? "since the app started"
    : "no data";
  const lines = [
    `${paint.bold(`SwiftDeploy Status Dashboard — ${doc.project}`)}  ${doc.timestamp}`,
    "─".repeat(WIDTH),
  ];
  if (doc.rollout !== undefined) {
    if ("error" in doc.rollout) {
      lines.push(rule("Rollout"), paint.red(`  ! ${doc.rollout.error}`));
    } else {
      lines.push(...renderRollout(doc.rollout, opts.rolloutLimits ?? opts.limits, paint, rule));
    }
  }
  lines.push(
    rule(`Throughput (${over})`),
    `  req/s       : ${num(w.requests_per_second, 2, "")}   (${count})`,
    `  error rate  : ${(errBad ? paint.red : same)(num(w.error_rate_percent, 2, "%"))}`,
    `  P99 latency : ${(p99Bad ? paint.red : same)(p99)}`,
  );
  if (w.reset) {
    lines.push(paint.yellow("  ! the app restarted during the window: counters were reset"));
  }
  lines.push(rule("App State"));
  if (!doc.app.reachable) {
    lines.push(paint.red(`  app unreachable: ${doc.app.error ?? "no answer"}`));
  } else if (doc.app.error !== null) {
    lines.push(paint.yellow(`  ! ${doc.app.error}`));
  }
  lines.push(
    `  mode        : ${doc.mode ?? paint.yellow("UNKNOWN")}`,
    `  chaos       : ${
      doc.chaos === null
        ? paint.yellow("UNKNOWN")
        : doc.chaos === "none"
        ? "none"
        : paint.red(doc.chaos)
    }`,
    `  version     : ${doc.version ?? paint.yellow("UNKNOWN")}`,
    `  uptime      : ${num(doc.uptime_seconds, 0, " s")}`,
  );
  if (doc.containers !== undefined) {
    lines.push(...renderHardening(doc.containers, doc.logs, paint, rule));
  }
  lines.push(rule("Policy Compliance"));
  for (const [domain, s] of Object.entries(doc.policy) as [string, DomainStatus][]) {
    const [mark, word] = s.result === "PASS"
      ? [paint.green("✔"), paint.green("PASS")]
      : s.result === "FAIL"
      ? [paint.red("✘"), paint.red("FAIL")]
      : [paint.yellow("?"), paint.yellow("UNKNOWN")];
    lines.push(`  ${mark} ${domain.padEnd(15)} ${word}`);
    for (const r of s.reasons) lines.push(`      ! ${r}`);
  }
  for (const warning of opts.warnings ?? []) lines.push(paint.yellow(`! ${warning}`));
  lines.push("");
  lines.push(
    paint.dim(
      opts.once
        ? "one refresh (--once)"
        : `Refreshing every ${opts.intervalSeconds}s — Ctrl+C to exit`,
    ),
  );
  return lines;
}

/** Clears the whole screen: written only before the first frame. */
export const CLEAR_SCREEN = "\x1b[2J";
/** Moves the cursor to the top-left corner. */
export const CURSOR_HOME = "\x1b[H";
/** Clears from the cursor to the end of the line. */
export const CLEAR_LINE_END = "\x1b[K";
/** Clears from the cursor to the end of the screen. */
export const CLEAR_SCREEN_END = "\x1b[J";
/** Hides the cursor while the dashboard redraws. */
export const HIDE_CURSOR = "\x1b[?25l";
/** Shows the cursor again when the dashboard stops. */
export const SHOW_CURSOR = "\x1b[?25h";

/**
 * Escape sequences that draw `lines` over the previous frame: the cursor
 * goes home and each line overwrites the old one, clearing only what is left
 * of it, then whatever is below the frame. The screen is cleared only before
 * the first frame, so a redraw never blanks the screen (no flicker) and
 * never scrolls.
 */
export function redrawFrame(lines: string[], first: boolean): string {
  const body = lines.map((l) => `${l}${CLEAR_LINE_END}`).join("\n");
  return `${first ? HIDE_CURSOR + CLEAR_SCREEN : ""}${CURSOR_HOME}${body}\n${CLEAR_SCREEN_END}`;
}
