/**
 * nginx's per-variant edge figures (issue 13 item 4), served beside the
 * totals on the admin socket's /edge-metrics (templates/nginx.conf.tmpl,
 * `M.edge_metrics`), and the window between two readings. Pure.
 *
 * | metric                                                  | type      | labels                              |
 * |---------------------------------------------------------|-----------|-------------------------------------|
 * | `swiftdeploy_edge_variant_requests_total`               | counter   | variant, class                      |
 * | `swiftdeploy_edge_variant_request_duration_seconds`     | histogram | variant (+ le); service/buckets.ts  |
 * | `swiftdeploy_edge_route_info`                           | gauge     | variant, address, version, container|
 * | `swiftdeploy_edge_canary_weight`                        | gauge     |                                     |
 * | `swiftdeploy_edge_routes_revision`                      | gauge     | (0: no routing table)               |
 *
 * A request counts under the variant chosen for it (header pin, sticky
 * cookie or weight), with the status the client received (nginx's own 502
 * and 504 included) and `$request_time`; the same paths as the totals are
 * left out (/healthz, /metrics, /chaos).
 */
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import {
  type Bucket,
  bucketQuantileBounds,
  type MetricFamily,
  parsePrometheusText,
} from "../metrics/mod.ts";
import { EDGE_CLASSES, EDGE_METRIC_NAMES } from "./_parse_edge.ts";

export const VARIANT_METRIC_NAMES = {
  requests: "swiftdeploy_edge_variant_requests_total",
  duration: "swiftdeploy_edge_variant_request_duration_seconds",
  route: "swiftdeploy_edge_route_info",
  weight: "swiftdeploy_edge_canary_weight",
  revision: "swiftdeploy_edge_routes_revision",
} as const;

/** The variants nginx routes to (Argo Rollouts' names). */
export const VARIANTS = ["stable", "canary"] as const;
export type Variant = (typeof VARIANTS)[number];

/** The app container a variant was sent to when nginx was read. */
export interface VariantRoute {
  address: string;
  version: string;
  container: string;
}

/** One variant's lifetime counts in one reading. */
export interface VariantCounts {
  /** Requests by status class (`EDGE_CLASSES`). */
  classes: Record<(typeof EDGE_CLASSES)[number], number>;
  /** Cumulative latency buckets, seconds, ending with `le: Infinity`. */
  buckets: Bucket[];
  /** Sum of `$request_time`, seconds. */
  sum: number;
  count: number;
  /** Absent: no container is routed as this variant. */
  route?: VariantRoute;
}

/** One reading of the per-variant figures. */
export interface VariantSample {
  /** Epoch ms, when the answer arrived. */
  atMs: number;
  /** The counting nginx (another id: its counters restarted from zero). */
  instance: string;
  /** Revision of the routing table in effect (0: none). */
  revision: number;
  /** The canary's percent of unpinned traffic (0 without a canary). */
  weight: number;
  variants: Record<Variant, VariantCounts>;
}

/**
 * One variant's figures over a window, in the shape of cli/rollout's
 * `VariantFigures` (what the `swiftdeploy.rollout` policy judges).
 */
export interface VariantWindowFigures {
  requests: number | null;
  /** 5xx answers. */
  errors: number | null;
  error_rate_percent: number | null;
  /** Upper bound of the latency bucket holding the P99, ms; null when unknown or beyond the buckets. */
  p99_latency_ms: number | null;
  /** Set when the P99 lies beyond the highest finite bucket: that bound, ms (a lower bound). */
  p99_above_ms?: number;
  /** Why the figures are unknown. */
  unknown?: string;
}

function invalid(detail: string): SwiftDeployError {
  return new SwiftDeployError(
    "METRICS_INVALID",
    `Cannot read the per-variant edge figures: ${detail}`,
    {
      exitCode: ExitCode.failure,
      hint:
        "the nginx config does not count per variant: run `swiftdeploy init`, then `swiftdeploy deploy`",
    },
  );
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

function variantOf(labels: Readonly<Record<string, string>>, line: number): Variant {
  const v = labels["variant"];
  if (v !== "stable" && v !== "canary") throw invalid(`line ${line}: unknown variant "${v ?? ""}"`);
  return v;
}

function single(families: ReadonlyMap<string, MetricFamily>, name: string): number {
  const s = family(families, name, "gauge").samples;
  if (s.length !== 1) throw invalid(`"${name}" must have exactly one sample`);
  return s[0]!.value;
}

/**
 * Reads the per-variant figures of an /edge-metrics text taken at `atMs`.
 * Values pass as given (NaN or negative included): the window judges them.
 *
 * @throws PrometheusParseError (METRICS_INVALID) when the text is not
 *   Prometheus text; METRICS_INVALID when a family is missing or of another
 *   type, a variant or class is unknown or missing, a variant's histogram
 *   has no `+Inf` bucket or lacks `_sum`/`_count`, a variant has two routes,
 *   or the instance is not exactly one id
 */
export function variantSampleFromText(text: string, atMs: number): VariantSample {
  const { families } = parsePrometheusText(text);
  const info = family(families, EDGE_METRIC_NAMES.instance, "gauge").samples;
  const instance = info.length === 1 ? info[0]!.labels["instance"] : undefined;
  if (!instance) {
    throw invalid(`"${EDGE_METRIC_NAMES.instance}" must name exactly one non-empty instance`);
  }
  const classes = new Map<Variant, Map<string, number>>(VARIANTS.map((v) => [v, new Map()]));
  for (const s of family(families, VARIANT_METRIC_NAMES.requests, "counter").samples) {
    const c = s.labels["class"];
    if (c === undefined || !(EDGE_CLASSES as readonly string[]).includes(c)) {
      throw invalid(`line ${s.line}: unknown class "${c ?? ""}"`);
    }
    classes.get(variantOf(s.labels, s.line))!.set(c, s.value);
  }
  const hist = new Map<Variant, { buckets: Bucket[]; sum?: number; count?: number }>(
    VARIANTS.map((v) => [v, { buckets: [] }]),
  );
  const d = VARIANT_METRIC_NAMES.duration;
  for (const s of family(families, d, "histogram").samples) {
    const h = hist.get(variantOf(s.labels, s.line))!;
    if (s.name === `${d}_bucket`) {
      const le = s.labels["le"];
      const bound = le === "+Inf" ? Infinity : Number(le);
      if (le === undefined || le === "" || Number.isNaN(bound)) {
        throw invalid(`line ${s.line}: bucket bound "${le ?? ""}" is not a number`);
      }
      h.buckets.push({ le: bound, count: s.value });
    } else if (s.name === `${d}_sum`) h.sum = s.value;
    else if (s.name === `${d}_count`) h.count = s.value;
  }
  const routes = new Map<Variant, VariantRoute>();
  for (const s of family(families, VARIANT_METRIC_NAMES.route, "gauge").samples) {
    const v = variantOf(s.labels, s.line);
    if (routes.has(v)) throw invalid(`line ${s.line}: a second route for "${v}"`);
    const { address, version, container } = s.labels;
    if (!address || version === undefined) {
      throw invalid(`line ${s.line}: a route needs an address and a version`);
    }
    routes.set(v, { address, version, container: container ?? "" });
  }
  const variants = {} as Record<Variant, VariantCounts>;
  for (const v of VARIANTS) {
    const byClass = classes.get(v)!;
    for (const c of EDGE_CLASSES) {
      if (!byClass.has(c)) throw invalid(`no "${c}" count for "${v}"`);
    }
    const h = hist.get(v)!;
    if (!h.buckets.some((b) => b.le === Infinity)) {
      throw invalid(`"${d}" has no +Inf bucket for "${v}"`);
    }
    if (h.sum === undefined || h.count === undefined) {
      throw invalid(`"${d}" lacks _sum or _count for "${v}"`);
    }
    const route = routes.get(v);
    variants[v] = {
      classes: Object.fromEntries(byClass) as VariantCounts["classes"],
      buckets: h.buckets.sort((a, b) => a.le - b.le),
      sum: h.sum,
      count: h.count,
      ...(route ? { route } : {}),
    };
  }
  return {
    atMs,
    instance,
    revision: single(families, VARIANT_METRIC_NAMES.revision),
    weight: single(families, VARIANT_METRIC_NAMES.weight),
    variants,
  };
}

/** Seconds to ms without binary noise (0.015 s is 15 ms, not 15.000000000000002). */
function toMs(seconds: number): number {
  return Number((seconds * 1000).toPrecision(12));
}

function sameRoute(a: VariantRoute | undefined, b: VariantRoute | undefined): boolean {
  return a !== undefined && b !== undefined && a.address === b.address &&
    a.version === b.version && a.container === b.container;
}

const valid = (n: number) => Number.isFinite(n) && n >= 0;

function unknownFigures(why: string): VariantWindowFigures {
  return {
    requests: null,
    errors: null,
    error_rate_percent: null,
    p99_latency_ms: null,
    unknown: why,
  };
}

/**
 * Each variant's figures between two readings `start` and `end` (the same
 * rules as the edge totals' window, cli/metrics):
 *
 * - one nginx instance: the differences of the counts;
 * - another instance at `end` (nginx restarted, its counters from zero):
 *   `end`'s own counts;
 * - the variant routed to another container at the two readings (address,
 *   version or container differs), or not routed at one of them: unknown —
 *   the counts would mix two containers;
 * - a NaN, infinite or negative count, or one that went down within one
 *   instance, or `end` before `start`: unknown.
 *
 * `requests` sums every status class, `errors` is the 5xx class,
 * `error_rate_percent` = 100 × errors / requests (null with no requests),
 * and the P99 is placed in its bucket with cli/metrics'
 * `bucketQuantileBounds` (PromQL's `histogram_quantile` rules): its upper
 * bound in ms, or, when it lies in `+Inf`, `p99_latency_ms` null and
 * `p99_above_ms` the highest finite bound. No requests: P99 null.
 */
export function variantWindow(
  start: VariantSample,
  end: VariantSample,
): Record<Variant, VariantWindowFigures> {
  const out = {} as Record<Variant, VariantWindowFigures>;
  for (const v of VARIANTS) out[v] = variantFigures(v, start, end);
  return out;
}

function variantFigures(
  v: Variant,
  start: VariantSample,
  end: VariantSample,
): VariantWindowFigures {
  if (end.atMs < start.atMs) return unknownFigures("the readings are not in time order");
  const a = start.variants[v];
  const b = end.variants[v];
  if (!a.route && !b.route) return unknownFigures(`no container is routed as ${v}`);
  if (!sameRoute(a.route, b.route)) {
    const was = a.route ? `${a.route.container} ${a.route.address}` : "none";
    const now = b.route ? `${b.route.container} ${b.route.address}` : "none";
    return unknownFigures(`the ${v} route changed during the window (${was} → ${now})`);
  }
  const restarted = start.instance !== end.instance;
  const counts = [...Object.values(b.classes), ...b.buckets.map((x) => x.count)];
  if (!restarted) counts.push(...Object.values(a.classes), ...a.buckets.map((x) => x.count));
  if (!counts.every(valid)) return unknownFigures(`a ${v} count is not a non-negative number`);
  const diff = (x: number, y: number) => (restarted ? y : y - x);
  let requests = 0;
  for (const c of EDGE_CLASSES) {
    const d = diff(a.classes[c], b.classes[c]);
    if (d < 0) return unknownFigures(`${v} counters went down without a restart`);
    requests += d;
  }
  const errors = diff(a.classes["5xx"], b.classes["5xx"]);
  const buckets: Bucket[] = [];
  for (const bb of b.buckets) {
    const before = a.buckets.find((x) => x.le === bb.le);
    if (!restarted && before === undefined) {
      return unknownFigures(`the ${v} latency buckets differ between the readings`);
    }
    const d = diff(before?.count ?? 0, bb.count);
    if (d < 0) return unknownFigures(`${v} counters went down without a restart`);
    buckets.push({ le: bb.le, count: d });
  }
  const figures: VariantWindowFigures = {
    requests,
    errors,
    error_rate_percent: requests > 0 ? (100 * errors) / requests : null,
    p99_latency_ms: null,
  };
  const p99 = requests > 0 ? bucketQuantileBounds(0.99, buckets) : undefined;
  if (p99 && p99.upper === Infinity) figures.p99_above_ms = toMs(p99.lower);
  else if (p99) figures.p99_latency_ms = toMs(p99.upper);
  return figures;
}
