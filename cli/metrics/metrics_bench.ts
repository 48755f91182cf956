/**
 * Cost of one status/promote tick: parse a 1,000-series scrape, reduce it to
 * window figures and compute the window against a kept baseline (already
 * figures: a kept scrape is never re-parsed). Run:
 * `deno bench cli/metrics/metrics_bench.ts`.
 * Budget: the whole decision (this plus two policy evaluations) <= 10 ms.
 */

import { computeWindow, parsePrometheusText, scrapeFromText } from "./mod.ts";
import { decodeKept, encodeKept } from "../scrapes/mod.ts";
import { generateScrapeText } from "../../testing/scrape_text.ts";

const olderText = generateScrapeText(1);
const newerText = generateScrapeText(2);
if (parsePrometheusText(olderText).sampleCount !== 1000) {
  throw new Error(`expected 1000 series, got ${parsePrometheusText(olderText).sampleCount}`);
}
const older = scrapeFromText(olderText, 0);
const keptText = encodeKept(older);

Deno.bench("parsePrometheusText() of 1,000 series", { group: "tick" }, () => {
  parsePrometheusText(newerText);
});

Deno.bench("scrape newer + computeWindow() against a kept baseline", {
  group: "tick",
  baseline: true,
}, () => {
  computeWindow(older, scrapeFromText(newerText, 30_000));
});

Deno.bench("read the kept baseline + scrape newer + computeWindow()", { group: "tick" }, () => {
  computeWindow(decodeKept(keptText)!, scrapeFromText(newerText, 30_000));
});
