import assert from "node:assert/strict";
import {
  computeWindow,
  parsePrometheusText,
  pickBaseline,
  type Scrape,
  snapshotFigures,
  type WindowFigures,
} from "./mod.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../../tests/fixtures/metrics/${name}`, import.meta.url));

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

function scrapeOf(text: string, at: number): Scrape {
  return { at, series: parsePrometheusText(text) };
}

interface AppText {
  uptime?: number;
  /** [method, path, status, count] */
  requests?: Array<[string, string, number, number]>;
  /** path -> cumulative [le, count] pairs (the +Inf bucket must be listed) */
  buckets?: Record<string, Array<[string, number]>>;
}

/** A small exposition text in the app's contract. */
function appText(spec: AppText): string {
  const lines = ["# TYPE http_requests_total counter"];
  for (const [method, path, status, count] of spec.requests ?? []) {
    lines.push(
      `http_requests_total{method="${method}",path="${path}",status_code="${status}"} ${count}`,
    );
  }
  lines.push("# TYPE http_request_duration_seconds histogram");
  for (const [path, pairs] of Object.entries(spec.buckets ?? {})) {
    for (const [le, count] of pairs) {
      lines.push(
        `http_request_duration_seconds_bucket{le="${le}",method="GET",path="${path}"} ${count}`,
      );
    }
    const total = pairs.find(([le]) => le === "+Inf")?.[1] ?? 0;
    lines.push(`http_request_duration_seconds_count{method="GET",path="${path}"} ${total}`);
  }
  if (spec.uptime !== undefined) {
    lines.push("# TYPE app_uptime_seconds gauge", `app_uptime_seconds ${spec.uptime}`);
  }
  return lines.join("\n") + "\n";
}

function near(actual: number | null, expected: number): void {
  assert.ok(actual !== null, `expected ${expected}, got null`);
  assert.ok(Math.abs(actual - expected) < 1e-9, `expected ${expected}, got ${actual}`);
}

Deno.test("computeWindow() gives rate, error rate and interpolated P99 over the app's real scrapes", () => {
  const older = scrapeOf(fixture("app_canary_t0.txt"), T0);
  const newer = scrapeOf(fixture("app_canary_t30.txt"), T0 + 30_000);
  const w = computeWindow(older, newer);
  // Application requests in the window: GET / 200 +190, GET / 500 +8, other 404 +2 = 200
  // (/healthz +6, /metrics +0, /chaos +1 are excluded).
  assert.equal(w.basis, "window");
  assert.equal(w.seconds, 30);
  assert.equal(w.request_count, 200);
  assert.equal(w.error_count, 8);
  near(w.requests_per_second, 200 / 30);
  near(w.error_rate_percent, 4); // 8 / 200 = 4 %
  // Bucket deltas summed over "/" and "other": 2 at 0.8 ms, 190 at 3 ms, 8 at 12 ms.
  // Cumulative: le 0.001 -> 2, le 0.005 -> 192, le 0.01 -> 192, le 0.015 -> 200, +Inf -> 200.
  // rank = 0.99 * 200 = 198, first bucket reaching it: (0.01, 0.015].
  // P99 = 0.01 + (0.015 - 0.01) * (198 - 192) / (200 - 192) = 0.01 + 0.005 * 0.75 = 0.01375 s
  near(w.p99_latency_ms, 13.75);
  assert.equal(w.reset, false);
});

Deno.test("snapshotFigures() gives lifetime figures of one scrape over the app's uptime", () => {
  const w = snapshotFigures(scrapeOf(fixture("app_canary_t30.txt"), T0));
  // Application totals: 290 + 8 + 2 = 300 requests, 8 errors, uptime 72.5 s.
  assert.equal(w.basis, "lifetime");
  assert.equal(w.seconds, 72.5);
  assert.equal(w.request_count, 300);
  near(w.requests_per_second, 300 / 72.5);
  near(w.error_rate_percent, (8 / 300) * 100);
  // Cumulative: le 0.001 -> 2, le 0.005..0.01 -> 292, le 0.015 -> 300. rank = 297.
  // P99 = 0.01 + 0.005 * (297 - 292) / (300 - 292) = 0.01 + 0.005 * 0.625 = 0.013125 s
  near(w.p99_latency_ms, 13.125);
  assert.equal(w.reset, false);
});

Deno.test("snapshotFigures() leaves seconds and rate null when uptime is missing", () => {
  const w = snapshotFigures(scrapeOf(appText({ requests: [["GET", "/", 200, 5]] }), T0));
  assert.equal(w.seconds, null);
  assert.equal(w.requests_per_second, null);
  assert.equal(w.request_count, 5);
  assert.equal(w.error_rate_percent, 0);
  assert.equal(w.p99_latency_ms, null);
});

Deno.test("computeWindow() treats newer values as the increase when a counter went down", () => {
  const older = scrapeOf(
    appText({
      uptime: 600,
      requests: [["GET", "/", 200, 500], ["GET", "/", 500, 10]],
      buckets: { "/": [["0.1", 505], ["+Inf", 510]] },
    }),
    T0,
  );
  const newer = scrapeOf(
    appText({
      uptime: 20,
      requests: [["GET", "/", 200, 40], ["GET", "/", 500, 2]],
      buckets: { "/": [["0.1", 42], ["+Inf", 42]] },
    }),
    T0 + 30_000,
  );
  const w = computeWindow(older, newer);
  assert.equal(w.reset, true);
  assert.equal(w.request_count, 42);
  assert.equal(w.error_count, 2);
  // The counts cover only the 20 s since the restart, not the 30 s between scrapes.
  assert.equal(w.seconds, 20);
  near(w.requests_per_second, 42 / 20);
  near(w.error_rate_percent, (2 / 42) * 100);
  // 42 observations all <= 0.1: rank 41.58 -> 0.1 * 41.58 / 42 = 0.099 s
  near(w.p99_latency_ms, 99);
});

Deno.test("computeWindow() detects a restart from uptime even when counters grew past the old values", () => {
  const older = scrapeOf(appText({ uptime: 600, requests: [["GET", "/", 200, 10]] }), T0);
  const newer = scrapeOf(appText({ uptime: 25, requests: [["GET", "/", 200, 50]] }), T0 + 30_000);
  const w = computeWindow(older, newer);
  assert.equal(w.reset, true);
  // All 50 happened since the restart; 50 - 10 = 40 would undercount.
  assert.equal(w.request_count, 50);
  assert.equal(w.seconds, 25);
});

Deno.test("computeWindow() detects a reset when a series vanished and never goes negative", () => {
  const older = scrapeOf(appText({ requests: [["GET", "/", 200, 10], ["GET", "/", 500, 5]] }), T0);
  const newer = scrapeOf(appText({ requests: [["GET", "/", 200, 3]] }), T0 + 10_000);
  const w = computeWindow(older, newer);
  assert.equal(w.reset, true);
  assert.equal(w.request_count, 3);
  assert.equal(w.error_count, 0);
  assert.equal(w.seconds, 10); // no uptime gauge: the elapsed time
  for (const value of [w.request_count, w.error_count, w.requests_per_second ?? 0]) {
    assert.ok(value >= 0);
  }
});

Deno.test("computeWindow() gives 0 requests and null error rate and P99 for an empty window", () => {
  const text = fixture("app_canary_t30.txt");
  const w = computeWindow(scrapeOf(text, T0), scrapeOf(text, T0 + 30_000));
  const expected: WindowFigures = {
    basis: "window",
    seconds: 30,
    request_count: 0,
    error_count: 0,
    requests_per_second: 0,
    error_rate_percent: null,
    p99_latency_ms: null,
    reset: false,
  };
  assert.deepEqual(w, expected);
});

Deno.test("computeWindow() leaves the rate null when both scrapes are at the same instant", () => {
  const text = fixture("app_canary_t0.txt");
  const w = computeWindow(scrapeOf(text, T0), scrapeOf(text, T0));
  assert.equal(w.seconds, 0);
  assert.equal(w.requests_per_second, null);
});

Deno.test("computeWindow() ignores /healthz, /metrics and /chaos traffic", () => {
  const older = scrapeOf(appText({}), T0);
  const newer = scrapeOf(
    appText({
      requests: [["GET", "/healthz", 500, 9], ["GET", "/metrics", 200, 4], [
        "POST",
        "/chaos",
        503,
        2,
      ]],
      buckets: { "/healthz": [["0.1", 0], ["+Inf", 9]] },
    }),
    T0 + 30_000,
  );
  const w = computeWindow(older, newer);
  assert.equal(w.request_count, 0);
  assert.equal(w.error_rate_percent, null);
  assert.equal(w.p99_latency_ms, null);
});

Deno.test("computeWindow() returns the highest finite bound when every observation is in +Inf", () => {
  const older = scrapeOf(appText({ buckets: { "/": [["1", 0], ["10", 0], ["+Inf", 0]] } }), T0);
  const newer = scrapeOf(
    appText({
      requests: [["GET", "/", 200, 4]],
      buckets: { "/": [["1", 0], ["10", 0], ["+Inf", 4]] },
    }),
    T0 + 30_000,
  );
  // rank 3.96 lies in the +Inf bucket: PromQL answers the 10 s bound.
  near(computeWindow(older, newer).p99_latency_ms, 10_000);
});

Deno.test("computeWindow() gives a null P99 for a histogram with only a +Inf bucket", () => {
  const older = scrapeOf(appText({ buckets: { "/": [["+Inf", 0]] } }), T0);
  const newer = scrapeOf(
    appText({ requests: [["GET", "/", 200, 4]], buckets: { "/": [["+Inf", 4]] } }),
    T0 + 30_000,
  );
  const w = computeWindow(older, newer);
  assert.equal(w.p99_latency_ms, null);
  assert.equal(w.request_count, 4);
});

Deno.test("computeWindow() counts a NaN counter sample as no increase", () => {
  const older = scrapeOf(
    appText({ requests: [["GET", "/", 200, 10]], buckets: { "/": [["0.1", 10], ["+Inf", 10]] } }),
    T0,
  );
  const newer = scrapeOf(
    appText({
      requests: [["GET", "/", 200, 20], ["GET", "/", 500, NaN]],
      buckets: { "/": [["0.1", NaN], ["+Inf", 20]] },
    }),
    T0 + 10_000,
  );
  const w = computeWindow(older, newer);
  assert.equal(w.reset, false);
  assert.equal(w.request_count, 10);
  assert.equal(w.error_count, 0);
  // Bucket deltas: le 0.1 -> 0 (NaN), +Inf -> 10: the rank 9.9 is in +Inf -> 0.1 s.
  near(w.p99_latency_ms, 100);
});

Deno.test("computeWindow() rejects a newer scrape taken before the older one", () => {
  const s = scrapeOf("", T0);
  assert.throws(
    () => computeWindow(s, { ...s, at: T0 - 1 }),
    /newer scrape .* is before the older one/,
  );
});

Deno.test("pickBaseline() picks the scrape closest to one window old, preferring the older on a tie", () => {
  const empty = parsePrometheusText("");
  const now = T0 + 1_000_000;
  const at = (ageSeconds: number): Scrape => ({ at: now - ageSeconds * 1000, series: empty });
  const scrapes = [at(70), at(31), at(29), at(16), at(14), at(5), at(-3)];
  assert.equal(pickBaseline(scrapes, now, 30), scrapes[1]); // 31 s and 29 s tie; 31 s covers more
  const young = at(16);
  const near30 = at(29);
  assert.equal(pickBaseline([young, near30], now, 30), near30);
});

Deno.test("pickBaseline() accepts ages from half a window to two windows only", () => {
  const empty = parsePrometheusText("");
  const now = T0 + 1_000_000;
  const at = (ageSeconds: number): Scrape => ({ at: now - ageSeconds * 1000, series: empty });
  const half = at(15);
  const twice = at(60);
  assert.equal(pickBaseline([half], now, 30), half);
  assert.equal(pickBaseline([twice], now, 30), twice);
  assert.equal(pickBaseline([at(14.999), at(60.001), at(-1)], now, 30), undefined);
  assert.equal(pickBaseline([], now, 30), undefined);
  assert.throws(() => pickBaseline([half], now, 0), /window must be positive/);
});
