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
  ChaosState,
  MetricFamily,
  MetricType,
  ParsedMetrics,
  Sample,
  Scrape,
  WindowFigures,
} from "./_types.ts";
export { parseFloatGo, parsePrometheusText, PrometheusParseError } from "./_parse.ts";
export { type Bucket, bucketQuantile } from "./_quantile.ts";
export {
  isApplicationPath,
  METRIC_NAMES,
  NON_APPLICATION_PATHS,
  readAppState,
} from "./_app_metrics.ts";
export {
  BASELINE_MAX_AGE_RATIO,
  BASELINE_MIN_AGE_RATIO,
  computeWindow,
  pickBaseline,
  snapshotFigures,
} from "./_window.ts";
export { scrape, type ScrapeOptions } from "./_scrape.ts";
