/**
 * `swiftdeploy audit`: a GitHub-flavoured Markdown report and an SVG chart
 * built from history.jsonl. Rendering is pure; `writeAuditReport` is the
 * only I/O.
 *
 * @module
 */

export {
  type AuditReportOptions,
  NO_EVENTS,
  renderAuditReport,
  renderReport,
  reportBuilder,
  type ReportModel,
} from "./_report.ts";
export {
  chartBuilder,
  type ChartData,
  MAX_RAW_POINTS,
  NO_DATA,
  renderChart,
  renderChartSvg,
  SLICES,
} from "./_chart.ts";
export { verificationText } from "./_model.ts";
export { escapeCell, escapeText, table } from "./_markdown.ts";
export {
  defaultChartFile,
  type WriteAuditOptions,
  writeAuditReport,
  type WriteAuditResult,
} from "./_write.ts";
