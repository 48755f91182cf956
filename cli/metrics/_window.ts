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
 * extrapolation: both ends are real scrapes), with PromQL's rule on a
 * counter reset: when the newer scrape comes from another process, the
 * increase of each series is the newer process's own count (from zero),
 * never the difference — whether its counts are below or above the old
 * ones. Another process is proven by another `app_instance_info` instance,
 * or by an uptime that did not advance with the clock (`restartedBetween`).
 *
 * A value that cannot be a counter (NaN, ±Inf, negative), or one that went
 * down while the same process served both scrapes (or with no way to tell),
 * makes the figures built on it unknown: null, with the reason in
 * `unknown`, never 0. The canary policy denies on a null figure.
 *
 * The gate judges P99 on `p99_bound_ms`, the upper bound of the bucket
 * holding the 99th percentile (see `bucketQuantileBounds`), not on the
 * interpolated estimate: "P99 <= limit" is then proven, not guessed. A
 * P99 in the `+Inf` bucket is reported as `p99_above_ms` only.
 */

import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { bucketQuantile, bucketQuantileBounds } from "./_quantile.ts";
import type { BucketCounter, EdgeSample, RequestCounter, Scrape, WindowFigures } from "./_types.ts";

/** The 99th percentile, as the policies read it. */
const P99 = 0.99;

/** A baseline must be at least this share of the window old… */
export const BASELINE_MIN_AGE_RATIO = 0.5;
/** …and at most this many windows old (an older one would dilute the window). */
export const BASELINE_MAX_AGE_RATIO = 2;

/**
 * Seconds the newer uptime may fall short of `older uptime + elapsed`
 * before the scrapes are taken to come from two processes. It absorbs the
 * difference between the app's clock (uptime read while rendering) and the
 * CLI's (`Scrape.at`, taken when the answer arrived): the answer times of
 * two scrapes, each well under the 5 s scrape timeout on a working stack.
 */
export const RESTART_TOLERANCE_SECONDS = 2;

/** Options of `computeWindow` and `snapshotFigures`. */
export interface WindowOptions {
  /**
   * Readings of the edge's (nginx's) cumulative request counters, oldest
   * first, spanning the same window as the two scrapes (the first taken
   * about when the older scrape was, the last about when the newer was).
   * When given, request_count, error_count, requests_per_second and
   * error_rate_percent come from them (same reset rules: another
   * `instance` starts from zero; a NaN, infinite, negative or decreasing
   * value makes them unknown) and `requests_source` is "edge"; the latency
   * still comes from the app. `computeWindow` needs at least two readings,
   * `snapshotFigures` at least one, else the request figures are unknown.
   */
  readonly edge?: readonly EdgeSample[];
}

/**
 * True when `newer` was served by another process than `older`: both name
 * an instance and the names differ, or both give an uptime and the newer
 * one is below `older uptime + elapsed - RESTART_TOLERANCE_SECONDS`
 * (a process's uptime advances with the clock; a younger one started in
 * between). False when nothing proves it.
 */
export function restartedBetween(older: Scrape, newer: Scrape): boolean {
  if (older.instance !== null && newer.instance !== null && older.instance !== newer.instance) {
    return true;
  }
  const ou = older.state.uptime_seconds;
  const nu = newer.state.uptime_seconds;
  if (ou === null || nu === null) return false;
  const elapsed = (newer.at - older.at) / 1000;
  return nu < ou + elapsed - RESTART_TOLERANCE_SECONDS;
}

/** A counter value a process can serve: finite and not negative. */
function validCounter(v: number): boolean {
  return Number.isFinite(v) && v >= 0;
}

function describeValue(v: number): string {
  return Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v);
}

/** `{method="GET",path="/"}` from a canonical series key. */
function labelsText(key: string): string {
  const pairs = key.split("\u0000").filter((p) => p !== "").map((p) => {
    const [n, v] = p.split("\u0001");
    return `${n}=${JSON.stringify(v ?? "")}`;
  });
  return `{${pairs.join(",")}}`;
}

type Increases<T> = { items: Array<[T, number]>; why?: undefined } | { why: string };

/**
 * The increase of each application series from `older` (absent: a fresh
 * start) to `newer`, or why it is unknown. With `restart`, each newer value
 * is the increase (PromQL's reset rule).
 */
function increases<T extends RequestCounter | BucketCounter>(
  metric: string,
  olderList: readonly T[] | undefined,
  newerList: readonly T[],
  restart: boolean,
): Increases<T> {
  const before = new Map<string, number>();
  if (olderList && !restart) { for (const c of olderList) if (c.app) before.set(c.key, c.value); }
  const items: Array<[T, number]> = [];
  for (const c of newerList) {
    if (!c.app) continue;
    if (!validCounter(c.value)) {
      return { why: `${metric}${labelsText(c.key)} is ${describeValue(c.value)}` };
    }
    const old = before.get(c.key) ?? 0;
    before.delete(c.key);
    if (!validCounter(old)) {
      return {
        why: `${metric}${labelsText(c.key)} was ${describeValue(old)} at the window's start`,
      };
    }
    if (c.value < old) {
      return {
        why: `${metric}${labelsText(c.key)} went down from ${old} to ${c.value} ` +
          `without a restart of the app`,
      };
    }
    items.push([c, c.value - old]);
  }
  for (const [k, old] of before) {
    if (old !== 0) {
      return { why: `${metric}${labelsText(k)} vanished without a restart of the app` };
    }
  }
  return { items };
}

interface RequestFigures {
  source: "app" | "edge";
  request_count: number | null;
  error_count: number | null;
  why?: string;
  /** Seconds the edge readings span (edge only). */
  seconds?: number;
  reset: boolean;
}

function appRequests(older: Scrape | undefined, newer: Scrape, restart: boolean): RequestFigures {
  const inc = increases("http_requests_total", older?.requests, newer.requests, restart);
  if (inc.why !== undefined) {
    return { source: "app", request_count: null, error_count: null, why: inc.why, reset: false };
  }
  let requests = 0;
  let errors = 0;
  for (const [c, d] of inc.items) {
    requests += d;
    if (c.error) errors += d;
  }
  return { source: "app", request_count: requests, error_count: errors, reset: false };
}

/**
 * Request and 5xx increases over a series of edge readings: between
 * consecutive readings of one instance the difference, after a change of
 * instance the newer reading's own counts.
 */
function edgeRequests(samples: readonly EdgeSample[], needed: number): RequestFigures {
  const unknown = (why: string): RequestFigures => ({
    source: "edge",
    request_count: null,
    error_count: null,
    why,
    reset: false,
  });
  if (samples.length < needed) {
    return unknown(`${samples.length} edge reading(s), at least ${needed} needed`);
  }
  for (const s of samples) {
    if (!validCounter(s.requests) || !validCounter(s.errors)) {
      return unknown(
        `edge reading at ${s.atMs} has requests ${describeValue(s.requests)}, ` +
          `errors ${describeValue(s.errors)}`,
      );
    }
    if (s.errors > s.requests) {
      return unknown(`edge reading at ${s.atMs} counts more errors than requests`);
    }
  }
  const first = samples[0]!;
  let requests = needed === 1 ? first.requests : 0;
  let errors = needed === 1 ? first.errors : 0;
  let reset = false;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    if (b.atMs < a.atMs) return unknown(`edge readings are not in time order`);
    if (b.instance !== a.instance) {
      reset = true;
      requests += b.requests;
      errors += b.errors;
      continue;
    }
    if (b.requests < a.requests || b.errors < a.errors) {
      return unknown(`edge counters of "${b.instance}" went down without a restart`);
    }
    requests += b.requests - a.requests;
    errors += b.errors - a.errors;
  }
  const last = samples[samples.length - 1]!;
  return {
    source: "edge",
    request_count: requests,
    error_count: errors,
    // a lifetime total has no span of its own: its rate is over the app's uptime
    ...(needed > 1 ? { seconds: (last.atMs - first.atMs) / 1000 } : {}),
    reset,
  };
}

/** Bounds in seconds to ms without binary noise (0.015 s is 15 ms, not 15.000000000000002). */
function toMs(seconds: number): number {
  return Number((seconds * 1000).toPrecision(12));
}

interface LatencyFigures {
  p99_latency_ms: number | null;
  p99_bound_ms: number | null;
  p99_above_ms: number | null;
  why?: string;
}

function latency(older: Scrape | undefined, newer: Scrape, restart: boolean): LatencyFigures {
  const none = { p99_latency_ms: null, p99_bound_ms: null, p99_above_ms: null };
  const inc = increases(
    "http_request_duration_seconds_bucket",
    older?.buckets,
    newer.buckets,
    restart,
  );
  if (inc.why !== undefined) return { ...none, why: inc.why };
  const byLe = new Map<number, number>();
  for (const [c, d] of inc.items) byLe.set(c.le, (byLe.get(c.le) ?? 0) + d);
  const buckets = [...byLe].map(([le, count]) => ({ le, count }));
  const bounds = bucketQuantileBounds(P99, buckets);
  if (!bounds) return none;
  if (bounds.upper === Infinity) return { ...none, p99_above_ms: toMs(bounds.lower) };
  return {
    p99_latency_ms: bucketQuantile(P99, buckets) * 1000,
    p99_bound_ms: toMs(bounds.upper),
    p99_above_ms: null,
  };
}

function rate(count: number | null, seconds: number | null | undefined): number | null {
  return count !== null && seconds != null && seconds > 0 ? count / seconds : null;
}

function figures(
  basis: "window" | "lifetime",
  seconds: number | null,
  req: RequestFigures,
  lat: LatencyFigures,
  appReset: boolean,
): WindowFigures {
  const unknown: Record<string, string> = {};
  if (req.why !== undefined) {
    unknown["request_count"] = req.why;
    unknown["error_rate_percent"] = req.why;
  }
  if (lat.why !== undefined) unknown["p99_latency_ms"] = lat.why;
  const count = req.request_count;
  return {
    basis,
    seconds,
    requests_source: req.source,
    request_count: count,
    error_count: req.error_count,
    requests_per_second: rate(count, req.source === "edge" ? req.seconds ?? seconds : seconds),
    error_rate_percent: count !== null && count > 0 && req.error_count !== null
      ? (100 * req.error_count) / count
      : null,
    p99_latency_ms: lat.p99_latency_ms,
    p99_bound_ms: lat.p99_bound_ms,
    p99_above_ms: lat.p99_above_ms,
    unknown,
    reset: appReset || req.reset,
  };
}

/**
 * Figures over the window from `older` to `newer` (see the module comment);
 * `options.edge` replaces the app's request counts with the edge's. Throws
 * INTERNAL when `newer` is older than `older`.
 */
export function computeWindow(
  older: Scrape,
  newer: Scrape,
  options: WindowOptions = {},
): WindowFigures {
  if (newer.at < older.at) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot compute a metrics window: the newer scrape (${newer.at}) is before the older one (${older.at})`,
      { exitCode: ExitCode.failure },
    );
  }
  const restart = restartedBetween(older, newer);
  // Without a proven restart a decrease is never taken as a reset (it may
  // be a broken exporter as well): `increases` reports it as unknown.
  const req = options.edge ? edgeRequests(options.edge, 2) : appRequests(older, newer, restart);
  const lat = latency(older, newer, restart);

  let seconds = (newer.at - older.at) / 1000;
  const uptime = newer.state.uptime_seconds;
  if (restart && uptime !== null && uptime < seconds) seconds = uptime;
  return figures("window", seconds, req, lat, restart);
}

/**
 * Lifetime figures from one scrape (totals since the app started), for when
 * no baseline scrape exists yet. `seconds` is the app's uptime. With
 * `options.edge`, the request figures are the newest edge reading's totals.
 */
export function snapshotFigures(scrape: Scrape, options: WindowOptions = {}): WindowFigures {
  const req = options.edge
    ? edgeRequests(options.edge.slice(-1), 1)
    : appRequests(undefined, scrape, false);
  const lat = latency(undefined, scrape, false);
  return figures("lifetime", scrape.state.uptime_seconds, req, lat, false);
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
