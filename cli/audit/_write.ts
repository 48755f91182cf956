/**
 * The I/O shell of the audit: read and verify the history, render, write the
 * report and the chart (each through a temp file renamed into place).
 */

import { basename, dirname, relative } from "node:path";
import { atomicWrite } from "../fsutil.ts";
import { readHistory, verifyHistory, type VerifyResult } from "../history/mod.ts";
import { renderChartSvg } from "./_chart.ts";
import { renderAuditReport } from "./_report.ts";

export interface WriteAuditOptions {
  historyFile: string;
  reportFile: string;
  /** Defaults to the report's path with `.svg` for `.md`. */
  chartFile?: string;
  now?: () => Date;
}

export interface WriteAuditResult {
  reportFile: string;
  chartFile: string;
  events: number;
  verification: VerifyResult;
}

async function writeFile(path: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await atomicWrite(path, text);
}

export function defaultChartFile(reportFile: string): string {
  return reportFile.endsWith(".md") ? reportFile.slice(0, -3) + ".svg" : reportFile + ".svg";
}

export async function writeAuditReport(options: WriteAuditOptions): Promise<WriteAuditResult> {
  const chartFile = options.chartFile ?? defaultChartFile(options.reportFile);
  const [read, verification] = await Promise.all([
    readHistory(options.historyFile),
    verifyHistory(options.historyFile),
  ]);
  const report = renderAuditReport(read.events, {
    generatedAt: (options.now ?? (() => new Date()))(),
    chartFileName: relative(dirname(options.reportFile), chartFile).replaceAll("\\", "/"),
    verification,
    historyFileName: basename(options.historyFile),
    malformedLines: read.malformed,
  });
  await writeFile(chartFile, renderChartSvg(read.events));
  await writeFile(options.reportFile, report);
  return { reportFile: options.reportFile, chartFile, events: read.events.length, verification };
}
