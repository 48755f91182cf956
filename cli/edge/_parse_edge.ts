/**
 * The edge counters nginx serves on its admin socket (templates/nginx.conf.tmpl,
 * `location = /edge-metrics`), read into an `EdgeSample`. Pure.
 *
 * The text is Prometheus exposition format 0.0.4:
 *
 * | metric                                | type    | labels                                |
 * |---------------------------------------|---------|---------------------------------------|
 * | `swiftdeploy_edge_requests_total`     | counter | class: 1xx, 2xx, 3xx, 4xx, 5xx, other |
 * | `swiftdeploy_edge_instance_info`      | gauge   | instance (new at every nginx start)   |
 * | `swiftdeploy_edge_start_time_seconds` | gauge   |                                       |
 *
 * Counted are application requests as the app counts them (every path but
 * /healthz, /metrics and /chaos), by the status clients received, nginx's
 * own 502 and 504 included.
 */
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { type EdgeSample, type MetricFamily, parsePrometheusText } from "../metrics/mod.ts";

export const EDGE_METRIC_NAMES = {
  requests: "swiftdeploy_edge_requests_total",
  instance: "swiftdeploy_edge_instance_info",
  startTime: "swiftdeploy_edge_start_time_seconds",
} as const;

/** The status classes nginx counts (`other`: no status, or one outside 100–599). */
export const EDGE_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"] as const;

function invalid(detail: string): SwiftDeployError {
  return new SwiftDeployError("METRICS_INVALID", `Cannot read the edge counters: ${detail}`, {
    exitCode: ExitCode.failure,
    hint:
      "the nginx image or its config does not count at the edge: run `swiftdeploy build`, then deploy",
  });
}

function family(
  families: ReadonlyMap<string, MetricFamily>,
  name: string,
  type: MetricFamily["type"],
): MetricFamily {
  const f = families.get(name);
  if (!f) throw invalid(`"${name}" is missing`);
  if (f.type !== type) throw invalid(`"${name}" is a ${f.type}, expected a ${type}`);
  return f;
}

/**
 * Reads nginx's edge counters, as served at `atMs` (epoch ms), into an
 * `EdgeSample`: `requests` is the sum over every class, `errors` the 5xx
 * class, `instance` the id nginx drew at its start (kept across reloads), so
 * another id means the counters restarted from zero. Values are passed on
 * as given (NaN or negative included): the window judges them.
 *
 * @throws PrometheusParseError (METRICS_INVALID) when the text is not
 *   Prometheus text; METRICS_INVALID when a family is missing or of another
 *   type, a class is missing or unknown, or the instance is not exactly one
 *   non-empty id.
 */
export function edgeSampleFromText(text: string, atMs: number): EdgeSample {
  const { families } = parsePrometheusText(text);
  const byClass = new Map<string, number>();
  for (const s of family(families, EDGE_METRIC_NAMES.requests, "counter").samples) {
    const c = s.labels["class"];
    if (c === undefined || !(EDGE_CLASSES as readonly string[]).includes(c)) {
      throw invalid(`line ${s.line}: unknown class "${c ?? ""}"`);
    }
    byClass.set(c, s.value);
  }
  for (const c of EDGE_CLASSES) {
    if (!byClass.has(c)) throw invalid(`no "${c}" count in "${EDGE_METRIC_NAMES.requests}"`);
  }
  const info = family(families, EDGE_METRIC_NAMES.instance, "gauge").samples;
  const instance = info.length === 1 ? info[0]!.labels["instance"] : undefined;
  if (!instance) {
    throw invalid(`"${EDGE_METRIC_NAMES.instance}" must name exactly one non-empty instance`);
  }
  let requests = 0;
  for (const v of byClass.values()) requests += v;
  return { atMs, instance, requests, errors: byClass.get("5xx")! };
}
