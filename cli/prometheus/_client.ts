/**
 * A client for Prometheus's HTTP API: instant queries (`GET /api/v1/query`).
 * The shell of cli/prometheus: everything it reads is handed to the pure
 * parser in `_figures.ts`.
 */
import { SwiftDeployError } from "../errors/mod.ts";
import { parseInstantVector, type VectorSample } from "./_figures.ts";

export interface QueryOptions {
  /** Evaluation time (default: Prometheus's now). */
  at?: Date;
  /** Whole request, ms (default 5,000). */
  timeoutMs?: number;
}

/**
 * Runs one instant query against the Prometheus at `baseUrl` (e.g.
 * `http://127.0.0.1:9090`) and returns its vector's samples.
 *
 * @throws SwiftDeployError METRICS_UNREACHABLE naming the query when
 *   Prometheus does not answer (refused, timed out); METRICS_INVALID when it
 *   answers with an error (bad query, HTTP 4xx/5xx with Prometheus's
 *   `errorType` and `error`) or with something that is not a vector
 */
export async function queryInstant(
  baseUrl: string,
  query: string,
  opts: QueryOptions = {},
): Promise<VectorSample[]> {
  const url = new URL("/api/v1/query", baseUrl);
  url.searchParams.set("query", query);
  if (opts.at) url.searchParams.set("time", (opts.at.getTime() / 1000).toFixed(3));
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000) });
    text = await res.text();
  } catch (cause) {
    throw new SwiftDeployError(
      "METRICS_UNREACHABLE",
      `Cannot query Prometheus at "${baseUrl}" for "${query}": ${(cause as Error).message}`,
      { cause, hint: "check that the stack's Prometheus runs (`swiftdeploy status`)" },
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new SwiftDeployError(
      "METRICS_INVALID",
      `Cannot read Prometheus's answer to "${query}": HTTP ${res.status}, not JSON`,
    );
  }
  // An error answer (400 bad_data, 422 execution, 503 timeout) carries its reason in the body.
  return parseInstantVector(body, query);
}
