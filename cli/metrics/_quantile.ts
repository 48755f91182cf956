/**
 * Quantile of a classic (bucketed) histogram, computed the way PromQL's
 * `histogram_quantile(q, sum by (le) (...))` does, so the figure the CLI
 * shows and gates on is the one a Prometheus server would give:
 *
 * - buckets are sorted by upper bound; buckets with the same bound are merged;
 * - counts that differ by a relative 1e-12 are treated as equal (float noise),
 *   and a count lower than an earlier bucket's is raised to it (monotonic);
 * - no `+Inf` bucket, fewer than 2 buckets, or 0 observations: NaN;
 * - the rank is `q * observations`; the first bucket whose cumulative count is
 *   at least the rank holds the quantile;
 * - if that is the `+Inf` bucket, the upper bound of the highest finite bucket
 *   is returned;
 * - in the lowest bucket, the value is interpolated from 0 (or that bucket's
 *   bound is returned when it is <= 0);
 * - otherwise linear interpolation between the bucket's lower and upper bound.
 * q < 0 gives -Inf, q > 1 gives +Inf, NaN gives NaN.
 */

/** One cumulative bucket: observations less than or equal to `le`. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

const PRECISION_TOLERANCE = 1e-12;

/** Sorted, merged, de-noised, monotonic buckets; undefined when PromQL gives NaN. */
function normalise(input: readonly Bucket[]): { les: number[]; counts: number[] } | undefined {
  if (input.length === 0) return undefined;
  const sorted = [...input].sort((a, b) => a.le - b.le);
  if (sorted[sorted.length - 1]!.le !== Infinity) return undefined;

  // Merge buckets with the same upper bound.
  const les: number[] = [];
  const counts: number[] = [];
  for (const b of sorted) {
    const last = les.length - 1;
    if (last >= 0 && les[last] === b.le) counts[last]! += b.count;
    else {
      les.push(b.le);
      counts.push(b.count);
    }
  }

  // Float noise: a tiny relative difference from the previous count is none.
  let prev = counts[0]!;
  for (let i = 1; i < counts.length; i++) {
    const curr = counts[i]!;
    const delta = Math.abs(curr - prev);
    if (delta === 0) continue;
    if (delta / curr <= PRECISION_TOLERANCE) counts[i] = prev;
    else prev = curr;
  }
  // Envelope: cumulative counts never decrease.
  let max = counts[0]!;
  for (let i = 1; i < counts.length; i++) {
    if (counts[i]! > max) max = counts[i]!;
    else if (counts[i]! < max) counts[i] = max;
  }

  if (les.length < 2) return undefined;
  const observations = counts[les.length - 1]!;
  if (observations === 0 || Number.isNaN(observations)) return undefined;
  return { les, counts };
}

/** Index of the first bucket whose cumulative count reaches `rank` (the last when none). */
function holdingBucket(counts: readonly number[], rank: number): number {
  const n = counts.length;
  let b = 0;
  while (b < n - 1 && !(counts[b]! >= rank)) b++;
  return b;
}

/** PromQL's `histogram_quantile(q, …)` over cumulative buckets (see the module comment). */
export function bucketQuantile(q: number, input: readonly Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const norm = normalise(input);
  if (!norm) return NaN;
  const { les, counts } = norm;
  const n = les.length;
  let rank = q * counts[n - 1]!;
  const b = holdingBucket(counts, rank);

  if (b === n - 1) return les[n - 2]!;
  if (b === 0 && les[0]! <= 0) return les[0]!;

  let start = 0;
  const end = les[b]!;
  let count = counts[b]!;
  if (b > 0) {
    start = les[b - 1]!;
    count -= counts[b - 1]!;
    rank -= counts[b - 1]!;
  }
  return start + (end - start) * (rank / count);
}

/**
 * Where the q-quantile lies, as facts rather than an estimate: the bucket
 * holding rank `q * observations` (the same bucket `bucketQuantile`
 * interpolates in), as `lower < quantile <= upper`.
 *
 * - first bucket: `lower` 0 (or that bound when it is <= 0), `upper` its bound;
 * - interior: the previous and this bucket's bounds;
 * - `+Inf` bucket: `lower` the highest finite bound, `upper` Infinity — the
 *   quantile is above `lower` and nothing more is known.
 *
 * At least a share q of the observations is <= `upper`, so "quantile <=
 * limit" is proven exactly when `upper <= limit` (and when the limit is a
 * bucket bound, that is the same as the count test "share of observations
 * with le <= limit >= q"). Returns undefined where `bucketQuantile` gives
 * NaN (no `+Inf` bucket, fewer than 2 buckets, no observations) or q is
 * outside [0, 1].
 */
export function bucketQuantileBounds(
  q: number,
  input: readonly Bucket[],
): { lower: number; upper: number } | undefined {
  if (!(q >= 0 && q <= 1)) return undefined;
  const norm = normalise(input);
  if (!norm) return undefined;
  const { les, counts } = norm;
  const b = holdingBucket(counts, q * counts[les.length - 1]!);
  const upper = les[b]!;
  const lower = b === 0 ? Math.min(0, upper) : les[b - 1]!;
  return { lower, upper };
}
