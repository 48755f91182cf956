import assert from "node:assert/strict";
import { NO_DATA, renderChartSvg } from "./mod.ts";
import { ev } from "./_test_util.ts";
import { xmlProblem } from "./_xml_check.ts";

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
