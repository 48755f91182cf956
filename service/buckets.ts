/**
 * The app's latency histogram buckets (\`http_request_duration_seconds\`), in
 * seconds: part of the app's metrics contract, read by the app (prom-client)
 * and by the CLI (which P99 limits a bucket bound judges exactly). No
 * imports, so the CLI loads nothing of the app with it.
 */

/**
 * Fine below 25 ms so a P99 of a few milliseconds is measurable, up to 10 s
 * for slow chaos (which may reach 30 s: those land in +Inf).
 */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.0075,
  0.01,
  0.015,
  0.02,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
]);
