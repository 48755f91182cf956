/**
 * The audit report: GitHub-flavoured Markdown built from history events.
 * Pure and deterministic: the same events and options give the same bytes.
 */

import type { HistoryEvent, VerifyResult } from "../history/mod.ts";
import { escapeText, table } from "./_markdown.ts";
import {
  formatMs,
  formatPercent,
  formatTime,
  type Summary,
  summaryBuilder,
  timelineBuilder,
  type TimelineRow,
  verificationText,
  type ViolationRow,
  violationsBuilder,
} from "./_model.ts";
import { rolloutOutcomeText, rolloutsBuilder, type RolloutTimeline } from "./_rollouts.ts";
import { type ReleaseRow, releasesBuilder } from "./_releases.ts";

/** What the report shows, built from the events one at a time (see `reportBuilder`). */
export interface ReportModel {
  summary: Summary;
  timeline: TimelineRow[];
  violations: ViolationRow[];
  /** Number of status_scrape events. */
  scrapes: number;
  /** One timeline per rollout id, by first appearance. */
  rollouts: RolloutTimeline[];
  /** Number of rollout_analysis events (the chart's per-variant points). */
  analyses: number;
  /** Evidence bundles the events name (issue 15), in history order. */
  releases: ReleaseRow[];
}

/**
 * Builds a `ReportModel` one event at a time, in history order: memory grows
 * with the report's rows (timeline and violation runs), not with the
 * events (status checks are counted, not kept).
 */
export function reportBuilder(): { add(e: HistoryEvent): void; model(): ReportModel } {
  const tl = timelineBuilder();
  const vi = violationsBuilder();
  const su = summaryBuilder();
  const ro = rolloutsBuilder();
  const re = releasesBuilder();
  let scrapes = 0;
  let analyses = 0;
  return {
    add(e) {
      tl.add(e);
      vi.add(e);
      su.add(e);
      ro.add(e);
      re.add(e);
      if (e.event === "status_scrape") scrapes++;
      if (e.event === "rollout_analysis") analyses++;
    },
    model: () => ({
      summary: su.summary(vi.rows.length),
      timeline: tl.rows,
      violations: vi.rows,
      scrapes,
      rollouts: ro.rollouts,
      analyses,
      releases: re.rows,
    }),
  };
}

export interface AuditReportOptions {
  /** When the report was made (shown; pinned in tests). */
  generatedAt: Date;
  /** Path of the chart SVG relative to the report, e.g. `audit_report.svg`. */
  chartFileName: string;
  /** Result of `verifyHistory` on the same file. */
  verification: VerifyResult;
  /** Shown as the source, e.g. `history.jsonl`. */
  historyFileName?: string;
  /** Numbers of lines that could not be read (from `readHistory`); the first 20 are enough. */
  malformedLines?: readonly number[];
  /** How many lines could not be read, when more than `malformedLines` lists. */
  malformedCount?: number;
  /** Points per series the chart shows when it had to down-sample (see `renderChart`). */
  chartSampled?: number;
  /**
   * The releases folder relative to the report, for links to each bundle
   * (default `.swiftdeploy/releases`, the report beside the manifest).
   */
  releasesPath?: string;
}

export const NO_EVENTS = "No events recorded yet.";

/** A Markdown link destination: each path segment percent-encoded. */
function linkTarget(path: string): string {
  return path.split("/").map((s) => encodeURIComponent(s)).join("/");
}

/** `2026-11-21 12:03:30 → 12:04:00`, the date repeated only when it changes. */
function timeRange(from: string, to: string): string {
  const a = formatTime(from);
  const b = formatTime(to);
  return `${a} → ${a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b}`;
}

/** The report of `events` (see `renderReport`). Pure and deterministic. */
export function renderAuditReport(
  events: readonly HistoryEvent[],
  options: AuditReportOptions,
): string {
  const b = reportBuilder();
  for (const e of events) b.add(e);
  return renderReport(b.model(), options);
}

/**
 * The summary's "Policy violations" cell: how many denials the section
 * below lists (one per denied decision: a blocked deploy's `deploy_blocked`
 * and its `policy_violation` line are one; a run of failing status checks
 * is one) and of which kinds, e.g. `2 (1 deploy blocked, 1 status check
 * run)`.
 */
export function violationsText(count: number, rows: readonly ViolationRow[]): string {
  if (count === 0) return "0";
  const bySource = new Map<string, number>();
  for (const r of rows) {
    const kind = r.source === "status check" && (r.checks?.count ?? 1) > 1
      ? "status check run"
      : r.source;
    bySource.set(kind, (bySource.get(kind) ?? 0) + 1);
  }
  return `${count} (${[...bySource].map(([k, n]) => `${n} ${k}`).join(", ")})`;
}

/** The report from a model built by `reportBuilder`. Pure and deterministic. */
export function renderReport(model: ReportModel, options: AuditReportOptions): string {
  const out: string[] = [];
  const source = options.historyFileName ?? "history.jsonl";
  const rows = model.violations;
  const summary = model.summary;
  const empty = summary.events === 0;

  out.push("# SwiftDeploy audit report", "");
  out.push(
    `Generated ${formatTime(options.generatedAt.getTime())} UTC from ${escapeText(source)}. ` +
      "All times are UTC.",
    "",
  );
  if (empty) out.push(`**${NO_EVENTS}**`, "");

  out.push("## Summary", "");
  const modeText = summary.mode
    ? `${summary.mode.mode} (since the ${summary.mode.event} at ${formatTime(summary.mode.ts)})` +
      (summary.tornDownAt ? `; torn down at ${formatTime(summary.tornDownAt)}` : "")
    : "unknown (no deploy or promotion recorded)";
  const malformed = options.malformedLines ?? [];
  const malformedCount = Math.max(options.malformedCount ?? 0, malformed.length);
  out.push(
    table(["Item", "Value"], [
      [
        "Period",
        summary.first && summary.last
          ? `${formatTime(summary.first)} → ${formatTime(summary.last)}`
          : "—",
      ],
      ["Events", String(summary.events)],
      ["Deploys", String(summary.deploys)],
      ["Promotions", String(summary.promotions)],
      ["Blocked by policy", String(summary.blocked)],
      ["Policy violations", violationsText(summary.violations, rows)],
      ...(summary.rollouts.started || model.rollouts.length
        ? [[
          "Rollouts",
          `${summary.rollouts.started} started: ${summary.rollouts.completed} completed, ` +
          `${summary.rollouts.rolledBack} rolled back`,
        ]]
        : []),
      ["Current mode", modeText],
      ["History chain", verificationText(options.verification)],
      ...(malformedCount
        ? [[
          "Unreadable lines",
          `${malformedCount} skipped: ${malformed.slice(0, 20).join(", ")}${
            malformedCount > 20 ? ", …" : ""
          }`,
        ]]
        : []),
    ]),
    "",
  );

  out.push("## Timeline", "");
  const tl = model.timeline;
  if (tl.length === 0) {
    out.push(
      empty ? NO_EVENTS : "No deploys, promotions or chaos injections recorded.",
      "",
    );
  } else {
    out.push(
      table(
        ["Time", "Event", "Mode", "Details"],
        tl.map((r) => [formatTime(r.ts), r.event, r.mode, r.details]),
      ),
      "",
    );
  }

  if (model.rollouts.length) out.push(...rolloutsSection(model.rollouts));
  if (model.releases?.length) {
    out.push(...releasesSection(model.releases, options.releasesPath ?? ".swiftdeploy/releases"));
  }

  out.push("## Policy violations", "");
  if (rows.length === 0) {
    out.push(empty ? NO_EVENTS : "No policy violations recorded.", "");
  } else {
    out.push(
      table(
        ["Time", "Source", "Domain", "Reasons", "Error rate", "P99"],
        rows.map((r) => [
          r.checks ? timeRange(r.ts, r.checks.lastTs) : formatTime(r.ts),
          r.checks ? `${r.source} ×${r.checks.count} (latest reasons, worst figures)` : r.source,
          r.domain,
          r.reasons.length ? r.reasons.join("\n") : "—",
          formatPercent(r.error_rate_percent),
          formatMs(r.p99_latency_ms),
        ]),
        ["left", "left", "left", "left", "right", "right"],
      ),
      "",
    );
  }

  out.push("## Error rate and P99 latency", "");
  const scrapes = model.scrapes;
  const checks = scrapes === 0
    ? model.analyses === 0
      ? "No status checks recorded yet, so the chart is empty."
      : "No status checks recorded yet."
    : `From ${scrapes} status ${
      scrapes === 1 ? "check" : "checks"
    } (\`swiftdeploy status\`); shaded spans had chaos injected.` +
      (options.chartSampled === undefined
        ? ""
        : ` Too many to draw one by one: each series shows the lowest and highest value of ` +
          `each time slice (${options.chartSampled} points at most).`);
  const variants = model.analyses === 0
    ? ""
    : ` The canary and stable lines are the figures the rollout analysis judged, one point ` +
      `per analysis (${model.analyses} in all), at the end of its window.`;
  out.push(checks + variants, "");
  out.push(`![Error rate and P99 latency over time](${linkTarget(options.chartFileName)})`, "");
  return out.join("\n");
}

/**
 * The "Releases" section: each evidence bundle the history names, linked to
 * its release.json (`swiftdeploy releases show N` prints and verifies it).
 */
function releasesSection(rows: readonly ReleaseRow[], folder: string): string[] {
  return [
    "## Releases",
    "",
    "Every change's evidence bundle, named in its history line by sha256 (so the chain covers " +
    "it); `swiftdeploy releases show N` prints one and checks it against its hash.",
    "",
    table(
      ["Time", "Release", "Status", "Event", "sha256"],
      rows.map((r) => [
        formatTime(r.ts),
        String(r.number),
        r.status,
        r.event,
        r.hash.slice(0, 12),
      ]),
    ).split("\n").map((line, i) => {
      // The release number links to the bundle (the cell text is a plain number: safe).
      if (i < 2) return line;
      const r = rows[i - 2]!;
      const link = `[${r.number}](${linkTarget(`${folder}/${r.number}/release.json`)})`;
      return line.replace(`| ${r.number} |`, `| ${link} |`);
    }),
    "",
  ].flat();
}

/**
 * The "Rollouts" section: per rollout id, how it ended in one line, then
 * its timeline (each weight step, each analysis with both variants'
 * figures and its reasons, pauses, the promotion, the end).
 */
function rolloutsSection(rollouts: readonly RolloutTimeline[]): string[] {
  const out = ["## Rollouts", ""];
  for (const r of rollouts) {
    const a = r.analyses;
    out.push(
      `### Rollout ${escapeText(r.id)}`,
      "",
      escapeText(rolloutOutcomeText(r, formatTime)) +
        `. Analyses: ${a.continue} continue, ${a.hold} hold, ${a.rollback} rollback.`,
      "",
      table(
        ["Time", "Event", "Canary weight", "Details"],
        r.rows.map((row) => [formatTime(row.ts), row.event, row.weight, row.details]),
      ),
      "",
    );
  }
  return out;
}
