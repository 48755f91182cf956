/**
 * Per-variant figures from Prometheus's answers (the `prometheus` analysis
 * source, issue 13 step 2): the PromQL queries the CLI asks, and pure
 * functions turning their instant vectors into `VariantFigures`, the same
 * shape and semantics the edge source gives. No I/O here.
 *
 * The queries follow Argo Rollouts' and Flagger's request-success-rate and
 * latency analyses, with two differences that keep them equal to the edge
 * source: increases instead of rates (the policy counts requests), and the
 * P99 judged as the upper bound of the bucket holding it instead of
 * `histogram_quantile`'s interpolation (see cli/metrics' `bucketQuantileBounds`).
 */
import { SwiftDeployError } from "../errors/mod.ts";
import { bucketQuantileBounds, NON_APPLICATION_PATHS, parseFloatGo } from "../metrics/mod.ts";
import type { VariantFigures } from "../rollout/mod.ts";

/** The two variants, in Argo Rollouts' naming. */
export const VARIANTS = ["stable", "canary"] as const;
export type Variant = (typeof VARIANTS)[number];

/** The metric families a figure is computed from. */
export interface VariantFamilies {
  /** Counter of answered requests, labelled `variant`. */
  requests: string;
  /** Label matchers (inside `{}`) selecting the requests counted as errors. */
  errorMatchers: string;
  /** Label matchers applied to every series (`""`: none). */
  commonMatchers: string;
  /** Cumulative latency buckets in seconds, labelled `variant` and `le`. */
  buckets: string;
}

/**
 * nginx's per-variant edge counters (what clients received, nginx's own 502
 * and 504 included), the same families the admin socket serves.
 */
export const EDGE_FAMILIES: Readonly<VariantFamilies> = Object.freeze({
  requests: "swiftdeploy_edge_variant_requests_total",
  errorMatchers: 'class="5xx"',
  commonMatchers: "",
  buckets: "swiftdeploy_edge_variant_request_duration_seconds_bucket",
});

/**
 * The apps' own `/metrics` (job `apps`, `variant` from the file_sd target
 * labels), application paths only (cli/metrics' NON_APPLICATION_PATHS:
 * health checks, scrapes and chaos commands are not traffic).
 */
export const APP_FAMILIES: Readonly<VariantFamilies> = Object.freeze({
  requests: "http_requests_total",
  errorMatchers: 'status_code=~"5.."',
  commonMatchers: `job="apps",path!~"${NON_APPLICATION_PATHS.join("|")}"`,
  buckets: "http_request_duration_seconds_bucket",
});

/** The instant-vector queries of one analysis window. */
export interface VariantQueries {
  requests: string;
  errors: string;
  /** Counter resets in the window (a restarted nginx or app): figures unknown. */
  resets: string;
  buckets: string;
}

/** The selector `name{matchers}` (or `name` alone). */
function selector(name: string, ...matchers: string[]): string {
  const all = matchers.filter((m) => m !== "").join(",");
  return all === "" ? name : `${name}{${all}}`;
}

/**
 * The PromQL of one window of `windowSeconds` (a whole number, at least
 * twice the scrape interval: `increase` needs two samples in the range):
 *
 * - requests: `sum by (variant) (increase(R[w]))` — the denominator of
 *   Flagger's `request-success-rate` and of Argo Rollouts' Prometheus
 *   success-rate example (`sum(irate(…[5m]))`), as a count, not a rate;
 * - errors: `sum by (variant) (increase(R{5xx}[w]))` — their numerator's
 *   complement (Flagger counts `status!~"5.*"`, we count the 5xx);
 * - buckets: `sum by (variant, le) (increase(B[w]))` — the argument of
 *   Flagger's `request-duration` (`histogram_quantile(0.99, sum(rate(B[w])) by (le))`),
 *   per variant, left to `bucketQuantileBounds` instead of interpolated;
 * - resets: `sum by (variant) (resets(R[w]))` — Prometheus's `increase`
 *   papers over a counter reset; the edge source calls such a window
 *   unknown, and so does this one.
 *
 * `increase` extrapolates to the window's ends, so counts are not whole
 * numbers and may exceed the true count by up to one scrape interval's
 * share of the window; ratios (error rate, the P99 bucket) are unaffected.
 *
 * @throws SwiftDeployError INTERNAL when `windowSeconds` is not a positive whole number
 */
export function variantQueries(
  windowSeconds: number,
  families: VariantFamilies = EDGE_FAMILIES,
): VariantQueries {
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot build PromQL for a window of ${windowSeconds} s: a positive whole number of seconds is needed`,
    );
  }
  const w = `[${windowSeconds}s]`;
  const requests = selector(families.requests, families.commonMatchers);
  const errors = selector(families.requests, families.commonMatchers, families.errorMatchers);
  const buckets = selector(families.buckets, families.commonMatchers);
  return {
    requests: `sum by (variant) (increase(${requests}${w}))`,
    errors: `sum by (variant) (increase(${errors}${w}))`,
    resets: `sum by (variant) (resets(${requests}${w}))`,
    buckets: `sum by (variant, le) (increase(${buckets}${w}))`,
  };
}

/** One sample of an instant vector: its labels and value. */
export interface VectorSample {
  metric: Record<string, string>;
  /** The value as Prometheus writes it (Go float syntax: `NaN`, `+Inf`). */
  value: number;
}

/**
 * The samples of an instant-query answer (the JSON body of
 * `GET /api/v1/query`): `{status: "success", data: {resultType: "vector",
 * result: [{metric, value: [time, "text"]}]}}`.
 *
 * @throws SwiftDeployError METRICS_INVALID naming `query` when the answer is
 *   an error (`status: "error"`, with its `errorType` and `error`), another
 *   result type, or malformed
 */
export function parseInstantVector(body: unknown, query: string): VectorSample[] {
  const fail = (why: string) =>
    new SwiftDeployError(
      "METRICS_INVALID",
      `Cannot read Prometheus's answer to "${query}": ${why}`,
      { hint: "check the query against Prometheus's /graph page, and its logs" },
    );
  if (typeof body !== "object" || body === null) throw fail("not a JSON object");
  const b = body as Record<string, unknown>;
  if (b.status === "error") {
    throw fail(`${String(b.errorType ?? "error")}: ${String(b.error ?? "no reason given")}`);
  }
  if (b.status !== "success") throw fail(`status is ${JSON.stringify(b.status)}`);
  const data = b.data as Record<string, unknown> | undefined;
  if (data?.resultType !== "vector") {
    throw fail(`result type is ${JSON.stringify(data?.resultType)}, not "vector"`);
  }
  if (!Array.isArray(data.result)) throw fail("no result list");
  return data.result.map((item: unknown, i: number) => {
    const s = item as { metric?: unknown; value?: unknown };
    const metric = s?.metric;
    const value = s?.value;
    if (
      typeof metric !== "object" || metric === null || !Array.isArray(value) ||
      value.length !== 2 || typeof value[1] !== "string"
    ) {
      throw fail(`sample ${i} is not {metric, value: [time, "text"]}`);
    }
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(metric)) {
      if (typeof v !== "string") throw fail(`sample ${i}'s label "${k}" is not text`);
      labels[k] = v;
    }
    const parsed = parseFloatGo(value[1]);
    if (parsed === undefined) throw fail(`sample ${i}'s value "${value[1]}" is not a number`);
    return { metric: labels, value: parsed };
  });
}

/** The answers of the four queries of `variantQueries`, parsed. */
export interface VariantAnswers {
  requests: VectorSample[];
  errors: VectorSample[];
  resets: VectorSample[];
  buckets: VectorSample[];
}

/** Bounds in seconds to ms without binary noise (0.015 s is 15 ms). */
function toMs(seconds: number): number {
  return Number((seconds * 1000).toPrecision(12));
}

const P99 = 0.99;

function unknownFigures(why: string): VariantFigures {
  return {
    requests: null,
    errors: null,
    error_rate_percent: null,
    p99_latency_ms: null,
    unknown: why,
  };
}

/**
 * Each variant's figures from the answers, as the edge source computes them:
 *
 * - no `requests` sample for a variant: unknown (nothing scraped over the
 *   window, or fewer than two samples of it), never zero;
 * - a counter reset in the window, or a NaN, infinite or negative count:
 *   unknown, with the reason;
 * - no `errors` sample: 0 errors (no 5xx series yet);
 * - `error_rate_percent`: 100 × errors / requests, null when requests is 0;
 * - `p99_latency_ms`: the upper bound of the bucket holding the P99 (ms);
 *   in the `+Inf` bucket, `p99_above_ms` (the highest finite bound) and a
 *   null P99; no observations: null.
 */
export function variantFiguresFromAnswers(
  answers: VariantAnswers,
  windowSeconds: number,
): Record<Variant, VariantFigures> {
  const of = (samples: VectorSample[], variant: Variant) =>
    samples.filter((s) => s.metric.variant === variant);
  const out = {} as Record<Variant, VariantFigures>;
  for (const variant of VARIANTS) {
    const requests = of(answers.requests, variant);
    if (requests.length === 0) {
      out[variant] = unknownFigures(
        `Prometheus has no request counts of the ${variant} variant over the last ${windowSeconds} s`,
      );
      continue;
    }
    const resets = of(answers.resets, variant).reduce((n, s) => n + s.value, 0);
    if (resets > 0) {
      out[variant] = unknownFigures(
        `a request counter of the ${variant} variant was reset within the last ${windowSeconds} s`,
      );
      continue;
    }
    const count = requests.reduce((n, s) => n + s.value, 0);
    const errors = of(answers.errors, variant).reduce((n, s) => n + s.value, 0);
    if (![count, errors].every((v) => Number.isFinite(v) && v >= 0)) {
      out[variant] = unknownFigures(
        `Prometheus gave the ${variant} variant ${count} requests and ${errors} errors`,
      );
      continue;
    }
    const figures: VariantFigures = {
      requests: count,
      errors,
      error_rate_percent: count > 0 ? (100 * errors) / count : null,
      p99_latency_ms: null,
    };
    const byLe = new Map<number, number>();
    for (const s of of(answers.buckets, variant)) {
      const le = parseFloatGo(s.metric.le ?? "");
      if (le === undefined) continue;
      byLe.set(le, (byLe.get(le) ?? 0) + s.value);
    }
    const buckets = [...byLe].map(([le, c]) => ({ le, count: c }));
    const bounds = buckets.every((b) => Number.isFinite(b.count) && b.count >= 0)
      ? bucketQuantileBounds(P99, buckets)
      : undefined;
    if (bounds?.upper === Infinity) figures.p99_above_ms = toMs(bounds.lower);
    else if (bounds) figures.p99_latency_ms = toMs(bounds.upper);
    out[variant] = figures;
  }
  return out;
}
