/**
 * The audit's Rollouts section and the chart's per-variant lines (issue 13
 * item 7). Golden files: tests/golden/audit/rollout_*; after a deliberate
 * change, regenerate and review the diff like code:
 *
 *   UPDATE_GOLDEN=1 deno test -A cli/audit/rollouts_test.ts
 */

import assert from "node:assert/strict";
import type { HistoryEvent } from "../history/mod.ts";
import { renderAuditReport, renderChartSvg } from "./mod.ts";
import { rollouts } from "./_rollouts.ts";
import { ev, reportOptions, tables, xmlProblem } from "./_test_util.ts";

const root = new URL("../../", import.meta.url);
const golden = (name: string) => new URL(`tests/golden/audit/${name}`, root);
const update = Deno.env.get("UPDATE_GOLDEN") === "1";

async function matchGolden(name: string, actual: string): Promise<void> {
  if (update) await Deno.writeTextFile(golden(name), actual);
  const expected = await Deno.readTextFile(golden(name));
  assert.equal(
    actual,
    expected,
    `${name} differs; if intended, run with UPDATE_GOLDEN=1 and review`,
  );
}

const opts = reportOptions("2026-12-01T11:00:00Z", 20);

const at = (hms: string) => `2026-12-01T${hms}.000Z`;
const STABLE = { container: "shop-app-1111aaaa", version: "1.0.0" };
const CANARY = { container: "shop-app-2222bbbb", version: "1.1.0" };
const STEPS = [{ weight: 10 }, { analysis: { window_seconds: 30 } }, { weight: 50 }, {
  pause_seconds: 60,
}, { analysis: {} }];
const A = "20261201T100000-2222bbbb";
const B = "20261201T101500-2222bbbb";
const fig = (requests: number, errors: number, p99: number | null) => ({
  requests,
  errors,
  error_rate_percent: requests ? Number(((errors / requests) * 100).toFixed(2)) : null,
  p99_latency_ms: p99,
});
const ROLLBACK_REASONS = [
  "canary error rate 7.50% exceeds the maximum 2.00%",
  "canary error rate 7.50% exceeds stable's 0.10% by more than 1.00 points",
];

/**
 * Stable 1.0.0 deployed; rollout A of 1.1.0 under error chaos is rolled back
 * by its first analysis; rollout B of the same version (retried) holds once
 * for too little traffic, is paused and resumed, passes and completes.
 */
function story(): HistoryEvent[] {
  return [
    ev(at("09:58:00"), "deploy", {
      mode: "stable",
      version: "1.0.0",
      image: "shop:1.0.0",
      containers: [STABLE.container, "shop-nginx"],
      duration_ms: 4200,
    }),
    ev(at("09:59:30"), "status_scrape", {
      mode: "stable",
      chaos: "none",
      version: "1.0.0",
      requests_per_second: 30,
      error_rate_percent: 0,
      p99_latency_ms: 24,
      request_count: 900,
      window_seconds: 30,
      policy: { infrastructure: "PASS", canary: "PASS" },
    }),
    ev(at("10:00:00"), "rollout_started", { id: A, stable: STABLE, canary: CANARY, steps: STEPS }),
    ev(at("10:00:01"), "rollout_step", { id: A, step: 0, weight: 10, previous_weight: 0, ms: 3 }),
    ev(at("10:00:31"), "rollout_analysis", {
      id: A,
      step: 1,
      weight: 10,
      outcome: "rollback",
      reasons: ROLLBACK_REASONS,
      canary: fig(40, 3, 50),
      stable: fig(1000, 1, 25),
      window_seconds: 30,
    }),
    ev(at("10:00:31"), "rollout_aborted", {
      id: A,
      step: 1,
      weight: 10,
      by: "analysis",
      reasons: ROLLBACK_REASONS,
      decision: { allow: false, reasons: ROLLBACK_REASONS, domain: "rollout", checked: {} },
    }),
    ev(at("10:01:00"), "status_scrape", {
      mode: "stable",
      chaos: "none",
      version: "1.0.0",
      requests_per_second: 31,
      error_rate_percent: 0.3,
      p99_latency_ms: 26,
      request_count: 930,
      window_seconds: 30,
      policy: { infrastructure: "PASS", canary: "PASS" },
    }),
    ev(at("10:15:00"), "rollout_started", { id: B, stable: STABLE, canary: CANARY, steps: STEPS }),
    ev(at("10:15:01"), "rollout_step", { id: B, step: 0, weight: 10, previous_weight: 0, ms: 4 }),
    ev(at("10:15:31"), "rollout_analysis", {
      id: B,
      step: 1,
      weight: 10,
      outcome: "hold",
      reasons: ["canary served 12 requests in the window, fewer than the minimum 50"],
      canary: fig(12, 0, 25),
      stable: fig(300, 0, 25),
      window_seconds: 30,
    }),
    ev(at("10:16:01"), "rollout_analysis", {
      id: B,
      step: 1,
      weight: 10,
      outcome: "continue",
      reasons: [],
      canary: fig(110, 0, 30),
      stable: fig(990, 1, 25),
      window_seconds: 30,
    }),
    ev(at("10:16:02"), "rollout_step", { id: B, step: 2, weight: 50, previous_weight: 10, ms: 5 }),
    ev(at("10:16:20"), "rollout_paused", { id: B, step: 3, by: "alice" }),
    ev(at("10:18:00"), "rollout_resumed", { id: B, step: 3, by: "alice" }),
    ev(at("10:19:45"), "rollout_analysis", {
      id: B,
      step: 4,
      weight: 50,
      outcome: "continue",
      reasons: [],
      canary: { ...fig(600, 1, null), p99_above_ms: 1000 },
      stable: fig(590, 0, 25),
      window_seconds: 45,
    }),
    ev(at("10:19:46"), "rollout_completed", { id: B, version: "1.1.0", duration_ms: 286_000 }),
  ];
}

Deno.test("rollouts() gives one timeline per id with every step, analysis and end", () => {
  const [a, b, ...rest] = rollouts(story());
  assert.equal(rest.length, 0);
  assert.equal(a?.id, A);
  assert.deepEqual(a?.end, {
    kind: "rolled back",
    ts: at("10:00:31"),
    by: "analysis",
    reasons: ROLLBACK_REASONS,
    step: 2,
  });
  assert.deepEqual(a?.rows.map((r) => r.event), [
    "Started",
    "Step 1: weight",
    "Step 2: analysis → rollback",
    "Rolled back by analysis at step 2",
  ]);
  assert.equal(a?.rows[1]?.weight, "0 % → 10 %");
  assert.match(a?.rows[2]?.details ?? "", /canary: 40 requests, 7\.50% errors, P99 50\.0 ms/);
  assert.match(a?.rows[2]?.details ?? "", /stable: 1000 requests, 0\.10% errors, P99 25\.0 ms/);
  assert.equal(a?.rows[3]?.weight, "10 % → 0 %");
  assert.deepEqual(b?.analyses, { continue: 2, hold: 1, rollback: 0 });
  assert.equal(b?.end.kind, "completed");
  assert.deepEqual(b?.rows.map((r) => r.event), [
    "Started",
    "Step 1: weight",
    "Step 2: analysis → hold",
    "Step 2: analysis → continue",
    "Step 3: weight",
    "Paused at step 4",
    "Resumed at step 4",
    "Step 5: analysis → continue",
    "Completed",
  ]);
  assert.match(b?.rows[7]?.details ?? "", /P99 above 1000 ms/);
});

Deno.test("rollouts() reads damaged rollout events without throwing and keeps their id together", () => {
  const r = rollouts([
    ev(at("10:00:00"), "rollout_step", { id: A, step: "x", weight: null }),
    ev(at("10:00:10"), "rollout_analysis", { id: A, canary: "bad", stable: [] }),
    ev(at("10:00:20"), "rollout_aborted", { id: A, reasons: 7 }),
    ev(at("10:00:30"), "rollout_completed", {}),
  ]);
  assert.deepEqual(r.map((x) => x.id), [A, "unknown"]);
  assert.deepEqual(r[0]?.rows.map((x) => [x.event, x.weight]), [
    ["Weight", "—"],
    ["Analysis → unknown", "—"],
    ["Rolled back by unknown", "0 %"],
  ]);
  assert.match(r[0]?.rows[1]?.details ?? "", /canary: no figures; stable: no figures/);
  assert.match(r[0]?.rows[2]?.details ?? "", /no reason given/);
});

Deno.test("renderAuditReport() of a history with rollouts matches rollout_report.md", async () => {
  const md = renderAuditReport(story(), opts);
  for (const t of tables(md)) for (const row of t) assert.equal(row.length, t[0]!.length);
  assert.match(md, /\| Rollouts \| 2 started: 1 completed, 1 rolled back \|/);
  assert.match(md, /## Rollouts\n\n### Rollout 20261201T100000-2222bbbb\n/);
  // The rollback is a policy denial: it is listed with the canary's figures of the rollback analysis.
  assert.match(
    md,
    /\| 2026-12-01 10:00:31 \| rollout rolled back \| rollout \| canary error rate 7\.50% exceeds the maximum 2\.00%<br>.* \| 7\.50% \| 50\.0 ms \|/,
  );
  await matchGolden("rollout_report.md", md);
});

Deno.test("renderAuditReport() lists an operator's abort in the rollout, not as a policy violation", () => {
  const md = renderAuditReport([
    ev(at("10:00:00"), "rollout_started", { id: A, stable: STABLE, canary: CANARY, steps: [] }),
    ev(at("10:00:05"), "rollout_aborted", {
      id: A,
      step: 0,
      weight: 0,
      by: "operator",
      reasons: ["aborted by alice"],
    }),
  ], opts);
  assert.match(md, /Rolled back by operator at step 1 \| 0 % → 0 % \| aborted by alice/);
  assert.match(md, /No policy violations recorded\./);
});

Deno.test("renderChartSvg() draws a canary and a stable line per panel from the rollout analyses", async () => {
  const svg = renderChartSvg(story());
  assert.equal(xmlProblem(svg), undefined);
  // Two panels × two variants, each a polyline for rollout B (rollout A's single analysis is a lone point).
  assert.equal(svg.match(/<polyline [^>]*stroke="#ef6c00"/g)?.length, 2);
  assert.equal(svg.match(/<polyline [^>]*stroke="#2e7d32"/g)?.length, 2);
  // One square per analysis, per variant, per panel: 4 analyses × 2 × 2.
  assert.equal(svg.match(/<rect [^>]*width="6" height="6"/g)?.length, 16);
  assert.ok(svg.includes("canary 7.50%"), "rollout A's rollback analysis is drawn");
  assert.ok(
    svg.includes("canary above 1000.00 ms"),
    "a P99 beyond the buckets is said to be a bound",
  );
  assert.ok(svg.includes(">Canary (rollout analysis)</text>"));
  // The rollback is marked in the blocked colour (its label may give way to a nearer one).
  assert.equal(svg.match(/<line [^>]*stroke="#b71c1c" stroke-width="1\.5"/g)?.length, 2);
  await matchGolden("rollout_chart.svg", svg);
});

Deno.test("renderChartSvg() breaks the variant lines between two rollouts", () => {
  const analysis = (hms: string, id: string, canaryErrors: number) =>
    ev(at(hms), "rollout_analysis", {
      id,
      step: 1,
      weight: 10,
      outcome: "continue",
      reasons: [],
      canary: fig(100, canaryErrors, 30),
      stable: fig(100, 0, 30),
      window_seconds: 30,
    });
  const svg = renderChartSvg([
    analysis("10:00:00", A, 1),
    analysis("10:01:00", A, 2),
    analysis("10:10:00", B, 3),
    analysis("10:11:00", B, 4),
  ]);
  assert.equal(xmlProblem(svg), undefined);
  // Per panel and variant, one polyline per rollout: 2 rollouts × 2 panels.
  assert.equal(svg.match(/<polyline [^>]*stroke="#ef6c00"/g)?.length, 4);
  const canaryErrorLines = [...svg.matchAll(/<polyline points="([^"]+)"[^>]*stroke="#ef6c00"/g)];
  assert.deepEqual(canaryErrorLines.map((m) => m[1]!.split(" ").length), [2, 2, 2, 2]);
  // Without status checks the chart still draws the analyses, and says so.
  assert.ok(!svg.includes("No data: no status checks"));
  assert.match(svg, /of the canary and stable as judged by 4 rollout analyses/);
});

Deno.test("renderChartSvg() and renderAuditReport() of a history without rollout events carry no rollout part", () => {
  const events = story().filter((e) => !e.event.startsWith("rollout_"));
  const svg = renderChartSvg(events);
  assert.ok(!svg.includes("Canary (rollout analysis)"));
  assert.ok(!svg.includes("#ef6c00"));
  const md = renderAuditReport(events, opts);
  assert.ok(!md.includes("## Rollouts"));
  assert.ok(!md.includes("| Rollouts |"));
  assert.ok(!md.includes("canary and stable lines"));
});

/** The drawn extents of the marker labels (font-size 11 texts), by their anchor, as the chart estimates widths. */
function labelExtents(svg: string): [number, number, string][] {
  return [
    ...svg.matchAll(/<text x="([\d.]+)" y="72" text-anchor="(\w+)" font-size="11"[^>]*>([^<]+)</g),
  ]
    .map((m) => {
      const x = Number(m[1]);
      const width = m[3]!.length * 6.5;
      const from = m[2] === "start" ? x : m[2] === "end" ? x - width : x - width / 2;
      return [from, from + width, m[3]!];
    });
}

Deno.test("renderChartSvg() never draws a marker label over another, at the edges either", () => {
  // Markers close together at the left edge, in the middle and at the right edge.
  const svg = renderChartSvg([
    // A start-anchored label at the left edge reaches its full width to the right…
    ev(at("10:00:00"), "deploy", { mode: "stable" }),
    ev(at("10:01:05"), "rollout_started", { id: A }),
    ev(at("10:05:00"), "rollout_started", { id: B }),
    // …and an end-anchored one at the right edge its full width to the left.
    ev(at("10:08:46"), "rollout_aborted", { id: B }),
    ev(at("10:10:00"), "rollout_completed", { id: B }),
    ev(at("10:00:00"), "status_scrape", { error_rate_percent: 0 }),
    ev(at("10:10:00"), "status_scrape", { error_rate_percent: 0 }),
  ]);
  const extents = labelExtents(svg).sort((a, b) => a[0] - b[0]);
  assert.ok(extents.length >= 3, JSON.stringify(extents));
  for (let i = 1; i < extents.length; i++) {
    assert.ok(
      extents[i]![0] >= extents[i - 1]![1],
      `"${extents[i]![2]}" overlaps "${extents[i - 1]![2]}": ${JSON.stringify(extents)}`,
    );
  }
});
