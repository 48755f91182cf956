/**
 * The app's metric contract (see service/metrics.ts):
 *
 * | metric                          | type      | labels                     |
 * |---------------------------------|-----------|----------------------------|
 * | `http_requests_total`           | counter   | method, path, status_code  |
 * | `http_request_duration_seconds` | histogram | method, path (+ le)        |
 * | `app_uptime_seconds`            | gauge     |                            |
 * | `app_mode`                      | gauge     | 0 stable, 1 canary         |
 * | `chaos_active`                  | gauge     | 0 none, 1 slow, 2 error    |
 *
 * Application requests are those on any path other than /healthz, /metrics
 * and /chaos (the service labels unknown paths "other"; they count).
 */

import { parseLe } from "./_parse.ts";
import type { AppMode, AppState, ChaosState, MetricFamily, ParsedMetrics } from "./_types.ts";

export const METRIC_NAMES = {
  requests: "http_requests_total",
  duration: "http_request_duration_seconds",
  uptime: "app_uptime_seconds",
  mode: "app_mode",
  chaos: "chaos_active",
} as const;

/** Paths whose requests are not application traffic. */
export const NON_APPLICATION_PATHS: readonly string[] = Object.freeze([
  "/healthz",
  "/metrics",
  "/chaos",
]);

export function isApplicationPath(path: string): boolean {
  return !NON_APPLICATION_PATHS.includes(path);
}

/** One counter series reduced to what the window arithmetic needs. */
export interface CounterPoint {
  readonly value: number;
  /** True for application paths. */
  readonly app: boolean;
}

export interface RequestPoint extends CounterPoint {
  /** 5xx status code. */
  readonly error: boolean;
}

export interface BucketPoint extends CounterPoint {
  readonly le: number;
}

/** The counters of one scrape, keyed by a canonical series key. */
export interface AppCounters {
  readonly requests: ReadonlyMap<string, RequestPoint>;
  readonly buckets: ReadonlyMap<string, BucketPoint>;
  /** `_count` series of the duration histogram (used only to detect resets). */
  readonly counts: ReadonlyMap<string, CounterPoint>;
  readonly state: AppState;
}

/**
 * Series key: label names and values in the order the exposition wrote them
 * (a client library writes one series' labels in the same order every time).
 */
function key(labels: Readonly<Record<string, string>>): string {
  let k = "";
  for (const n in labels) k += n + "\u0001" + labels[n] + "\u0000";
  return k;
}

function gauge(family: MetricFamily | undefined): number | null {
  const sample = family?.samples[0];
  if (!sample || Number.isNaN(sample.value)) return null;
  return sample.value;
}

/** Reads mode, chaos and uptime from the gauges. */
export function readAppState(metrics: ParsedMetrics): AppState {
  const modeValue = gauge(metrics.families.get(METRIC_NAMES.mode));
  const chaosValue = gauge(metrics.families.get(METRIC_NAMES.chaos));
  const uptime = gauge(metrics.families.get(METRIC_NAMES.uptime));
  const mode: AppMode | null = modeValue === 0 ? "stable" : modeValue === 1 ? "canary" : null;
  const chaos: ChaosState | null = chaosValue === 0
    ? "none"
    : chaosValue === 1
    ? "slow"
    : chaosValue === 2
    ? "error"
    : null;
  return {
    mode,
    chaos,
    uptime_seconds: uptime !== null && Number.isFinite(uptime) ? uptime : null,
  };
}

const cache = new WeakMap<ParsedMetrics, AppCounters>();

/** Extracts the contract's counters from one parse (memoised per parse). */
export function readAppCounters(metrics: ParsedMetrics): AppCounters {
  const cached = cache.get(metrics);
  if (cached) return cached;

  const requests = new Map<string, RequestPoint>();
  for (const s of metrics.families.get(METRIC_NAMES.requests)?.samples ?? []) {
    if (s.name !== METRIC_NAMES.requests) continue;
    const path = s.labels["path"] ?? "";
    const status = Number(s.labels["status_code"]);
    requests.set(key(s.labels), {
      value: s.value,
      app: isApplicationPath(path),
      error: status >= 500 && status <= 599,
    });
  }

  const buckets = new Map<string, BucketPoint>();
  const counts = new Map<string, CounterPoint>();
  const bucketName = METRIC_NAMES.duration + "_bucket";
  const countName = METRIC_NAMES.duration + "_count";
  // With a TYPE line the samples sit in one family; without one, in families
  // named after each sample name.
  const durationSamples = [
    ...(metrics.families.get(METRIC_NAMES.duration)?.samples ?? []),
    ...(metrics.families.get(bucketName)?.samples ?? []),
    ...(metrics.families.get(countName)?.samples ?? []),
  ];
  for (const s of durationSamples) {
    const app = isApplicationPath(s.labels["path"] ?? "");
    if (s.name === bucketName) {
      const le = parseLe(s.labels["le"] ?? "");
      if (le === undefined || Number.isNaN(le)) continue;
      buckets.set(key(s.labels), { value: s.value, app, le });
    } else if (s.name === countName) {
      counts.set(key(s.labels), { value: s.value, app });
    }
  }

  const counters: AppCounters = { requests, buckets, counts, state: readAppState(metrics) };
  cache.set(metrics, counters);
  return counters;
}
