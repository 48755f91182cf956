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

/** One scrape of the app's `/metrics`, kept in memory (never the raw text). */
export interface Scrape {
  /** When the scrape was taken, epoch milliseconds. */
  readonly at: number;
  readonly text?: never;
  readonly series: ParsedMetrics;
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
 * Figures the policies and the dashboard read. Field names are snake_case
 * because they go as they are into policy input and history events.
 */
export interface WindowFigures {
  /** "window": the delta between two scrapes; "lifetime": one scrape's totals since start. */
  readonly basis: "window" | "lifetime";
  /**
   * Seconds the figures cover: the time between the scrapes (after a reset,
   * at most the newer scrape's uptime); for "lifetime", the app's uptime,
   * null when `app_uptime_seconds` is missing.
   */
  readonly seconds: number | null;
  /** Application requests (paths other than /healthz, /metrics, /chaos). */
  readonly request_count: number;
  /** Application requests answered with a 5xx status. */
  readonly error_count: number;
  /** null when `seconds` is null or 0. */
  readonly requests_per_second: number | null;
  /** 5xx share of application requests in percent; null when there were no requests. */
  readonly error_rate_percent: number | null;
  /** PromQL-style interpolated 99th percentile in ms; null when no observations. */
  readonly p99_latency_ms: number | null;
  /** True when the app restarted between the scrapes (counters were reset). */
  readonly reset: boolean;
}
