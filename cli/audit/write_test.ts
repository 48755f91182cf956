import { xmlProblem } from "./_test_util.ts";
import assert from "node:assert/strict";
import { appendEvent } from "../history/mod.ts";
import { NO_DATA, NO_EVENTS, writeAuditReport } from "./mod.ts";

Deno.test("writeAuditReport() writes the report and the chart beside it, linked", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_audit_" });
  try {
    await Deno.mkdir(`${dir}/project`);
    const keyDir = `${dir}/keys`;
    const historyFile = `${dir}/project/history.jsonl`;
    await appendEvent(historyFile, "deploy", {
      mode: "stable",
      version: "1.0.0",
      image: "app:1",
      containers: ["app"],
      duration_ms: 10,
    }, { keyDir });
    await appendEvent(historyFile, "status_scrape", {
      mode: "stable",
      chaos: "none",
      version: "1.0.0",
      requests_per_second: 1,
      error_rate_percent: 0,
      p99_latency_ms: 3,
      request_count: 30,
      window_seconds: 30,
      policy: { infrastructure: "PASS", canary: "PASS" },
    }, { keyDir });
    const result = await writeAuditReport({
      historyFile,
      reportFile: `${dir}/audit_report.md`,
      now: () => new Date("2026-11-21T13:00:00Z"),
      keyDir,
    });
    assert.equal(result.chartFile, `${dir}/audit_report.svg`);
    assert.equal(result.events, 2);
    assert.equal(result.verification.ok, true);
    if (result.verification.ok) {
      assert.deepEqual(
        [result.verification.lines, result.verification.head, result.verification.seals.sealed],
        [2, "match", 2],
      );
    }
    const md = await Deno.readTextFile(result.reportFile);
    assert.ok(md.includes("](audit_report.svg)"));
    assert.ok(md.includes("Generated 2026-11-21 13:00:00 UTC from history.jsonl"));
    const svg = await Deno.readTextFile(result.chartFile);
    assert.equal(xmlProblem(svg), undefined);
    assert.ok(svg.includes("<polyline") === false && svg.includes("<circle")); // one point per series
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".tmp")),
      [],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeAuditReport() renders a missing history as an empty report, creating the chart folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_audit_" });
  try {
    const result = await writeAuditReport({
      historyFile: `${dir}/history.jsonl`,
      reportFile: `${dir}/report.md`,
      chartFile: `${dir}/charts/chart.svg`,
    });
    const md = await Deno.readTextFile(result.reportFile);
    assert.ok(md.includes(NO_EVENTS));
    assert.ok(md.includes("](charts/chart.svg)"));
    assert.ok((await Deno.readTextFile(result.chartFile)).includes(NO_DATA));
    assert.equal(result.events, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
