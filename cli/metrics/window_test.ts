import assert from "node:assert/strict";
import {
  canaryMetricsInput,
  computeWindow,
  type EdgeSample,
  pickBaseline,
  restartedBetween,
  type Scrape,
  scrapeFromText,
  snapshotFigures,
  type WindowFigures,
  windowSummary,
} from "./mod.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../../tests/fixtures/metrics/${name}`, import.meta.url));

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

function scrapeOf(text: string, at: number): Scrape {
  return scrapeFromText(text, at);
}

interface AppText {
  uptime?: number;
  /** `app_instance_info{instance="…"} 1` */
  instance?: string;
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
  if (spec.instance !== undefined) {
    lines.push(
      "# TYPE app_instance_info gauge",
      `app_instance_info{instance="${spec.instance}"} 1`,
    );
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
  // …and the gate judges the bound of that bucket: at least 99 % took <= 15 ms.
  assert.equal(w.p99_bound_ms, 15);
  assert.equal(w.p99_above_ms, null);
  assert.deepEqual(w.unknown, {});
  assert.equal(w.requests_source, "app");
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

// --- counter resets (issue 11 case 1) -------------------------------------------

/** The issue's figures: the kept baseline from the old container, the fresh one from its replacement. */
function replacedContainer(withIds: boolean): { older: Scrape; newer: Scrape } {
  const older = scrapeOf(
    appText({
      uptime: 6,
      ...(withIds ? { instance: "old" } : {}),
      requests: [["GET", "/", 200, 10], ["GET", "/", 500, 40]],
    }),
    T0,
  );
  const newer = scrapeOf(
    appText({
      uptime: 24,
      ...(withIds ? { instance: "new" } : {}),
      requests: [["GET", "/", 200, 30], ["GET", "/", 500, 40]],
    }),
    T0 + 30_000,
  );
  return { older, newer };
}

Deno.test("computeWindow() counts a replaced container's own requests, not the difference (case 1)", () => {
  for (const withIds of [false, true]) {
    const { older, newer } = replacedContainer(withIds);
    assert.equal(restartedBetween(older, newer), true);
    const w = computeWindow(older, newer);
    // 24 < 6 + 30 - tolerance: another process. Its own counts: 70 requests, 40 errors.
    assert.equal(w.reset, true, `ids ${withIds}`);
    assert.equal(w.request_count, 70);
    assert.equal(w.error_count, 40);
    near(w.error_rate_percent, (40 / 70) * 100);
    assert.equal(w.seconds, 24);
  }
});

Deno.test("computeWindow() after a restart: counters below and above the old values both count from zero", () => {
  const older = scrapeOf(
    appText({
      uptime: 600,
      requests: [["GET", "/", 200, 500], ["GET", "/", 500, 10]],
      buckets: { "/": [["0.1", 505], ["+Inf", 510]] },
    }),
    T0,
  );
  const below = scrapeOf(
    appText({
      uptime: 20,
      requests: [["GET", "/", 200, 40], ["GET", "/", 500, 2]],
      buckets: { "/": [["0.1", 42], ["+Inf", 42]] },
    }),
    T0 + 30_000,
  );
  const wBelow = computeWindow(older, below);
  assert.equal(wBelow.reset, true);
  assert.equal(wBelow.request_count, 42);
  assert.equal(wBelow.error_count, 2);
  assert.equal(wBelow.seconds, 20);
  near(wBelow.requests_per_second, 42 / 20);
  // 42 observations all <= 0.1: rank 41.58 -> 0.1 * 41.58 / 42 = 0.099 s
  near(wBelow.p99_latency_ms, 99);
  assert.equal(wBelow.p99_bound_ms, 100);

  const above = scrapeOf(
    appText({
      uptime: 25,
      requests: [["GET", "/", 200, 900], ["GET", "/", 500, 30]],
      buckets: { "/": [["0.1", 600], ["+Inf", 930]] },
    }),
    T0 + 30_000,
  );
  const wAbove = computeWindow(older, above);
  assert.equal(wAbove.reset, true);
  // All 930 happened since the restart; 930 - 510 = 420 would undercount.
  assert.equal(wAbove.request_count, 930);
  assert.equal(wAbove.error_count, 30);
  assert.equal(wAbove.seconds, 25);
  // 330 of 930 above 0.1 s: the P99 is beyond the buckets, not inside (0, 0.1].
  assert.equal(wAbove.p99_above_ms, 100);
});

Deno.test("computeWindow() takes another instance id as a restart even when the uptime looks continuous", () => {
  const older = scrapeOf(
    appText({ uptime: 100, instance: "a", requests: [["GET", "/", 500, 50]] }),
    T0,
  );
  const newer = scrapeOf(
    appText({
      uptime: 130,
      instance: "b",
      requests: [["GET", "/", 200, 60], ["GET", "/", 500, 55]],
    }),
    T0 + 30_000,
  );
  const w = computeWindow(older, newer);
  assert.equal(w.reset, true);
  assert.equal(w.request_count, 115);
  assert.equal(w.error_count, 55);
});

Deno.test("computeWindow() keeps one process within the uptime tolerance and differences its counters", () => {
  for (const uptime of [34.5, 36, 37]) { // 6 + 30 = 36; 2 s of clock skew either way is the same process
    const older = scrapeOf(
      appText({ uptime: 6, instance: "x", requests: [["GET", "/", 200, 10]] }),
      T0,
    );
    const newer = scrapeOf(
      appText({ uptime, instance: "x", requests: [["GET", "/", 200, 30]] }),
      T0 + 30_000,
    );
    const w = computeWindow(older, newer);
    assert.equal(w.reset, false, `uptime ${uptime}`);
    assert.equal(w.request_count, 20);
    assert.equal(w.seconds, 30);
  }
});

// --- invalid values (issue 11 case 5) --------------------------------------------

Deno.test("computeWindow() makes request figures unknown for NaN, +Inf, -Inf, negative and decreasing counters", () => {
  const older = scrapeOf(
    appText({
      uptime: 100,
      instance: "x",
      requests: [["GET", "/", 200, 10], ["GET", "/", 500, 2]],
      buckets: { "/": [["0.1", 12], ["+Inf", 12]] },
    }),
    T0,
  );
  const cases: Array<[string, number, RegExp]> = [
    ["NaN", NaN, /status_code="500"\} is NaN/],
    ["+Inf", Infinity, /is \+Inf/],
    ["-Inf", -Infinity, /is -Inf/],
    ["negative", -3, /is -3/],
    ["decreasing, same instance", 1, /went down from 2 to 1 without a restart/],
  ];
  for (const [name, value, why] of cases) {
    const newer = scrapeOf(
      appText({
        uptime: 130,
        instance: "x",
        requests: [["GET", "/", 200, 20], ["GET", "/", 500, value]],
        buckets: { "/": [["0.1", 22], ["+Inf", 22]] },
      }),
      T0 + 30_000,
    );
    const w = computeWindow(older, newer);
    assert.equal(w.request_count, null, name);
    assert.equal(w.error_count, null, name);
    assert.equal(w.error_rate_percent, null, name);
    assert.equal(w.requests_per_second, null, name);
    assert.match(w.unknown["request_count"] ?? "", why, name);
    assert.match(w.unknown["error_rate_percent"] ?? "", why, name);
    // the latency buckets are sound: P99 still known
    assert.equal(w.p99_bound_ms, 100, name);
    assert.equal(w.reset, false, name);
    // what the policy gets: null figures with their reasons
    const input = canaryMetricsInput(w);
    assert.equal(input.request_count, null);
    assert.match(input.unknown_figures?.["request_count"] ?? "", why);
  }
});

Deno.test("computeWindow() makes the P99 unknown for an invalid or decreasing bucket", () => {
  const older = scrapeOf(
    appText({
      uptime: 100,
      requests: [["GET", "/", 200, 10]],
      buckets: { "/": [["0.1", 10], ["+Inf", 10]] },
    }),
    T0,
  );
  for (const value of [NaN, Infinity, -1, 5]) {
    const newer = scrapeOf(
      appText({
        uptime: 130,
        requests: [["GET", "/", 200, 20]],
        buckets: { "/": [["0.1", value], ["+Inf", 20]] },
      }),
      T0 + 30_000,
    );
    const w = computeWindow(older, newer);
    assert.equal(w.request_count, 10, String(value));
    assert.equal(w.p99_latency_ms, null, String(value));
    assert.equal(w.p99_bound_ms, null);
    assert.equal(w.p99_above_ms, null);
    assert.match(
      w.unknown["p99_latency_ms"] ?? "",
      /http_request_duration_seconds_bucket\{le="0.1"/,
    );
  }
});

Deno.test("computeWindow() never takes a decrease for a reset without proof (no instance, no uptime)", () => {
  const older = scrapeOf(appText({ requests: [["GET", "/", 200, 10], ["GET", "/", 500, 5]] }), T0);
  const lower = scrapeOf(
    appText({ requests: [["GET", "/", 200, 3], ["GET", "/", 500, 5]] }),
    T0 + 10_000,
  );
  const vanished = scrapeOf(appText({ requests: [["GET", "/", 200, 12]] }), T0 + 10_000);
  for (const newer of [lower, vanished]) {
    const w = computeWindow(older, newer);
    assert.equal(w.reset, false);
    assert.equal(w.request_count, null);
    assert.match(w.unknown["request_count"] ?? "", /went down|vanished/);
  }
});

Deno.test("computeWindow() ignores an invalid value in the old process's scrape after a proven restart", () => {
  const older = scrapeOf(appText({ uptime: 500, requests: [["GET", "/", 500, NaN]] }), T0);
  const newer = scrapeOf(appText({ uptime: 10, requests: [["GET", "/", 500, 4]] }), T0 + 30_000);
  const w = computeWindow(older, newer);
  assert.equal(w.reset, true);
  assert.equal(w.request_count, 4);
  assert.deepEqual(w.unknown, {});
  // …but without the restart the old NaN makes the increase unknown
  const same = scrapeOf(appText({ uptime: 530, requests: [["GET", "/", 500, 4]] }), T0 + 30_000);
  assert.match(
    computeWindow(older, same).unknown["request_count"] ?? "",
    /was NaN at the window's start/,
  );
});

Deno.test("snapshotFigures() makes figures unknown for an invalid counter too", () => {
  const w = snapshotFigures(
    scrapeOf(appText({ uptime: 5, requests: [["GET", "/", 200, -1]] }), T0),
  );
  assert.equal(w.request_count, null);
  assert.match(w.unknown["request_count"] ?? "", /is -1/);
});

// --- latency: +Inf and limits inside a bucket (issue 11 cases 3, 4) ---------------

Deno.test("computeWindow() reports a P99 in the +Inf bucket as a lower bound only (case 3)", () => {
  const older = scrapeOf(appText({ buckets: { "/": [["1", 0], ["10", 0], ["+Inf", 0]] } }), T0);
  const newer = scrapeOf(
    appText({
      requests: [["GET", "/", 200, 25]],
      buckets: { "/": [["1", 0], ["10", 0], ["+Inf", 25]] },
    }),
    T0 + 30_000,
  );
  const w = computeWindow(older, newer);
  assert.equal(w.p99_latency_ms, null);
  assert.equal(w.p99_bound_ms, null);
  assert.equal(w.p99_above_ms, 10_000);
  const input = canaryMetricsInput(w);
  assert.equal(input.p99_latency_ms, null);
  assert.equal(input.p99_above_ms, 10_000);
  assert.match(windowSummary(w), /P99 above 10000 ms/);
});

Deno.test("computeWindow() gives the gate the bucket's upper bound for a limit inside a bucket (case 4)", () => {
  const older = scrapeOf(appText({ buckets: { "/": [["0.25", 0], ["0.5", 0], ["+Inf", 0]] } }), T0);
  const newer = scrapeOf(
    appText({
      requests: [["GET", "/", 200, 100]],
      buckets: { "/": [["0.25", 98], ["0.5", 100], ["+Inf", 100]] },
    }),
    T0 + 30_000,
  );
  const w = computeWindow(older, newer);
  near(w.p99_latency_ms, 375); // the interpolation a limit of 400 ms would wrongly pass
  assert.equal(w.p99_bound_ms, 500);
  assert.equal(canaryMetricsInput(w).p99_latency_ms, 500); // judged: 500 > 400, denied
  assert.match(windowSummary(w), /P99 375\.00 ms \(at most 500 ms\)/);
});

Deno.test("computeWindow() gives bounds in ms without binary noise", () => {
  const older = scrapeOf(appText({}), T0);
  const newer = scrapeOf(
    appText({
      requests: [["GET", "/", 200, 100]],
      buckets: { "/": [["0.01", 0], ["0.015", 100], ["0.0075", 0], ["+Inf", 100]] },
    }),
    T0 + 30_000,
  );
  assert.equal(computeWindow(older, newer).p99_bound_ms, 15); // 0.015 * 1000 is 15.000000000000002
});

Deno.test("computeWindow() gives a null P99 for a histogram with only a +Inf bucket", () => {
  const older = scrapeOf(appText({ buckets: { "/": [["+Inf", 0]] } }), T0);
  const newer = scrapeOf(
    appText({ requests: [["GET", "/", 200, 4]], buckets: { "/": [["+Inf", 4]] } }),
    T0 + 30_000,
  );
  const w = computeWindow(older, newer);
  assert.equal(w.p99_latency_ms, null);
  assert.equal(w.p99_bound_ms, null);
  assert.equal(w.request_count, 4);
});

// --- shapes ------------------------------------------------------------------

Deno.test("computeWindow() gives 0 requests and null error rate and P99 for an empty window", () => {
  const older = scrapeOf(fixture("app_canary_t30.txt"), T0);
  // the same counters 30 s later, from the same process (its uptime advanced)
  const newer = { ...older, at: T0 + 30_000, state: { ...older.state, uptime_seconds: 102.5 } };
  const w = computeWindow(older, newer);
  const expected: WindowFigures = {
    basis: "window",
    seconds: 30,
    requests_source: "app",
    request_count: 0,
    error_count: 0,
    requests_per_second: 0,
    error_rate_percent: null,
    p99_latency_ms: null,
    p99_bound_ms: null,
    p99_above_ms: null,
    unknown: {},
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

Deno.test("computeWindow() ignores /healthz, /metrics and /chaos traffic, even invalid", () => {
  const older = scrapeOf(appText({}), T0);
  const newer = scrapeOf(
    appText({
      requests: [["GET", "/healthz", 500, 9], ["GET", "/metrics", 200, NaN], [
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
  assert.deepEqual(w.unknown, {});
});

Deno.test("computeWindow() rejects a newer scrape taken before the older one", () => {
  const s = scrapeOf("", T0);
  assert.throws(
    () => computeWindow(s, { ...s, at: T0 - 1 }),
    /newer scrape .* is before the older one/,
  );
});

// --- edge counts (nginx) -------------------------------------------------------------

const edge = (atS: number, instance: string, requests: number, errors: number): EdgeSample => ({
  atMs: T0 + atS * 1000,
  instance,
  requests,
  errors,
});

/** App scrapes that saw no errors at all: the proxy's own 504s are invisible to the app. */
function quietApp(): { older: Scrape; newer: Scrape } {
  return {
    older: scrapeOf(appText({ uptime: 100, requests: [["GET", "/", 200, 0]] }), T0),
    newer: scrapeOf(
      appText({
        uptime: 130,
        requests: [["GET", "/", 200, 25]],
        buckets: { "/": [["5", 0], ["10", 25], ["+Inf", 25]] },
      }),
      T0 + 30_000,
    ),
  };
}

Deno.test("computeWindow() takes request and error figures from edge samples, latency from the app", () => {
  const { older, newer } = quietApp();
  const w = computeWindow(older, newer, {
    edge: [edge(0, "nginx-1", 100, 0), edge(15, "nginx-1", 110, 10), edge(30, "nginx-1", 125, 25)],
  });
  assert.equal(w.requests_source, "edge");
  assert.equal(w.request_count, 25);
  assert.equal(w.error_count, 25);
  assert.equal(w.error_rate_percent, 100);
  near(w.requests_per_second, 25 / 30);
  assert.equal(w.p99_bound_ms, 10_000); // from the app's histogram
  assert.match(windowSummary(w), /25 requests \(counted at nginx\), error rate 100\.00 %/);
});

Deno.test("computeWindow() applies the reset rule to edge samples (counts below and above the old ones)", () => {
  const { older, newer } = quietApp();
  // nginx replaced after 10 s: its own counts start from zero
  const below = computeWindow(older, newer, {
    edge: [edge(0, "a", 100, 0), edge(10, "a", 110, 2), edge(30, "b", 8, 8)],
  });
  assert.equal(below.request_count, 18);
  assert.equal(below.error_count, 10);
  assert.equal(below.reset, true);
  const above = computeWindow(older, newer, {
    edge: [edge(0, "a", 100, 0), edge(30, "b", 150, 60)],
  });
  assert.equal(above.request_count, 150);
  assert.equal(above.error_count, 60);
});

Deno.test("computeWindow() makes edge figures unknown for invalid, decreasing or too few readings", () => {
  const { older, newer } = quietApp();
  const cases: Array<[EdgeSample[], RegExp]> = [
    [[edge(0, "a", 10, 0), edge(30, "a", NaN, 0)], /requests NaN/],
    [[edge(0, "a", 10, 0), edge(30, "a", 20, Infinity)], /errors \+Inf/],
    [[edge(0, "a", 10, 0), edge(30, "a", -1, 0)], /requests -1/],
    [[edge(0, "a", 10, 5), edge(30, "a", 20, 4)], /went down without a restart/],
    [[edge(0, "a", 10, 0), edge(30, "a", 9, 0)], /went down without a restart/],
    [[edge(0, "a", 10, 0), edge(30, "a", 20, 21)], /more errors than requests/],
    [[edge(30, "a", 10, 0), edge(0, "a", 20, 0)], /not in time order/],
    [[edge(30, "a", 10, 0)], /1 edge reading\(s\), at least 2 needed/],
  ];
  for (const [samples, why] of cases) {
    const w = computeWindow(older, newer, { edge: samples });
    assert.equal(w.request_count, null, String(why));
    assert.equal(w.error_rate_percent, null);
    assert.match(w.unknown["request_count"] ?? "", why);
    assert.equal(w.p99_bound_ms, 10_000); // latency still from the app
  }
});

Deno.test("snapshotFigures() takes the newest edge reading's totals when edge samples are given", () => {
  const { newer } = quietApp();
  const w = snapshotFigures(newer, { edge: [edge(0, "a", 3, 0), edge(30, "a", 40, 4)] });
  assert.equal(w.basis, "lifetime");
  assert.equal(w.requests_source, "edge");
  assert.equal(w.request_count, 40);
  near(w.error_rate_percent, 10);
  near(w.requests_per_second, 40 / 130); // over the app's uptime
  assert.equal(snapshotFigures(newer, { edge: [] }).request_count, null);
});

// --- policy input and summary ----------------------------------------------------------

Deno.test("canaryMetricsInput() is all null without figures and carries only what is set", () => {
  assert.deepEqual(canaryMetricsInput(undefined), {
    request_count: null,
    error_rate_percent: null,
    p99_latency_ms: null,
  });
  const w = computeWindow(
    scrapeOf(fixture("app_canary_t0.txt"), T0),
    scrapeOf(fixture("app_canary_t30.txt"), T0 + 30_000),
  );
  assert.deepEqual(canaryMetricsInput(w), {
    request_count: 200,
    error_rate_percent: 4,
    p99_latency_ms: 15,
  });
  assert.equal(
    windowSummary(w),
    "window 30 s: 200 requests, error rate 4.00 %, P99 13.75 ms (at most 15 ms)",
  );
});

Deno.test("pickBaseline() picks the scrape closest to one window old, preferring the older on a tie", () => {
  const empty = scrapeOf("", 0);
  const now = T0 + 1_000_000;
  const at = (ageSeconds: number): Scrape => ({ ...empty, at: now - ageSeconds * 1000 });
  const scrapes = [at(70), at(31), at(29), at(16), at(14), at(5), at(-3)];
  assert.equal(pickBaseline(scrapes, now, 30), scrapes[1]); // 31 s and 29 s tie; 31 s covers more
  const young = at(16);
  const near30 = at(29);
  assert.equal(pickBaseline([young, near30], now, 30), near30);
});

Deno.test("pickBaseline() accepts ages from half a window to two windows only", () => {
  const empty = scrapeOf("", 0);
  const now = T0 + 1_000_000;
  const at = (ageSeconds: number): Scrape => ({ ...empty, at: now - ageSeconds * 1000 });
  const half = at(15);
  const twice = at(60);
  assert.equal(pickBaseline([half], now, 30), half);
  assert.equal(pickBaseline([twice], now, 30), twice);
  assert.equal(pickBaseline([at(14.999), at(60.001), at(-1)], now, 30), undefined);
  assert.equal(pickBaseline([], now, 30), undefined);
  assert.throws(() => pickBaseline([half], now, 0), /window must be positive/);
});

Deno.test("the service's own exposition carries what the window needs to prove a restart", async () => {
  const { createMetrics } = await import("../../service/metrics.ts");
  const start = (instance: string, uptime: number) =>
    createMetrics({ mode: "canary", uptimeSeconds: () => uptime, chaosActive: () => 0, instance });
  const old = start("first", 6);
  for (let i = 0; i < 10; i++) old.observe("GET", "/", 200, 0.004);
  for (let i = 0; i < 40; i++) old.observe("GET", "/", 500, 0.004);
  const fresh = start("second", 24);
  for (let i = 0; i < 30; i++) fresh.observe("GET", "/", 200, 0.004);
  for (let i = 0; i < 40; i++) fresh.observe("GET", "/", 500, 0.004);
  const older = scrapeFromText(await old.render(), T0);
  const newer = scrapeFromText(await fresh.render(), T0 + 30_000);
  assert.equal(older.instance, "first");
  assert.equal(newer.instance, "second");
  assert.equal(newer.state.uptime_seconds, 24);
  const w = computeWindow(older, newer);
  assert.equal(w.reset, true);
  assert.equal(w.request_count, 70);
  assert.equal(w.error_count, 40);
});
