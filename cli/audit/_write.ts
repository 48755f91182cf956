/**
 * The I/O shell of the audit: read and verify the history, render, write the
 * report and the chart (each through a temp file renamed into place).
 */

import { basename, dirname, relative } from "node:path";
import { atomicWrite } from "../fs/mod.ts";
import { readHistoryLines, verifyHistory, type VerifyResult } from "../history/mod.ts";
import { chartBuilder, renderChart } from "./_chart.ts";
import { renderReport, reportBuilder } from "./_report.ts";

export interface WriteAuditOptions {
  historyFile: string;
  reportFile: string;
  /** Defaults to the report's path with `.svg` for `.md`. */
  chartFile?: string;
  now?: () => Date;
  /** Folder of the sealing keys for verification (default: from the environment). */
  keyDir?: string | undefined;
  /** The release bundles' folder (`.swiftdeploy/releases`), linked from the report. */
  releasesDir?: string;
}

export interface WriteAuditResult {
  reportFile: string;
  chartFile: string;
  events: number;
  verification: VerifyResult;
}

/** Unreadable lines listed by number in the report; the rest are only counted. */
const MALFORMED_LISTED = 20;

async function writeFile(path: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await atomicWrite(path, text);
}

export function defaultChartFile(reportFile: string): string {
  return reportFile.endsWith(".md") ? reportFile.slice(0, -3) + ".svg" : reportFile + ".svg";
}

/**
 * Verifies the history, then streams it once (segments in order, one line
 * at a time) into the report and chart builders, and writes both files.
 * Time is linear in the history's length; memory grows with the report's
 * rows and the chart's bounded points, not with the number of events.
 */
export async function writeAuditReport(options: WriteAuditOptions): Promise<WriteAuditResult> {
  const chartFile = options.chartFile ?? defaultChartFile(options.reportFile);
  const verification = await verifyHistory(
    options.historyFile,
    "keyDir" in options ? { keyDir: options.keyDir } : {},
  );
  const report = reportBuilder();
  const chart = chartBuilder();
  const malformed: number[] = [];
  let malformedCount = 0;
  let events = 0;
  for await (const line of readHistoryLines(options.historyFile)) {
    if (!line.ok) {
      if (malformedCount++ < MALFORMED_LISTED) malformed.push(line.line);
      continue;
    }
    events++;
    report.add(line.event);
    chart.add(line.event);
  }
  const chartData = chart.data();
  const text = renderReport(report.model(), {
    generatedAt: (options.now ?? (() => new Date()))(),
    chartFileName: relative(dirname(options.reportFile), chartFile).replaceAll("\\", "/"),
    verification,
    historyFileName: basename(options.historyFile),
    malformedLines: malformed,
    malformedCount,
    ...(chartData.sampled === undefined ? {} : { chartSampled: chartData.sampled }),
    ...(options.releasesDir === undefined ? {} : {
      releasesPath: relative(dirname(options.reportFile), options.releasesDir).replaceAll(
        "\\",
        "/",
      ),
    }),
  });
  await writeFile(chartFile, renderChart(chartData));
  await writeFile(options.reportFile, text);
  return { reportFile: options.reportFile, chartFile, events, verification };
}
