/**
 * The pure half of the `prometheus` analysis source, against answers
 * recorded from Debian's Prometheus 2.42 (`GET /api/v1/query`) scraping a
 * server whose edge-variant counters grew at a known pace: stable 90 req/s
 * with 0.5 % 5xx and all answers within 25 ms, canary 10 req/s with 5 % 5xx
 * and 2 % above 250 ms, scraped every second, window 10 s.
 */
import assert from "node:assert/strict";
import { SwiftDeployError } from "../errors/mod.ts";
import {
  APP_FAMILIES,
  parseInstantVector,
  variantFiguresFromAnswers,
  variantQueries,
} from "./mod.ts";

const REQUESTS =
  `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"variant":"canary"},"value":[1796069045,"100"]},{"metric":{"variant":"stable"},"value":[1796069045,"900"]}]}}`;
const ERRORS =
  `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"variant":"canary"},"value":[1796069045,"4.444444444444445"]},{"metric":{"variant":"stable"},"value":[1796069045,"4.444444444444445"]}]}}`;
const RESETS_NONE =
  `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"variant":"canary"},"value":[1796069045,"0"]},{"metric":{"variant":"stable"},"value":[1796069045,"0"]}]}}`;
const BUCKETS =
  `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"le":"+Inf","variant":"canary"},"value":[1796069045,"100"]},{"metric":{"le":"+Inf","variant":"stable"},"value":[1796069045,"900"]},{"metric":{"le":"0.005","variant":"canary"},"value":[1796069045,"20"]},{"metric":{"le":"0.005","variant":"stable"},"value":[1796069045,"450"]},{"metric":{"le":"0.01","variant":"canary"},"value":[1796069045,"50"]},{"metric":{"le":"0.01","variant":"stable"},"value":[1796069045,"810"]},{"metric":{"le":"0.025","variant":"canary"},"value":[1796069045,"80"]},{"metric":{"le":"0.025","variant":"stable"},"value":[1796069045,"900"]},{"metric":{"le":"0.05","variant":"canary"},"value":[1796069045,"90"]},{"metric":{"le":"0.05","variant":"stable"},"value":[1796069045,"900"]},{"metric":{"le":"0.1","variant":"canary"},"value":[1796069045,"95.55555555555556"]},{"metric":{"le":"0.1","variant":"stable"},"value":[1796069045,"900"]},{"metric":{"le":"0.25","variant":"canary"},"value":[1796069045,"97.77777777777779"]},{"metric":{"le":"0.25","variant":"stable"},"value":[1796069045,"900"]}]}}`;
/** Recorded 5 s after the counting server restarted: both variants' counters went back to 0 (twice). */
const RESETS_AFTER_RESTART =
  `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"variant":"canary"},"value":[1796069054,"2"]},{"metric":{"variant":"stable"},"value":[1796069054,"2"]}]}}`;
const EMPTY = `{"status":"success","data":{"resultType":"vector","result":[]}}`;
const BAD_QUERY =
  `{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:71: parse error: unclosed left parenthesis"}`;

const parse = (text: string, q = "q") => parseInstantVector(JSON.parse(text), q);

function answers(over: Partial<Record<"requests" | "errors" | "resets" | "buckets", string>> = {}) {
  return {
    requests: parse(over.requests ?? REQUESTS),
    errors: parse(over.errors ?? ERRORS),
    resets: parse(over.resets ?? RESETS_NONE),
    buckets: parse(over.buckets ?? BUCKETS),
  };
}

Deno.test("variantQueries() asks increases by variant, 5xx, resets and buckets by (variant, le) over the window", () => {
  assert.deepEqual(variantQueries(60), {
    requests: "sum by (variant) (increase(swiftdeploy_edge_variant_requests_total[60s]))",
    errors:
      'sum by (variant) (increase(swiftdeploy_edge_variant_requests_total{class="5xx"}[60s]))',
    resets: "sum by (variant) (resets(swiftdeploy_edge_variant_requests_total[60s]))",
    buckets:
      "sum by (variant, le) (increase(swiftdeploy_edge_variant_request_duration_seconds_bucket[60s]))",
  });
  assert.equal(
    variantQueries(30, APP_FAMILIES).errors,
    'sum by (variant) (increase(http_requests_total{job="apps",path!~"/healthz|/metrics|/chaos",status_code=~"5.."}[30s]))',
  );
  for (const bad of [0, -5, 1.5, NaN]) {
    assert.throws(() => variantQueries(bad), SwiftDeployError, String(bad));
  }
});

Deno.test("variantFiguresFromAnswers() gives each variant's requests, error rate and P99 bucket bound from recorded answers", () => {
  const f = variantFiguresFromAnswers(answers(), 10);
  assert.equal(f.stable.requests, 900);
  assert.equal(f.canary.requests, 100);
  assert.ok(Math.abs(f.stable.errors! - 4.444444444444445) < 1e-9);
  assert.ok(Math.abs(f.stable.error_rate_percent! - 0.4938271604938272) < 1e-9);
  assert.ok(Math.abs(f.canary.error_rate_percent! - 4.444444444444445) < 1e-9);
  // stable: rank 891 of 900 lies in (10 ms, 25 ms]: the upper bound, as the edge source judges.
  assert.equal(f.stable.p99_latency_ms, 25);
  assert.equal(f.stable.p99_above_ms, undefined);
  // canary: rank 99 of 100 lies beyond 250 ms, the highest finite bucket.
  assert.equal(f.canary.p99_latency_ms, null);
  assert.equal(f.canary.p99_above_ms, 250);
  assert.equal(f.stable.unknown, undefined);
  assert.equal(f.canary.unknown, undefined);
});

Deno.test("variantFiguresFromAnswers() calls a variant unknown when Prometheus has no counts of it, never zero", () => {
  const onlyStable = JSON.stringify({
    status: "success",
    data: {
      resultType: "vector",
      result: [{ metric: { variant: "stable" }, value: [1796069045, "900"] }],
    },
  });
  const f = variantFiguresFromAnswers(answers({ requests: onlyStable }), 10);
  assert.equal(f.stable.requests, 900);
  assert.equal(f.canary.requests, null);
  assert.equal(f.canary.error_rate_percent, null);
  assert.equal(f.canary.p99_latency_ms, null);
  assert.match(
    f.canary.unknown ?? "",
    /no request counts of the canary variant over the last 10 s/,
  );
  const none = variantFiguresFromAnswers(
    answers({ requests: EMPTY, errors: EMPTY, resets: EMPTY, buckets: EMPTY }),
    10,
  );
  assert.ok(none.stable.unknown && none.canary.unknown);
});

Deno.test("variantFiguresFromAnswers() calls a window with a counter reset unknown, as the edge source does", () => {
  const f = variantFiguresFromAnswers(answers({ resets: RESETS_AFTER_RESTART }), 10);
  for (const v of [f.stable, f.canary]) {
    assert.equal(v.requests, null);
    assert.equal(v.error_rate_percent, null);
    assert.match(v.unknown ?? "", /was reset within the last 10 s/);
  }
});

Deno.test("variantFiguresFromAnswers() counts no 5xx series as 0 errors and no requests as no error rate", () => {
  const zero = REQUESTS.replaceAll('"100"', '"0"').replaceAll('"900"', '"0"');
  const f = variantFiguresFromAnswers(answers({ errors: EMPTY }), 10);
  assert.equal(f.stable.errors, 0);
  assert.equal(f.stable.error_rate_percent, 0);
  const idle = variantFiguresFromAnswers(
    answers({ requests: zero, errors: EMPTY, buckets: EMPTY }),
    10,
  );
  assert.equal(idle.canary.requests, 0);
  assert.equal(idle.canary.error_rate_percent, null);
  assert.equal(idle.canary.p99_latency_ms, null);
  assert.equal(idle.canary.unknown, undefined);
});

Deno.test("variantFiguresFromAnswers() calls NaN or negative counts unknown", () => {
  for (const value of ["NaN", "-3", "+Inf"]) {
    const f = variantFiguresFromAnswers(
      answers({ requests: REQUESTS.replace('"100"', `"${value}"`) }),
      10,
    );
    assert.equal(f.canary.requests, null, value);
    assert.match(f.canary.unknown ?? "", /Prometheus gave the canary variant/, value);
    assert.equal(f.stable.requests, 900, value);
  }
});

Deno.test("parseInstantVector() throws METRICS_INVALID naming the query for errors and non-vectors", () => {
  const cases: [unknown, RegExp][] = [
    [JSON.parse(BAD_QUERY), /bad_data: invalid parameter "query": 1:71: parse error/],
    [{ status: "success", data: { resultType: "matrix", result: [] } }, /result type is "matrix"/],
    [{ status: "success", data: { resultType: "vector" } }, /no result list/],
    [{ status: "success", data: { resultType: "vector", result: [{ metric: {} }] } }, /sample 0/],
    [
      {
        status: "success",
        data: { resultType: "vector", result: [{ metric: {}, value: [1, "x"] }] },
      },
      /value "x" is not a number/,
    ],
    ["text", /not a JSON object/],
  ];
  for (const [body, why] of cases) {
    assert.throws(
      () => parseInstantVector(body, 'up{job="x"}'),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.code === "METRICS_INVALID" &&
        e.message.includes('"up{job="x"}"') && why.test(e.message),
      String(why),
    );
  }
  assert.deepEqual(parse(EMPTY), []);
  assert.deepEqual(parse(REQUESTS)[0], { metric: { variant: "canary" }, value: 100 });
});
