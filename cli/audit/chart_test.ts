import assert from "node:assert/strict";
import {
  chartBuilder,
  MAX_RAW_POINTS,
  NO_DATA,
  renderChart,
  renderChartSvg,
  SLICES,
} from "./mod.ts";
import { ev, xmlProblem } from "./_test_util.ts";

const scrape = (ts: string, err: number | null, p99: number | null, chaos = "none") =>
  ev(ts, "status_scrape", {
    mode: "canary",
    chaos,
    error_rate_percent: err,
    p99_latency_ms: p99,
    request_count: 10,
    policy: { infrastructure: "PASS", canary: "PASS" },
  });

Deno.test("renderChartSvg() draws both panels with title, axis labels and legend as well-formed XML", () => {
  const svg = renderChartSvg([
    ev("12:00:00", "deploy", { mode: "canary" }),
    scrape("12:00:10", 0, 4),
    ev("12:00:20", "chaos_change", { mode: "error", rate: 0.5 }),
    scrape("12:00:40", 40, 5),
    ev("12:00:50", "promote_blocked", { from: "canary", to: "stable" }),
    ev("12:01:00", "chaos_change", { mode: "recover" }),
    scrape("12:01:30", 0, 4.5),
  ]);
  assert.equal(xmlProblem(svg), undefined);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  for (
    const text of [
      "Error rate and P99 latency per status check",
      ">Error rate (%)</text>",
      ">P99 latency (ms)</text>",
      ">Chaos injected</text>",
      ">Blocked by policy</text>",
      ">Time (UTC, 2026-11-21)</text>",
      "<title>chaos: error</title>",
      ">deploy canary</text>",
      ">blocked</text>",
    ]
  ) assert.ok(svg.includes(text), text);
  assert.equal(svg.match(/<polyline /g)?.length, 2);
  assert.equal(svg.match(/<circle /g)?.length, 6);
  assert.ok(!/<script|href=|\bid="[^"]*\d{5,}/.test(svg), "no scripts, links or random ids");
});

Deno.test("renderChartSvg() is deterministic", () => {
  const events = [scrape("12:00:00", 1, 2), scrape("12:05:00", 3, 4)];
  assert.equal(renderChartSvg(events), renderChartSvg(structuredClone(events)));
});

Deno.test("renderChartSvg() breaks the line where a check had no value", () => {
  const svg = renderChartSvg([
    scrape("12:00:00", 1, 10),
    scrape("12:00:30", 2, 20),
    scrape("12:01:00", null, null),
    scrape("12:01:30", 3, 30),
    scrape("12:02:00", 4, 40),
  ]);
  assert.equal(xmlProblem(svg), undefined);
  assert.equal(svg.match(/<polyline /g)?.length, 4); // two segments per panel
});

Deno.test("renderChartSvg() says no data for an empty history or one without status checks", () => {
  for (const events of [[], [ev("12:00:00", "deploy", { mode: "stable" })]]) {
    const svg = renderChartSvg(events);
    assert.equal(xmlProblem(svg), undefined);
    assert.ok(svg.includes(`>${NO_DATA}</text>`));
    assert.ok(!svg.includes("<polyline"));
  }
});

Deno.test("renderChartSvg() shows a single check and one series without values", () => {
  const svg = renderChartSvg([scrape("12:00:00", null, 7)]);
  assert.equal(xmlProblem(svg), undefined);
  assert.ok(svg.includes(">No data</text>"), "the error rate panel has no value");
  assert.equal(svg.match(/<circle /g)?.length, 1);
});

Deno.test("renderChartSvg() keeps a long history light and escapes odd data", () => {
  const events = Array.from(
    { length: 500 },
    (_, i) =>
      scrape(new Date(Date.UTC(2026, 10, 21) + i * 5000).toISOString(), i % 7, 100 + (i % 13)),
  );
  events.push(ev("2026-11-21T00:20:00.000Z", "promote", { to: 'x"<&>y' }));
  const svg = renderChartSvg(events);
  assert.equal(xmlProblem(svg), undefined);
  assert.equal(svg.match(/<circle /g), null);
  assert.ok(svg.includes("→ x&quot;&lt;&amp;&gt;y"));
  assert.ok(svg.length < 120_000, `${svg.length} bytes`);
});

Deno.test("chartBuilder() draws every check up to MAX_RAW_POINTS and min/max per slice beyond, gaps kept", () => {
  const at = (i: number) => new Date(Date.UTC(2026, 10, 21) + i * 5000).toISOString();
  const build = (n: number, value: (i: number) => number | null) => {
    const b = chartBuilder();
    for (let i = 0; i < n; i++) b.add(scrape(at(i), value(i), 10));
    return b.data();
  };
  const small = build(MAX_RAW_POINTS, () => 1);
  assert.equal(small.sampled, undefined);
  assert.equal(small.error.length, MAX_RAW_POINTS);

  // 20,000 checks: 0.5 everywhere, one spike to 90 and one dip to 0; checks
  // 12,000 to 12,999 had no error figure (a gap a line must not bridge).
  const n = 20_000;
  const data = build(
    n,
    (i) => i === 7_777 ? 90 : i === 15_000 ? 0 : i >= 12_000 && i < 13_000 ? null : 0.5,
  );
  assert.equal(data.count, n);
  assert.equal(data.sampled, 2 * SLICES);
  assert.ok(data.error.length <= 2 * SLICES && data.p99.length <= 2 * SLICES);
  const values = data.error.map((p) => p.v);
  assert.ok(values.includes(90), "the spike is kept");
  assert.ok(values.includes(0), "the dip is kept");
  assert.ok(values.includes(null), "the gap is kept");
  assert.ok(data.error.every((p, i) => i === 0 || p.t >= data.error[i - 1]!.t), "in time order");
  assert.deepEqual([data.first, data.last], [Date.parse(at(0)), Date.parse(at(n - 1))]);

  const svg = renderChart(data);
  assert.equal(xmlProblem(svg), undefined);
  const lines = [...svg.matchAll(/id="error-rate-panel"[\s\S]*?<\/g>/g)][0]![0]
    .match(/<polyline /g) ?? [];
  assert.equal(lines.length, 2, "the error line is broken once, at the gap");
  assert.ok(svg.includes("of 20000 status checks"));
  assert.ok(svg.includes("lowest and highest value per time slice (at most 800 points)"));
});

Deno.test("renderChartSvg() of 150,000 checks does not overflow the call stack", () => {
  const t0 = Date.UTC(2026, 10, 1);
  const events = Array.from(
    { length: 150_000 },
    (_, i) => scrape(new Date(t0 + i * 5000).toISOString(), i % 100, 20),
  );
  const svg = renderChartSvg(events); // threw "Maximum call stack size exceeded" before
  assert.equal(xmlProblem(svg), undefined);
  assert.ok(svg.includes("of 150000 status checks"));
});
