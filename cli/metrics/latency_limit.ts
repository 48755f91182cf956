/**
 * How the canary gate judges a P99 limit against the app's latency buckets
 * (issue 11 cases 3 and 4), for `validate`. Pure.
 *
 * The gate proves "P99 <= limit" from bucket counts only: it takes the
 * upper bound u of the bucket holding the 99th percentile and passes when
 * u <= limit (see `bucketQuantileBounds`). Hence:
 *
 * - a limit that is a bucket bound is judged exactly (99 % of the requests
 *   at or below it, or not);
 * - a limit inside a bucket (a, b) acts as a, the largest bound below it
 *   (conservative: a P99 between a and the limit is denied);
 * - a limit below the smallest bound can never be met;
 * - a limit above the highest finite bound acts as that bound: a P99 beyond
 *   it is only known as a lower bound and is always denied.
 *
 * @module
 */

import { DURATION_BUCKETS } from "../../service/buckets.ts";

/**
 * The app's latency bucket bounds in seconds (\`http_request_duration_seconds\`),
 * part of the app contract: service/buckets.ts, the one list the app uses.
 */
export const APP_LATENCY_BUCKETS_SECONDS: readonly number[] = DURATION_BUCKETS;

/** Seconds to ms without binary noise (0.015 s is 15 ms). */
function ms(seconds: number): number {
  return Number((seconds * 1000).toPrecision(12));
}

/** The verdict on one limit: `ok` false when the limit cannot be enforced as written. */
export interface LatencyLimitJudgement {
  readonly ok: boolean;
  /** One sentence saying how the limit is judged. */
  readonly detail: string;
  /** The limit the gate effectively applies, in ms; null when none can pass. */
  readonly effective_ms: number | null;
}

/**
 * How a P99 limit of `limitMs` is judged over buckets `bucketsSeconds`
 * (finite upper bounds, seconds, any order; default the app's). See the
 * module comment for the rules.
 */
export function judgeLatencyLimit(
  limitMs: number,
  bucketsSeconds: readonly number[] = APP_LATENCY_BUCKETS_SECONDS,
): LatencyLimitJudgement {
  const bounds = [...new Set(bucketsSeconds.filter(Number.isFinite).map(ms))].sort((a, b) => a - b);
  const top = bounds.at(-1);
  if (top === undefined) {
    return { ok: false, detail: "the app has no finite latency bucket", effective_ms: null };
  }
  if (limitMs > top) {
    return {
      ok: false,
      detail: `${limitMs} ms is above the app's highest latency bucket (${top} ms): a P99 beyond ` +
        `it is only known as a lower bound and always denied, so the limit acts as ${top} ms; ` +
        `set policy_limits.canary.max_p99_latency_ms to at most ${top}`,
      effective_ms: top,
    };
  }
  if (limitMs === top) {
    return {
      ok: true,
      detail: `${limitMs} ms is the app's highest latency bucket: judged exactly on its count; ` +
        `a P99 beyond it is always denied`,
      effective_ms: top,
    };
  }
  if (bounds.includes(limitMs)) {
    return {
      ok: true,
      detail: `${limitMs} ms is a latency bucket bound: judged exactly ` +
        `(at least 99 % of requests at or below ${limitMs} ms)`,
      effective_ms: limitMs,
    };
  }
  const below = bounds.filter((b) => b < limitMs).at(-1);
  if (below === undefined) {
    return {
      ok: false,
      detail: `${limitMs} ms is below the app's smallest latency bucket (${bounds[0]} ms): ` +
        `no P99 can be shown within it`,
      effective_ms: null,
    };
  }
  const above = bounds.find((b) => b > limitMs)!;
  return {
    ok: true,
    detail: `${limitMs} ms is inside the latency bucket (${below}, ${above}] ms: judged on the ` +
      `bucket's upper bound, so it acts as ${below} ms (at least 99 % of requests at or below ` +
      `${below} ms); a limit of ${below} or ${above} is judged exactly`,
    effective_ms: below,
  };
}
