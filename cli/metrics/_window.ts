/**
 * Figures over a window between two scrapes of the app, computed the way
 * PromQL would over the same samples:
 *
 *   request_count      = sum(increase(http_requests_total{path!~app-excluded}))
 *   error_rate_percent = 100 * 5xx increase / request_count
 *   p99_latency_ms     = 1000 * histogram_quantile(0.99,
 *                          sum by (le) (increase(http_request_duration_seconds_bucket{...})))
 *
 * `increase()` here is the exact difference of the two samples (no
 * extrapolation: both ends are real scrapes). A counter reset (the app
 * restarted) is detected when `app_uptime_seconds` went down or any contract
 * counter is lower in the newer scrape (a vanished series counts as 0). As
 * in PromQL, the newer value is then the increase since the reset; since a
 * restart resets every counter of the process, this applies to all series at
 * once. No figure is ever negative.
 */

import { ExitCode, SwiftDeployError } from "../errors.ts";
import { type AppCounters, type CounterPoint, readAppCounters } from "./_app_metrics.ts";
import { bucketQuantile } from "./_quantile.ts";
import type { Scrape, WindowFigures } from "./_types.ts";

/** The 99th percentile, as the policies read it. */
const P99 = 0.99;

/** A baseline must be at least this share of the window old… */
export const BASELINE_MIN_AGE_RATIO = 0.5;
/** …and at most this many windows old (an older one would dilute the window). */
export const BASELINE_MAX_AGE_RATIO = 2;

function anyLower(
  older: ReadonlyMap<string, CounterPoint>,
  newer: ReadonlyMap<string, CounterPoint>,
): boolean {
  for (const [k, o] of older) {
    const n = newer.get(k)?.value ?? 0;
    if (n < o.value) return true;
  }
  return false;
}

function detectReset(older: AppCounters, newer: AppCounters): boolean {
  const ou = older.state.uptime_seconds;
  const nu = newer.state.uptime_seconds;
  if (ou !== null && nu !== null && nu < ou) return true;
  return anyLower(older.requests, newer.requests) ||
    anyLower(older.buckets, newer.buckets) ||
    anyLower(older.counts, newer.counts);
}

interface Totals {
  request_count: number;
  error_count: number;
  p99_latency_ms: number | null;
}

/**
 * Sums the increases of application series. `before` returns the older value
 * of a series (0 when absent or after a reset).
 */
function totals(newer: AppCounters, before: (kind: "r" | "b", key: string) => number): Totals {
  const increase = (kind: "r" | "b", key: string, value: number): number => {
    const d = value - before(kind, key);
    return Number.isNaN(d) || d < 0 ? 0 : d;
  };

  let requestCount = 0;
  let errorCount = 0;
  for (const [k, p] of newer.requests) {
    if (!p.app) continue;
    const inc = increase("r", k, p.value);
    requestCount += inc;
    if (p.error) errorCount += inc;
  }

  const byLe = new Map<number, number>();
  for (const [k, p] of newer.buckets) {
    if (!p.app) continue;
    byLe.set(p.le, (byLe.get(p.le) ?? 0) + increase("b", k, p.value));
  }
  const buckets = [...byLe].map(([le, count]) => ({ le, count }));
  const q = bucketQuantile(P99, buckets);

  return {
    request_count: requestCount,
    error_count: errorCount,
    p99_latency_ms: Number.isFinite(q) ? q * 1000 : null,
  };
}

function rate(count: number, seconds: number | null): number | null {
  return seconds !== null && seconds > 0 ? count / seconds : null;
}

/** Figures over the window from `older` to `newer` (see the module comment). */
export function computeWindow(older: Scrape, newer: Scrape): WindowFigures {
  if (newer.at < older.at) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot compute a metrics window: the newer scrape (${newer.at}) is before the older one (${older.at})`,
      { exitCode: ExitCode.failure },
    );
  }
  const o = readAppCounters(older.series);
  const n = readAppCounters(newer.series);
  const reset = detectReset(o, n);

  const t = totals(n, (kind, key) => {
    if (reset) return 0;
    const map = kind === "r" ? o.requests : o.buckets;
    return map.get(key)?.value ?? 0;
  });

  let seconds = (newer.at - older.at) / 1000;
  const uptime = n.state.uptime_seconds;
  if (reset && uptime !== null && uptime < seconds) seconds = uptime;

  return {
    basis: "window",
    seconds,
    request_count: t.request_count,
    error_count: t.error_count,
    requests_per_second: rate(t.request_count, seconds),
    error_rate_percent: t.request_count > 0 ? (100 * t.error_count) / t.request_count : null,
    p99_latency_ms: t.p99_latency_ms,
    reset,
  };
}

/**
 * Lifetime figures from one scrape (totals since the app started), for when
 * no baseline scrape exists yet. `seconds` is the app's uptime.
 */
export function snapshotFigures(scrape: Scrape): WindowFigures {
  const n = readAppCounters(scrape.series);
  const t = totals(n, () => 0);
  const seconds = n.state.uptime_seconds;
  return {
    basis: "lifetime",
    seconds,
    request_count: t.request_count,
    error_count: t.error_count,
    requests_per_second: rate(t.request_count, seconds),
    error_rate_percent: t.request_count > 0 ? (100 * t.error_count) / t.request_count : null,
    p99_latency_ms: t.p99_latency_ms,
    reset: false,
  };
}

/**
 * The scrape to use as the start of a window ending `now`.
 *
 * Rule: a scrape qualifies when its age (`now - at`) is between
 * BASELINE_MIN_AGE_RATIO (50 %) and BASELINE_MAX_AGE_RATIO (200 %) of the
 * window; among those, the one whose age is closest to exactly one window
 * wins, and on a tie the older one (it covers more). Scrapes taken after
 * `now` never qualify. Returns undefined when none qualifies: the caller
 * then waits, or falls back to `snapshotFigures`.
 */
export function pickBaseline(
  scrapes: readonly Scrape[],
  now: number,
  windowSeconds: number,
): Scrape | undefined {
  if (!(windowSeconds > 0)) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot pick a metrics baseline: window must be positive, got "${windowSeconds}"`,
    );
  }
  const windowMs = windowSeconds * 1000;
  const minAge = windowMs * BASELINE_MIN_AGE_RATIO;
  const maxAge = windowMs * BASELINE_MAX_AGE_RATIO;
  let best: Scrape | undefined;
  let bestDistance = Infinity;
  let bestAge = -Infinity;
  for (const s of scrapes) {
    const age = now - s.at;
    if (age < minAge || age > maxAge) continue;
    const distance = Math.abs(age - windowMs);
    if (distance < bestDistance || (distance === bestDistance && age > bestAge)) {
      best = s;
      bestDistance = distance;
      bestAge = age;
    }
  }
  return best;
}
