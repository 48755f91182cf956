/**
 * Types shared by the parser, the app contract and the window figures.
 */

/** The family types of the Prometheus text format (0.0.4). */
export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

/** One sample line: `name{labels} value [timestamp]`. */
export interface Sample {
  /** The name as written, e.g. `http_request_duration_seconds_bucket`. */
  readonly name: string;
  /** Label values with escapes resolved. */
  readonly labels: Readonly<Record<string, string>>;
  /** The value; `+Inf`, `-Inf` and `NaN` become the matching numbers. */
  readonly value: number;
  /** Milliseconds since the epoch, only when the line carried a timestamp. */
  readonly timestampMs?: number;
  /** 1-based line number in the parsed text. */
  readonly line: number;
}

/** Every sample of one metric, grouped under its `# TYPE` name. */
export interface MetricFamily {
  /** Family name: for a histogram `x`, its samples are `x_bucket`, `x_sum`, `x_count`. */
  readonly name: string;
  readonly type: MetricType;
  /** `# HELP` text with escapes resolved, when given. */
  readonly help?: string;
  readonly samples: readonly Sample[];
}

/** The result of parsing one exposition text. */
export interface ParsedMetrics {
  /** Families by name, in the order they first appeared. */
  readonly families: ReadonlyMap<string, MetricFamily>;
  /** Number of sample lines. */
  readonly sampleCount: number;
}

/** Deployment mode reported by the `app_mode` gauge. */
export type AppMode = "stable" | "canary";

/** Chaos state reported by the `chaos_active` gauge. */
export type ChaosState = "none" | "slow" | "error";

/** The app's gauges; null when the gauge is missing or holds an unknown value. */
export interface AppState {
  readonly mode: AppMode | null;
  readonly chaos: ChaosState | null;
  readonly uptime_seconds: number | null;
}

/**
 * One `http_requests_total` series of a scrape, reduced to its class.
 * `value` is kept as served: NaN, ±Infinity or a negative number make the
 * window's request figures unknown rather than being dropped here.
 */
export interface RequestCounter {
  /** Canonical series key (label names and values), stable across scrapes of one process. */
  readonly key: string;
  /** True for application paths (not /healthz, /metrics, /chaos). */
  readonly app: boolean;
  /** True for a 5xx `status_code`. */
  readonly error: boolean;
  readonly value: number;
}

/** One cumulative `http_request_duration_seconds_bucket` series of a scrape. */
export interface BucketCounter {
  /** Canonical series key (label names and values, `le` included). */
  readonly key: string;
  /** True for application paths. */
  readonly app: boolean;
  /** Upper bound in seconds; `Infinity` for the `+Inf` bucket. */
  readonly le: number;
  /** Cumulative count, as served (may be invalid, see RequestCounter). */
  readonly value: number;
}

/**
 * One scrape of the app's `/metrics`, reduced to the figures a window needs
 * (never the raw text): this is also what `.swiftdeploy/scrapes` keeps.
 */
export interface Scrape {
  /** When the scrape was taken, epoch milliseconds. */
  readonly at: number;
  /**
   * The serving process's id from `app_instance_info{instance="…"}`; null
   * for an app that does not export it (then only the uptime tells a restart).
   */
  readonly instance: string | null;
  /** The app's gauges (mode, chaos, uptime in seconds). */
  readonly state: AppState;
  readonly requests: readonly RequestCounter[];
  readonly buckets: readonly BucketCounter[];
}

/**
 * Request counts measured where clients receive the answers (nginx): one
 * reading of the edge's cumulative counters. A series of these, oldest
 * first, replaces the app's request counters in a window (see
 * `computeWindow`), so errors the proxy produced itself (502, 504) count.
 */
export interface EdgeSample {
  /** When the counters were read, epoch milliseconds. */
  readonly atMs: number;
  /**
   * Identity of the counting process (e.g. the nginx container and its
   * start); a different value from one sample to the next is a counter reset.
   */
  readonly instance: string;
  /** Application requests answered to clients since `instance` started (cumulative). */
  readonly requests: number;
  /** Of those, answered with a 5xx status, whoever produced it (cumulative). */
  readonly errors: number;
}

/**
 * Figures the policies and the dashboard read. Field names are snake_case
 * because they go as they are into policy input and history events.
 */
export interface WindowFigures {
  /** "window": the increase between two scrapes; "lifetime": one scrape's totals since start. */
  readonly basis: "window" | "lifetime";
  /**
   * Seconds the figures cover: the time between the scrapes (after a
   * restart, at most the newer process's uptime); for "lifetime", the app's
   * uptime, null when `app_uptime_seconds` is missing.
   */
  readonly seconds: number | null;
  /** Where request_count and the error figures were counted: the app, or the edge (nginx). */
  readonly requests_source: "app" | "edge";
  /** Application requests; null when unknown (see `unknown`). */
  readonly request_count: number | null;
  /** Application requests answered with a 5xx status; null when unknown. */
  readonly error_count: number | null;
  /** null when the count is unknown or `seconds` is null or 0. */
  readonly requests_per_second: number | null;
  /** 5xx share of application requests in percent; null when unknown or there were no requests. */
  readonly error_rate_percent: number | null;
  /**
   * PromQL's interpolated 99th percentile in ms (`histogram_quantile`), for
   * display; null when unknown, when there were no observations, or when it
   * lies beyond the highest finite bucket (see `p99_above_ms`).
   */
  readonly p99_latency_ms: number | null;
  /**
   * Upper bound in ms of the latency bucket holding the 99th percentile: at
   * least 99 % of the observations took at most this long. This is the
   * figure the canary gate judges (exact when the limit is a bucket bound).
   * null exactly when `p99_latency_ms` is.
   */
  readonly p99_bound_ms: number | null;
  /**
   * Set when the 99th percentile lies in the `+Inf` bucket: the highest
   * finite bound in ms, which the P99 exceeds (a lower bound, not a value).
   */
  readonly p99_above_ms: number | null;
  /**
   * Why a figure is null although observations exist, per policy input
   * field (`request_count`, `error_rate_percent`, `p99_latency_ms`): a NaN,
   * infinite or negative counter, or one that went down without a restart.
   */
  readonly unknown: Readonly<Record<string, string>>;
  /** True when the app (or the edge) restarted between the scrapes (counters were reset). */
  readonly reset: boolean;
}
