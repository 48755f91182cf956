/**
 * The whole decision of one status/promote tick for a scrape of 1,000
 * series: parse, window against a kept baseline, and both policy decisions
 * in-process. Target: <= 10 ms. Run: `deno bench -A tests/status_tick_bench.ts`.
 */
import { join } from "node:path";
import { computeWindow, type Scrape, scrapeFromText } from "../cli/metrics/mod.ts";
import { generateScrapeText } from "../testing/scrape_text.ts";
import { createWasmEvaluator } from "../cli/policy/mod.ts";

const home = new URL("..", import.meta.url).pathname;
const limits = {
  infrastructure: { min_disk_free_gb: 10, max_cpu_load: 8, min_mem_free_percent: 10 },
  canary: {
    max_error_rate_percent: 1,
    max_p99_latency_ms: 500,
    window_seconds: 30,
    min_requests: 20,
  },
};
const evaluator = await createWasmEvaluator({
  bundleDir: join(home, "build", "policy"),
  policiesDir: join(home, "policies"),
  data: { limits },
});
const baseline: Scrape = scrapeFromText(generateScrapeText(1), 0);
const text = generateScrapeText(3);

Deno.bench("status tick: parse 1,000 series + window + two policy decisions", async () => {
  const newer: Scrape = scrapeFromText(text, 30_000);
  const w = computeWindow(baseline, newer);
  const infra = await evaluator.evaluate("infrastructure", {
    disk_free_gb: 50,
    cpu_load_1m: 0.5,
    mem_free_percent: 60,
  });
  const canary = await evaluator.evaluate("canary", {
    current_mode: "canary",
    target_mode: "stable",
    window_seconds: 30,
    request_count: w.request_count,
    error_rate_percent: w.error_rate_percent,
    p99_latency_ms: w.p99_latency_ms,
  });
  if (typeof infra.allow !== "boolean" || typeof canary.allow !== "boolean") {
    throw new Error("no decision");
  }
});
