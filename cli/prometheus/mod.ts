/**
 * The `prometheus` analysis source (issue 13 step 2): per-variant figures
 * over a window from the stack's Prometheus, asked in PromQL as Argo
 * Rollouts and Flagger ask theirs. The queries and their parsing are pure
 * (`_figures.ts`); `queryInstant` is the HTTP shell.
 *
 * @module
 */
import type { VariantFigures } from "../rollout/mod.ts";
import { queryInstant, type QueryOptions } from "./_client.ts";
import {
  EDGE_FAMILIES,
  type Variant,
  type VariantFamilies,
  variantFiguresFromAnswers,
  variantQueries,
} from "./_figures.ts";

export { queryInstant, type QueryOptions } from "./_client.ts";
export {
  APP_FAMILIES,
  EDGE_FAMILIES,
  parseInstantVector,
  type Variant,
  type VariantAnswers,
  type VariantFamilies,
  variantFiguresFromAnswers,
  type VariantQueries,
  variantQueries,
  VARIANTS,
  type VectorSample,
} from "./_figures.ts";

export interface VariantFiguresOptions extends QueryOptions {
  /** Which metric families (default: nginx's edge counters, `EDGE_FAMILIES`). */
  families?: VariantFamilies;
}

/**
 * Each variant's figures over the `windowSeconds` ending now (or `at`),
 * from the Prometheus at `baseUrl`: the four queries of `variantQueries`
 * asked at the same evaluation time, turned into `VariantFigures` by
 * `variantFiguresFromAnswers` (requests and 5xx as `increase`s, the P99 as
 * the upper bound of its bucket, unknown where Prometheus has no data or a
 * counter was reset).
 *
 * @throws SwiftDeployError METRICS_UNREACHABLE / METRICS_INVALID (see `queryInstant`)
 */
export async function prometheusVariantFigures(
  baseUrl: string,
  windowSeconds: number,
  opts: VariantFiguresOptions = {},
): Promise<Record<Variant, VariantFigures>> {
  const queries = variantQueries(windowSeconds, opts.families ?? EDGE_FAMILIES);
  const at = opts.at ?? new Date();
  const ask = (q: string) =>
    queryInstant(baseUrl, q, { at, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
  const [requests, errors, resets, buckets] = await Promise.all([
    ask(queries.requests),
    ask(queries.errors),
    ask(queries.resets),
    ask(queries.buckets),
  ]);
  return variantFiguresFromAnswers({ requests, errors, resets, buckets }, windowSeconds);
}
