/**
 * Golden files of the report and the chart. After a deliberate change,
 * regenerate and review the diff like code:
 *
 *   UPDATE_GOLDEN=1 deno test -A cli/audit/golden_test.ts
 */

import assert from "node:assert/strict";
import { readHistory, verifyHistory } from "../history/mod.ts";
import { renderAuditReport, renderChartSvg } from "./mod.ts";
import { tables, xmlProblem } from "./_test_util.ts";

const root = new URL("../../", import.meta.url);
const story = new URL("tests/fixtures/history/story.jsonl", root).pathname;
const golden = (name: string) => new URL(`tests/golden/audit/${name}`, root);
const update = Deno.env.get("UPDATE_GOLDEN") === "1";
const generatedAt = new Date("2026-11-21T13:00:00Z");

async function matchGolden(name: string, actual: string): Promise<void> {
  if (update) await Deno.writeTextFile(golden(name), actual);
  const expected = await Deno.readTextFile(golden(name));
  assert.equal(
    actual,
    expected,
    `${name} differs; if intended, run with UPDATE_GOLDEN=1 and review`,
  );
}

Deno.test("renderAuditReport() of the story fixture matches its golden file", async () => {
  const { events, malformed } = await readHistory(story);
  // Written before sealing: verifies as 22 unsealed lines, whatever the key folder holds.
  const verification = await verifyHistory(story, { keyDir: undefined });
  assert.equal(verification.ok, true);
  if (verification.ok) {
    assert.deepEqual(
      [verification.lines, verification.head, verification.seals.unsealed],
      [22, "match", 22],
    );
  }
  assert.deepEqual(malformed, []);
  const md = renderAuditReport(events, {
    generatedAt,
    chartFileName: "audit_report.svg",
    verification,
    historyFileName: "history.jsonl",
  });
  for (const t of tables(md)) for (const row of t) assert.equal(row.length, t[0]!.length);
  await matchGolden("story_report.md", md);
});

Deno.test("renderChartSvg() of the story fixture matches its golden file", async () => {
  const svg = renderChartSvg((await readHistory(story)).events);
  assert.equal(xmlProblem(svg), undefined);
  await matchGolden("story_chart.svg", svg);
});

Deno.test("the report and chart of an empty history match their golden files", async () => {
  const md = renderAuditReport([], {
    generatedAt,
    chartFileName: "audit_report.svg",
    verification: {
      ok: true,
      lines: 0,
      head: "missing",
      files: 1,
      seals: { sealed: 0, unsealed: 0, checkpoint: "missing" },
    },
  });
  const svg = renderChartSvg([]);
  assert.equal(xmlProblem(svg), undefined);
  await matchGolden("empty_report.md", md);
  await matchGolden("empty_chart.svg", svg);
});
