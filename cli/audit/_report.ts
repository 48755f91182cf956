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
  summarize,
  timeline,
  verificationText,
  violations,
} from "./_model.ts";

export interface AuditReportOptions {
  /** When the report was made (shown; pinned in tests). */
  generatedAt: Date;
  /** Path of the chart SVG relative to the report, e.g. `audit_report.svg`. */
  chartFileName: string;
  /** Result of `verifyHistory` on the same file. */
  verification: VerifyResult;
  /** Shown as the source, e.g. `history.jsonl`. */
  historyFileName?: string;
  /** Numbers of lines that could not be read (from `readHistory`). */
  malformedLines?: readonly number[];
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

export function renderAuditReport(
  events: readonly HistoryEvent[],
  options: AuditReportOptions,
): string {
  const out: string[] = [];
  const source = options.historyFileName ?? "history.jsonl";
  const rows = violations(events);
  const summary = summarize(events, rows.length);

  out.push("# SwiftDeploy audit report", "");
  out.push(
    `Generated ${formatTime(options.generatedAt.getTime())} UTC from ${escapeText(source)}. ` +
      "All times are UTC.",
    "",
  );
  if (events.length === 0) out.push(`**${NO_EVENTS}**`, "");

  out.push("## Summary", "");
  const modeText = summary.mode
    ? `${summary.mode.mode} (since the ${summary.mode.event} at ${formatTime(summary.mode.ts)})` +
      (summary.tornDownAt ? `; torn down at ${formatTime(summary.tornDownAt)}` : "")
    : "unknown (no deploy or promotion recorded)";
  const malformed = options.malformedLines ?? [];
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
      ["Policy violations", String(summary.violations)],
      ["Current mode", modeText],
      ["History chain", verificationText(options.verification)],
      ...(malformed.length
        ? [[
          "Unreadable lines",
          `${malformed.length} skipped: ${malformed.slice(0, 20).join(", ")}${
            malformed.length > 20 ? ", …" : ""
          }`,
        ]]
        : []),
    ]),
    "",
  );

  out.push("## Timeline", "");
  const tl = timeline(events);
  if (tl.length === 0) {
    out.push(
      events.length === 0 ? NO_EVENTS : "No deploys, promotions or chaos injections recorded.",
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

  out.push("## Policy violations", "");
  if (rows.length === 0) {
    out.push(events.length === 0 ? NO_EVENTS : "No policy violations recorded.", "");
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
  const scrapes = events.filter((e) => e.event === "status_scrape").length;
  out.push(
    scrapes === 0
      ? "No status checks recorded yet, so the chart is empty."
      : `From ${scrapes} status ${
        scrapes === 1 ? "check" : "checks"
      } (\`swiftdeploy status\`); shaded spans had chaos injected.`,
    "",
  );
  out.push(`![Error rate and P99 latency over time](${linkTarget(options.chartFileName)})`, "");
  return out.join("\n");
}
