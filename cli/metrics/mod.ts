/**
 * Prometheus metrics of the app: a text-format parser, the app's metric
 * contract, and the window figures (request rate, error rate, P99) that the
 * status dashboard shows and the canary policy reads. Pure, except `scrape`.
 *
 * @module
 */

export type {
  AppMode,
  AppState,
  BucketCounter,
  ChaosState,
  EdgeSample,
  MetricFamily,
  MetricType,
  ParsedMetrics,
  RequestCounter,
  Sample,
  Scrape,
  WindowFigures,
} from "./_types.ts";
export { parseFloatGo, parsePrometheusText, PrometheusParseError } from "./_parse.ts";
export { type Bucket, bucketQuantile, bucketQuantileBounds } from "./_quantile.ts";
export {
  isApplicationPath,
  METRIC_NAMES,
  NON_APPLICATION_PATHS,
  readAppState,
  readInstance,
  scrapeFromMetrics,
} from "./_app_metrics.ts";
export {
  BASELINE_MAX_AGE_RATIO,
  BASELINE_MIN_AGE_RATIO,
  computeWindow,
  pickBaseline,
  RESTART_TOLERANCE_SECONDS,
  restartedBetween,
  snapshotFigures,
  type WindowOptions,
} from "./_window.ts";
export { type CanaryMetricsInput, canaryMetricsInput, windowSummary } from "./policy_input.ts";
export {
  APP_LATENCY_BUCKETS_SECONDS,
  judgeLatencyLimit,
  type LatencyLimitJudgement,
} from "./latency_limit.ts";
export { scrape, scrapeFromText, type ScrapeOptions } from "./_scrape.ts";
