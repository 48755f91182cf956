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
 * | `app_instance_info`             | gauge     | instance (one per process) |
 *
 * Application requests are those on any path other than /healthz, /metrics
 * and /chaos (the service labels unknown paths "other"; they count).
 */

import { parseFloatGo } from "./_parse.ts";
import type {
  AppMode,
  AppState,
  BucketCounter,
  ChaosState,
  MetricFamily,
  ParsedMetrics,
  RequestCounter,
  Scrape,
} from "./_types.ts";

export const METRIC_NAMES = {
  requests: "http_requests_total",
  duration: "http_request_duration_seconds",
  uptime: "app_uptime_seconds",
  mode: "app_mode",
  chaos: "chaos_active",
  instance: "app_instance_info",
} as const;

/** Paths whose requests are not application traffic. */
export const NON_APPLICATION_PATHS: readonly string[] = Object.freeze([
  "/healthz",
  "/metrics",
  "/chaos",
]);

/** True for a path whose requests are application traffic. */
export function isApplicationPath(path: string): boolean {
  return !NON_APPLICATION_PATHS.includes(path);
}

/**
 * Series key: label names (sorted) and values, so one series has the same
 * key in every scrape and in kept scrapes, whatever order a process wrote.
 */
function key(labels: Readonly<Record<string, string>>): string {
  let k = "";
  for (const n of Object.keys(labels).sort()) k += n + "\u0001" + labels[n] + "\u0000";
  return k;
}

function gauge(family: MetricFamily | undefined): number | null {
  const sample = family?.samples[0];
  if (!sample || Number.isNaN(sample.value)) return null;
  return sample.value;
}

/** Reads mode, chaos and uptime (seconds, finite and >= 0, else null) from the gauges. */
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
    uptime_seconds: uptime !== null && Number.isFinite(uptime) && uptime >= 0 ? uptime : null,
  };
}

/**
 * The serving process's id: the `instance` label of the one
 * `app_instance_info` sample whose value is 1; null when absent, empty or
 * ambiguous (several samples at 1).
 */
export function readInstance(metrics: ParsedMetrics): string | null {
  const ids = (metrics.families.get(METRIC_NAMES.instance)?.samples ?? [])
    .filter((s) => s.value === 1 && (s.labels["instance"] ?? "") !== "")
    .map((s) => s.labels["instance"]!);
  return ids.length === 1 ? ids[0]! : null;
}

/**
 * Reduces one parsed exposition to what a window needs (see `Scrape`):
 * instance, gauges, request counters by class and duration buckets. Values
 * are kept as served, valid or not; judging them is the window's business.
 * `at` is the scrape time in epoch ms.
 */
export function scrapeFromMetrics(metrics: ParsedMetrics, at: number): Scrape {
  const requests: RequestCounter[] = [];
  for (const s of metrics.families.get(METRIC_NAMES.requests)?.samples ?? []) {
    if (s.name !== METRIC_NAMES.requests) continue;
    const status = Number(s.labels["status_code"]);
    requests.push({
      key: key(s.labels),
      app: isApplicationPath(s.labels["path"] ?? ""),
      error: status >= 500 && status <= 599,
      value: s.value,
    });
  }

  const buckets: BucketCounter[] = [];
  const bucketName = METRIC_NAMES.duration + "_bucket";
  // With a TYPE line the samples sit in one family; without one, in a family
  // named after the sample name.
  const durationSamples = [
    ...(metrics.families.get(METRIC_NAMES.duration)?.samples ?? []),
    ...(metrics.families.get(bucketName)?.samples ?? []),
  ];
  for (const s of durationSamples) {
    if (s.name !== bucketName) continue;
    const le = parseFloatGo(s.labels["le"] ?? "");
    if (le === undefined || Number.isNaN(le)) continue;
    buckets.push({
      key: key(s.labels),
      app: isApplicationPath(s.labels["path"] ?? ""),
      le,
      value: s.value,
    });
  }

  return {
    at,
    instance: readInstance(metrics),
    state: readAppState(metrics),
    requests,
    buckets,
  };
}
