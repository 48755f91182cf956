/**
 * The only I/O of this folder: one GET of a `/metrics` URL, parsed and
 * reduced to the figures a window needs.
 */

import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { parsePrometheusText } from "./_parse.ts";
import { scrapeFromMetrics } from "./_app_metrics.ts";
import type { Scrape } from "./_types.ts";

/** Options of `scrape`. */
export interface ScrapeOptions {
  /** Clock for `Scrape.at`, epoch ms (tests pin it). */
  now?: () => number;
  /** Extra request headers (e.g. the rollout's pin header, so one variant answers). */
  headers?: Record<string, string>;
}

/**
 * One exposition text reduced to a `Scrape` taken at `at` (epoch ms).
 * Throws PrometheusParseError (METRICS_INVALID, with the line number).
 */
export function scrapeFromText(text: string, at: number): Scrape {
  return scrapeFromMetrics(parsePrometheusText(text), at);
}

/**
 * Fetches and parses `url` within `timeoutMs`. `at` is taken when the
 * response arrived. Throws METRICS_UNREACHABLE (connection, timeout, non-200)
 * or METRICS_INVALID (the body is not Prometheus text).
 */
export async function scrape(
  url: string,
  timeoutMs: number,
  options: ScrapeOptions = {},
): Promise<Scrape> {
  const now = options.now ?? Date.now;
  let response: Response;
  try {
    response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: "text/plain;version=0.0.4", ...options.headers },
    });
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    throw new SwiftDeployError(
      "METRICS_UNREACHABLE",
      timedOut
        ? `Cannot scrape metrics from "${url}": no answer within ${timeoutMs} ms`
        : `Cannot scrape metrics from "${url}": ${
          error instanceof Error ? error.message : String(error)
        }`,
      {
        exitCode: ExitCode.failure,
        hint: "check that the stack is deployed and healthy",
        cause: error,
      },
    );
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new SwiftDeployError(
      "METRICS_UNREACHABLE",
      `Cannot scrape metrics from "${url}": reading the body failed`,
      { exitCode: ExitCode.failure, cause: error },
    );
  }
  const at = now();
  if (response.status !== 200) {
    throw new SwiftDeployError(
      "METRICS_UNREACHABLE",
      `Cannot scrape metrics from "${url}": HTTP ${response.status}`,
      { exitCode: ExitCode.failure, hint: "check that the stack is deployed and healthy" },
    );
  }
  return scrapeFromText(text, at);
}
