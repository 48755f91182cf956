import assert from "node:assert/strict";
import { DURATION_BUCKETS } from "../../service/buckets.ts";
import { EDGE_CLASSES, type VariantSample, variantSampleFromText, variantWindow } from "./mod.ts";

interface Fake {
  classes?: Partial<Record<string, number | string>>;
  /** Non-cumulative counts per bucket index; "inf" for +Inf. */
  buckets?: Record<string, number>;
  route?: { address: string; version: string; container?: string } | null | undefined;
}

/** /edge-metrics text as nginx serves it (templates/nginx.conf.tmpl, `M.edge_metrics`). */
function text(stable: Fake, canary: Fake, instance = "i1", revision = 3, weight = 10): string {
  const out = [
    "# TYPE swiftdeploy_edge_requests_total counter",
    ...EDGE_CLASSES.map((c) => `swiftdeploy_edge_requests_total{class="${c}"} 0`),
    "# TYPE swiftdeploy_edge_instance_info gauge",
    `swiftdeploy_edge_instance_info{instance="${instance}"} 1`,
    "# TYPE swiftdeploy_edge_variant_requests_total counter",
  ];
  const vs: [string, Fake][] = [["stable", stable], ["canary", canary]];
  for (const [v, f] of vs) {
    for (const c of EDGE_CLASSES) {
      out.push(
        `swiftdeploy_edge_variant_requests_total{variant="${v}",class="${c}"} ${
          f.classes?.[c] ?? 0
        }`,
      );
    }
  }
  out.push("# TYPE swiftdeploy_edge_variant_request_duration_seconds histogram");
  for (const [v, f] of vs) {
    let cum = 0;
    DURATION_BUCKETS.forEach((b, i) => {
      cum += f.buckets?.[String(i)] ?? 0;
      out.push(
        `swiftdeploy_edge_variant_request_duration_seconds_bucket{variant="${v}",le="${b}"} ${cum}`,
      );
    });
    cum += f.buckets?.["inf"] ?? 0;
    out.push(
      `swiftdeploy_edge_variant_request_duration_seconds_bucket{variant="${v}",le="+Inf"} ${cum}`,
    );
    out.push(`swiftdeploy_edge_variant_request_duration_seconds_sum{variant="${v}"} 0.5`);
    out.push(`swiftdeploy_edge_variant_request_duration_seconds_count{variant="${v}"} ${cum}`);
  }
  out.push("# TYPE swiftdeploy_edge_route_info gauge");
  for (const [v, f] of vs) {
    const r = f.route === undefined
      ? { address: `10.0.0.${v === "stable" ? 16 : 17}:3000`, version: "1" }
      : f.route;
    if (r) {
      out.push(
        `swiftdeploy_edge_route_info{variant="${v}",address="${r.address}",version="${
          r.version.replace(/[\\"]/g, (c) => `\\${c}`)
        }",container="${r.container ?? v}"} 1`,
      );
    }
  }
  out.push(
    "# TYPE swiftdeploy_edge_canary_weight gauge",
    `swiftdeploy_edge_canary_weight ${weight}`,
  );
  out.push(
    "# TYPE swiftdeploy_edge_routes_revision gauge",
    `swiftdeploy_edge_routes_revision ${revision}`,
  );
  return out.join("\n") + "\n";
}

const at = (t: string, ms: number): VariantSample => variantSampleFromText(t, ms);
/** Bucket index of 5 ms, 10 ms and 250 ms in service/buckets.ts. */
const I5 = String(DURATION_BUCKETS.indexOf(0.005));
const I10 = String(DURATION_BUCKETS.indexOf(0.01));
const I250 = String(DURATION_BUCKETS.indexOf(0.25));

Deno.test("variantSampleFromText() reads each variant's classes, cumulative buckets and route", () => {
  const s = at(
    text(
      { classes: { "2xx": 90, "5xx": 2 }, buckets: { [I5]: 92 } },
      {
        classes: { "2xx": 8 },
        buckets: { inf: 8 },
        route: { address: "10.0.0.17:3000", version: 'v"1\\x' },
      },
    ),
    42,
  );
  assert.equal(s.atMs, 42);
  assert.equal(s.instance, "i1");
  assert.equal(s.revision, 3);
  assert.equal(s.weight, 10);
  assert.equal(s.variants.stable.classes["2xx"], 90);
  assert.equal(s.variants.stable.classes["5xx"], 2);
  assert.equal(s.variants.stable.buckets.length, DURATION_BUCKETS.length + 1);
  assert.equal(s.variants.stable.buckets.at(-1)!.le, Infinity);
  assert.equal(s.variants.stable.buckets.at(-1)!.count, 92);
  assert.equal(s.variants.canary.count, 8);
  assert.deepEqual(s.variants.canary.route, {
    address: "10.0.0.17:3000",
    version: 'v"1\\x',
    container: "canary",
  });
});

Deno.test("variantSampleFromText() names what is missing or unknown", () => {
  const good = text({}, {});
  const cases: [string, RegExp][] = [
    [
      good.replace(
        /^swiftdeploy_edge_variant_requests_total\{variant="canary",class="4xx"\}.*\n/m,
        "",
      ),
      /no "4xx" count for "canary"/,
    ],
    [
      good.replace('variant="canary",class="4xx"', 'variant="beta",class="4xx"'),
      /unknown variant "beta"/,
    ],
    [
      good.replace('variant="canary",class="4xx"', 'variant="canary",class="6xx"'),
      /unknown class "6xx"/,
    ],
    [good.replace(/^.*variant="stable",le="\+Inf".*\n/m, ""), /no \+Inf bucket for "stable"/],
    [good.replace(/^.*_count\{variant="canary"\}.*\n/m, ""), /lacks _sum or _count for "canary"/],
    [
      good.replace(/^# TYPE swiftdeploy_edge_routes_revision gauge\n.*\n/m, ""),
      /"swiftdeploy_edge_routes_revision" is missing/,
    ],
    [
      good.replace(
        /^swiftdeploy_edge_route_info\{variant="canary"/m,
        'swiftdeploy_edge_route_info{variant="stable"',
      ),
      /a second route for "stable"/,
    ],
    [
      good.replace(
        "# TYPE swiftdeploy_edge_variant_request_duration_seconds histogram",
        "# TYPE swiftdeploy_edge_variant_request_duration_seconds gauge",
      ),
      /is a gauge, expected a histogram/,
    ],
  ];
  for (const [t, pattern] of cases) {
    assert.throws(() => variantSampleFromText(t, 1), pattern, String(pattern));
  }
});

Deno.test("variantWindow() gives requests, 5xx, error rate and the P99 bucket bound per variant", () => {
  const start = at(text({ classes: { "2xx": 100 }, buckets: { [I5]: 100 } }, {}), 1000);
  const end = at(
    text(
      { classes: { "2xx": 300, "4xx": 50 }, buckets: { [I5]: 340, [I10]: 10 } },
      { classes: { "2xx": 95, "5xx": 5 }, buckets: { [I250]: 100 } },
    ),
    31000,
  );
  const w = variantWindow(start, end);
  // stable: 250 new requests, 240 within 5 ms and 10 within 10 ms: rank 247.5 lies in the 10 ms bucket.
  assert.deepEqual(w.stable, {
    requests: 250,
    errors: 0,
    error_rate_percent: 0,
    p99_latency_ms: 10,
  });
  assert.deepEqual(w.canary, {
    requests: 100,
    errors: 5,
    error_rate_percent: 5,
    p99_latency_ms: 250,
  });
});

Deno.test("variantWindow() gives a P99 beyond the buckets as p99_above_ms, and none without requests", () => {
  const start = at(text({}, {}), 0);
  const end = at(text({ classes: { "2xx": 10 }, buckets: { inf: 10 } }, {}), 1);
  const w = variantWindow(start, end);
  assert.deepEqual(w.stable, {
    requests: 10,
    errors: 0,
    error_rate_percent: 0,
    p99_latency_ms: null,
    p99_above_ms: DURATION_BUCKETS.at(-1)! * 1000,
  });
  assert.deepEqual(w.canary, {
    requests: 0,
    errors: 0,
    error_rate_percent: null,
    p99_latency_ms: null,
  });
});

Deno.test("variantWindow() counts from zero after an nginx restart", () => {
  const start = at(text({ classes: { "2xx": 900 }, buckets: { [I5]: 900 } }, {}), 0);
  const end = at(text({ classes: { "2xx": 20, "5xx": 1 }, buckets: { [I5]: 21 } }, {}, "i2"), 1);
  assert.deepEqual(variantWindow(start, end).stable, {
    requests: 21,
    errors: 1,
    error_rate_percent: (100 * 1) / 21,
    p99_latency_ms: 5,
  });
});

Deno.test("variantWindow() is unknown for a variant whose route changed, vanished or never existed", () => {
  const start = at(text({}, { route: { address: "10.0.0.17:3000", version: "1" } }), 0);
  const cases: [Fake["route"], RegExp][] = [
    [
      { address: "10.0.0.18:3000", version: "1" },
      /canary route changed during the window \(canary 10\.0\.0\.17:3000 → canary 10\.0\.0\.18:3000\)/,
    ],
    [{ address: "10.0.0.17:3000", version: "2" }, /canary route changed/],
    [{ address: "10.0.0.17:3000", version: "1", container: "other" }, /canary route changed/],
    [null, /→ none/],
  ];
  for (const [route, pattern] of cases) {
    const w = variantWindow(start, at(text({}, { classes: { "2xx": 5 }, route }), 1));
    assert.equal(w.canary.requests, null);
    assert.match(w.canary.unknown ?? "", pattern);
    assert.equal(w.stable.unknown, undefined, "stable kept its route");
  }
  const none = at(text({}, { route: null }), 0);
  assert.match(variantWindow(none, none).canary.unknown ?? "", /no container is routed as canary/);
});

Deno.test("variantWindow() is unknown when counts go down within one nginx, are not numbers, or readings are out of order", () => {
  const start = at(text({ classes: { "2xx": 10 }, buckets: { [I5]: 10 } }, {}), 5);
  const down = at(text({ classes: { "2xx": 9 }, buckets: { [I5]: 9 } }, {}), 6);
  assert.match(variantWindow(start, down).stable.unknown ?? "", /went down without a restart/);
  const nan = at(text({ classes: { "2xx": "NaN" }, buckets: { [I5]: 10 } }, {}), 6);
  assert.match(variantWindow(start, nan).stable.unknown ?? "", /not a non-negative number/);
  const earlier = at(text({}, {}), 1);
  assert.match(variantWindow(start, earlier).stable.unknown ?? "", /not in time order/);
});
