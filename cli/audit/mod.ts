/**
 * `swiftdeploy audit`: a GitHub-flavoured Markdown report and an SVG chart
 * built from history.jsonl. Rendering is pure; `writeAuditReport` is the
 * only I/O.
 *
 * @module
 */

export { type AuditReportOptions, NO_EVENTS, renderAuditReport } from "./_report.ts";
export { NO_DATA, renderChartSvg } from "./_chart.ts";
export { escapeCell, escapeText, table } from "./_markdown.ts";
export {
  defaultChartFile,
  type WriteAuditOptions,
  writeAuditReport,
  type WriteAuditResult,
} from "./_write.ts";
