import assert from "node:assert/strict";
import { type Bucket, bucketQuantile, bucketQuantileBounds } from "./mod.ts";

const b = (pairs: Array<[number, number]>): Bucket[] => pairs.map(([le, count]) => ({ le, count }));

function near(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `expected ${expected}, got ${actual}`);
}

Deno.test("bucketQuantile() interpolates linearly inside the bucket holding the rank", () => {
  // rank = 0.99 * 100 = 99; cumulative 50, 80, 100 -> bucket (0.2, 0.5] holds it.
  // 0.2 + (0.5 - 0.2) * (99 - 80) / (100 - 80) = 0.2 + 0.3 * 19/20 = 0.485
  near(bucketQuantile(0.99, b([[0.1, 50], [0.2, 80], [0.5, 100], [Infinity, 100]])), 0.485);
  // rank = 0.5 * 100 = 50 -> first bucket with count >= 50 is le=0.1 (lowest, from 0):
  // 0 + 0.1 * 50/50 = 0.1
  near(bucketQuantile(0.5, b([[0.1, 50], [0.2, 80], [0.5, 100], [Infinity, 100]])), 0.1);
});

Deno.test("bucketQuantile() interpolates the lowest bucket from 0", () => {
  // rank = 99 of 100, all in (0, 0.1]: 0.1 * 99/100 = 0.099
  near(bucketQuantile(0.99, b([[0.1, 100], [Infinity, 100]])), 0.099);
});

Deno.test("bucketQuantile() returns the lowest bound when it is <= 0 and holds the rank", () => {
  assert.equal(bucketQuantile(0.99, b([[-1, 100], [Infinity, 100]])), -1);
  assert.equal(bucketQuantile(0.5, b([[0, 100], [1, 100], [Infinity, 100]])), 0);
});

Deno.test("bucketQuantile() returns the highest finite bound when the rank is in +Inf", () => {
  // rank = 99 > 90 observations <= 0.5: the +Inf bucket holds it -> 0.5
  assert.equal(bucketQuantile(0.99, b([[0.1, 10], [0.5, 90], [Infinity, 100]])), 0.5);
  // every observation above the highest finite bucket -> that bound
  assert.equal(bucketQuantile(0.99, b([[0.1, 0], [10, 0], [Infinity, 7]])), 10);
});

Deno.test("bucketQuantile() gives NaN for no observations, +Inf only, or no +Inf bucket", () => {
  assert.ok(Number.isNaN(bucketQuantile(0.99, b([[0.1, 0], [Infinity, 0]]))));
  assert.ok(Number.isNaN(bucketQuantile(0.99, b([[Infinity, 12]]))));
  assert.ok(Number.isNaN(bucketQuantile(0.99, b([[0.1, 5], [1, 12]]))));
  assert.ok(Number.isNaN(bucketQuantile(0.99, [])));
});

Deno.test("bucketQuantile() sorts, merges equal bounds and forces monotonic counts", () => {
  // le=0.1 appears twice (30 + 20 = 50), given out of order.
  // rank 99 -> bucket (0.1, 0.2]: 0.1 + 0.1 * (99 - 50)/(100 - 50) = 0.198
  near(
    bucketQuantile(0.99, b([[Infinity, 100], [0.1, 30], [0.2, 100], [0.1, 20]])),
    0.198,
  );
  // 0.2 has 40 < 60: raised to 60. rank 99 -> bucket (0.2, 0.4]:
  // 0.2 + 0.2 * (99 - 60)/(100 - 60) = 0.2 + 0.2 * 39/40 = 0.395
  near(bucketQuantile(0.99, b([[0.1, 60], [0.2, 40], [0.4, 100], [Infinity, 100]])), 0.395);
});

Deno.test("bucketQuantile() maps q outside [0, 1] to -Inf/+Inf and NaN to NaN", () => {
  const buckets = b([[0.1, 1], [Infinity, 1]]);
  assert.equal(bucketQuantile(-0.1, buckets), -Infinity);
  assert.equal(bucketQuantile(1.1, buckets), Infinity);
  assert.ok(Number.isNaN(bucketQuantile(NaN, buckets)));
});

Deno.test("bucketQuantileBounds() places the P99 in the first bucket, an interior one and +Inf", () => {
  // first bucket: 100 of 100 <= 0.1 -> (0, 0.1]
  assert.deepEqual(bucketQuantileBounds(0.99, b([[0.1, 100], [0.2, 100], [Infinity, 100]])), {
    lower: 0,
    upper: 0.1,
  });
  // interior (issue 11 case 4): 98 <= 0.25, 100 <= 0.5 -> rank 99 in (0.25, 0.5]; the
  // interpolated 0.375 is below a limit of 0.4 although up to 1 % may have taken 0.5.
  const inside = b([[0.25, 98], [0.5, 100], [Infinity, 100]]);
  assert.deepEqual(bucketQuantileBounds(0.99, inside), { lower: 0.25, upper: 0.5 });
  near(bucketQuantile(0.99, inside), 0.375);
  // +Inf (issue 11 case 3): nothing <= 10 of 25 -> above 10, nothing more known
  assert.deepEqual(bucketQuantileBounds(0.99, b([[10, 0], [Infinity, 25]])), {
    lower: 10,
    upper: Infinity,
  });
});

Deno.test("bucketQuantileBounds() is exact on a bound: 99 % at or below it holds the P99", () => {
  // exactly 99 of 100 at or below 0.25: the P99 is at most 0.25
  assert.deepEqual(bucketQuantileBounds(0.99, b([[0.25, 99], [0.5, 100], [Infinity, 100]])), {
    lower: 0,
    upper: 0.25,
  });
  // 98.99 % is not enough
  assert.equal(
    bucketQuantileBounds(0.99, b([[0.25, 9899], [0.5, 10000], [Infinity, 10000]]))?.upper,
    0.5,
  );
});

Deno.test("bucketQuantileBounds() is undefined where bucketQuantile is NaN or q is out of range", () => {
  for (
    const [q, buckets] of [
      [0.99, b([])],
      [0.99, b([[Infinity, 5]])],
      [0.99, b([[0.1, 5], [0.2, 5]])], // no +Inf
      [0.99, b([[0.1, 0], [Infinity, 0]])],
      [NaN, b([[0.1, 5], [Infinity, 5]])],
      [1.5, b([[0.1, 5], [Infinity, 5]])],
      [-0.1, b([[0.1, 5], [Infinity, 5]])],
    ] as Array<[number, Bucket[]]>
  ) {
    assert.equal(bucketQuantileBounds(q, buckets), undefined, `q ${q}`);
  }
  // a bound <= 0 holding the rank is its own lower bound
  assert.deepEqual(bucketQuantileBounds(0.99, b([[-1, 100], [Infinity, 100]])), {
    lower: -1,
    upper: -1,
  });
});
