/**
 * Cost of one status/promote tick: parse a 1,000-series scrape and compute
 * the window against a baseline. Run: `deno bench cli/metrics/metrics_bench.ts`.
 * Budget: the whole decision (this plus two policy evaluations) <= 10 ms.
 */

import { computeWindow, parsePrometheusText, type Scrape } from "./mod.ts";
import { generateScrapeText } from "./_scrape_text_testing.ts";

const olderText = generateScrapeText(1);
const newerText = generateScrapeText(2);
const older: Scrape = { at: 0, series: parsePrometheusText(olderText) };
if (older.series.sampleCount !== 1000) {
  throw new Error(`expected 1000 series, got ${older.series.sampleCount}`);
}

Deno.bench("parsePrometheusText() of 1,000 series", { group: "tick" }, () => {
  parsePrometheusText(newerText);
});

Deno.bench("parse newer + computeWindow() against a kept baseline", {
  group: "tick",
  baseline: true,
}, () => {
  const newer: Scrape = { at: 30_000, series: parsePrometheusText(newerText) };
  computeWindow(older, newer);
});

Deno.bench("parse both + computeWindow() (cold)", { group: "tick" }, () => {
  const o: Scrape = { at: 0, series: parsePrometheusText(olderText) };
  const n: Scrape = { at: 30_000, series: parsePrometheusText(newerText) };
  computeWindow(o, n);
});
