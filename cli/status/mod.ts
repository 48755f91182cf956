/**
 * The status dashboard as data and as text (pure). The command gathers the
 * figures and decisions; this module turns them into the `--json` document
 * and the screen, redrawn in place without flicker.
 */
import type { Decision } from "../policy/mod.ts";

export type Compliance = "PASS" | "FAIL" | "UNKNOWN";

export interface DomainStatus {
  result: Compliance;
  reasons: string[];
}

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
    request_count: number;
    requests_per_second: number | null;
    error_rate_percent: number | null;
    p99_latency_ms: number | null;
    reset: boolean;
  };
  policy: { infrastructure: DomainStatus; canary: DomainStatus };
}

/** A decision, or the reason there is none, as a compliance line. */
export function complianceOf(outcome: Decision | { error: string }): DomainStatus {
  if ("error" in outcome) return { result: "UNKNOWN", reasons: [outcome.error] };
  return { result: outcome.allow ? "PASS" : "FAIL", reasons: [...outcome.reasons] };
}

export interface Paint {
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const plain: Paint = {
  green: (s) => s,
  red: (s) => s,
  yellow: (s) => s,
  dim: (s) => s,
  bold: (s) => s,
};

const num = (v: number | null, digits: number, unit: string) =>
  v === null ? "n/a" : `${v.toFixed(digits)}${unit}`;

function rule(title: string, width = 48): string {
  const head = `── ${title} `;
  return head + "─".repeat(Math.max(0, width - head.length));
}

/** The dashboard's lines (no trailing newline), coloured with `paint`. */
export function renderDashboard(
  doc: StatusDocument,
  opts: {
    intervalSeconds: number;
    once: boolean;
    limits: { maxErrorRate: number; maxP99: number };
  },
  paint: Paint = plain,
): string[] {
  const w = doc.window;
  const errBad = w.error_rate_percent !== null && w.error_rate_percent > opts.limits.maxErrorRate;
  const p99Bad = w.p99_latency_ms !== null && w.p99_latency_ms > opts.limits.maxP99;
  const over = w.basis === "window"
    ? `last ${num(w.seconds, 0, " s")}`
    : w.basis === "lifetime"
    ? "since the app started"
    : "no data";
  const lines = [
    `${paint.bold(`SwiftDeploy Status Dashboard — ${doc.project}`)}  ${doc.timestamp}`,
    "─".repeat(48),
    rule(`Throughput (${over})`),
    `  req/s       : ${num(w.requests_per_second, 2, "")}   (${w.request_count} requests)`,
    `  error rate  : ${(errBad ? paint.red : (s: string) => s)(num(w.error_rate_percent, 2, "%"))}`,
    `  P99 latency : ${(p99Bad ? paint.red : (s: string) => s)(num(w.p99_latency_ms, 2, " ms"))}`,
  ];
  if (w.reset) {
    lines.push(paint.yellow("  ! the app restarted during the window: counters were reset"));
  }
  lines.push(rule("App State"));
  if (!doc.app.reachable) {
    lines.push(paint.red(`  app unreachable: ${doc.app.error ?? "no answer"}`));
  }
  lines.push(
    `  mode        : ${doc.mode ?? "UNKNOWN"}`,
    `  chaos       : ${
      doc.chaos === null ? "UNKNOWN" : doc.chaos === "none" ? "none" : paint.red(doc.chaos)
    }`,
    `  version     : ${doc.version ?? "UNKNOWN"}`,
    `  uptime      : ${num(doc.uptime_seconds, 0, " s")}`,
    rule("Policy Compliance"),
  );
  for (const [domain, s] of Object.entries(doc.policy) as [string, DomainStatus][]) {
    const mark = s.result === "PASS"
      ? paint.green("✔")
      : s.result === "FAIL"
      ? paint.red("✘")
      : paint.yellow("?");
    const word = s.result === "PASS"
      ? paint.green("PASS")
      : s.result === "FAIL"
      ? paint.red("FAIL")
      : paint.yellow("UNKNOWN");
    lines.push(`  ${mark} ${domain.padEnd(15)} ${word}`);
    for (const r of s.reasons) lines.push(`      ! ${r}`);
  }
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

/** Escape sequences that redraw `lines` over the previous frame without clearing the screen first. */
export function redrawFrame(lines: string[], first: boolean): string {
  const body = lines.map((l) => `${l}\x1b[K`).join("\n");
  return `${first ? "\x1b[2J" : ""}\x1b[H${body}\n\x1b[J`;
}
