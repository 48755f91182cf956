/**
 * The metric fields of the canary policy's input, and their one-line
 * summary, from window figures. Pure; public (not only through mod.ts) so
 * pure modules elsewhere can import it without the scrape's I/O.
 *
 * @module
 */

import type { WindowFigures } from "./_types.ts";

/** The metric part of `policies/canary.rego`'s input (see that file's header). */
export interface CanaryMetricsInput {
  request_count: number | null;
  error_rate_percent: number | null;
  /** The P99 as judged: the upper bound of the bucket holding it (`p99_bound_ms`). */
  p99_latency_ms: number | null;
  /** Present when the P99 lies above the highest finite bucket: that bound in ms. */
  p99_above_ms?: number;
  /** Present when a figure is unknown although observed: field name -> why. */
  unknown_figures?: Record<string, string>;
}

/**
 * What the canary policy judges, from window figures (or all null without
 * figures): the request count, the error rate, the P99's bucket upper bound
 * (never the interpolated estimate, which may lie below what up to 1 % of
 * requests took), the `+Inf` lower bound when the P99 is beyond the highest
 * finite bucket, and why any figure is unknown.
 */
export function canaryMetricsInput(figures: WindowFigures | undefined): CanaryMetricsInput {
  const out: CanaryMetricsInput = {
    request_count: figures?.request_count ?? null,
    error_rate_percent: figures?.error_rate_percent ?? null,
    p99_latency_ms: figures?.p99_bound_ms ?? null,
  };
  if (figures?.p99_above_ms != null) out.p99_above_ms = figures.p99_above_ms;
  if (figures && Object.keys(figures.unknown).length > 0) {
    out.unknown_figures = { ...figures.unknown };
  }
  return out;
}

const fixed2 = (v: number | null | undefined) => (v == null ? "n/a" : v.toFixed(2));

/**
 * One line describing window figures for people, e.g. `window 30 s: 200
 * requests, error rate 4.00 %, P99 13.75 ms (at most 15 ms)`; unknown
 * figures read "unknown" and their reasons follow, a P99 beyond the highest
 * finite bucket reads `P99 above 10000 ms`.
 */
export function windowSummary(f: WindowFigures): string {
  const seconds = f.seconds === null ? "?" : f.seconds.toFixed(0);
  const count = f.request_count === null ? "unknown" : String(f.request_count);
  const source = f.requests_source === "edge" ? " (counted at nginx)" : "";
  const errors = f.unknown["error_rate_percent"] !== undefined
    ? "unknown"
    : `${fixed2(f.error_rate_percent)} %`;
  const p99 = f.p99_above_ms !== null
    ? `above ${f.p99_above_ms} ms (beyond the highest latency bucket)`
    : f.unknown["p99_latency_ms"] !== undefined
    ? "unknown"
    : f.p99_bound_ms !== null
    ? `${fixed2(f.p99_latency_ms)} ms (at most ${f.p99_bound_ms} ms)`
    : "n/a";
  const why = [...new Set(Object.values(f.unknown))].map((w) => `; unknown because ${w}`).join("");
  return `window ${seconds} s: ${count} requests${source}, error rate ${errors}, P99 ${p99}` +
    (f.reset ? " (the app restarted in the window)" : "") + why;
}
