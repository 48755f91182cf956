/**
 * Scale: 150,000 status checks (about nine days of `status` at 5 s) must
 * verify and report in linear time and bounded memory. Before the fix the
 * chart's `Math.max(...values)` overflowed the call stack ("Maximum call
 * stack size exceeded") and the whole file was held in memory several times.
 *
 * Figures are printed (`scale: …`) for the record; the bounds asserted are
 * loose enough for a busy 2-core machine.
 */

import { xmlProblem } from "./_test_util.ts";
import { sha256Hex } from "../digest/mod.ts";
import assert from "node:assert/strict";
import {
  appendEvent,
  formatLine,
  formatSealedLine,
  headPath,
  historyFiles,
  loadOrCreateKey,
  SEGMENT_BYTES,
  segmentPath,
  type StatusScrapeData,
  ZERO_HASH,
} from "../history/mod.ts";
import { MAX_RAW_POINTS, SLICES, writeAuditReport } from "./mod.ts";

const SCRAPES = 150_000;
/** Every this-many-th check fails the canary policy with a 5 % error rate. */
const SPIKE_EVERY = 1000;
const START = Date.UTC(2026, 10, 1);
const encoder = new TextEncoder();

function scrape(i: number): StatusScrapeData {
  const spike = i % SPIKE_EVERY === 0;
  return {
    mode: "canary",
    chaos: "none",
    version: "1.0.0",
    requests_per_second: 10,
    error_rate_percent: spike ? 5 : 0.1,
    p99_latency_ms: 20 + (i % 50),
    request_count: 300,
    window_seconds: 30,
    policy: { infrastructure: "PASS", canary: spike ? "FAIL" : "PASS" },
    ...(spike ? { reasons: ["Error rate 5.00% exceeds the maximum 1.00%"] } : {}),
  };
}

const fields = (i: number, prev: string) => ({
  ts: new Date(START + i * 5000).toISOString(),
  event: "status_scrape" as const,
  actor: { user: "ops", host: "h", pid: 1 },
  data: scrape(i),
  prev,
});

/**
 * Writes `count` checks as this version's appends would (sealed, archived
 * into segments at `SEGMENT_BYTES`), the last one through `appendEvent`
 * itself so that the head and the checkpoint are the real ones.
 */
async function writeSealed(file: string, keyDir: string, count: number): Promise<void> {
  const key = await loadOrCreateKey(file, keyDir);
  let prev = ZERO_HASH;
  let segment = 0;
  let buf: string[] = [];
  let size = 0;
  const flush = async () => {
    await Deno.writeTextFile(file, buf.join(""), { append: true });
    buf = [];
  };
  for (let i = 0; i < count - 1; i++) {
    if (size >= SEGMENT_BYTES) {
      await flush();
      await Deno.rename(file, segmentPath(file, ++segment));
      size = 0;
    }
    const line = formatSealedLine(fields(i, prev), key);
    prev = sha256Hex(line);
    buf.push(line + "\n");
    size += encoder.encode(line).length + 1;
    if (buf.length >= 5000) await flush();
  }
  await flush();
  await Deno.writeTextFile(
    headPath(file),
    JSON.stringify({ v: 1, lines: count - 1, last: prev }) + "\n",
  );
  await appendEvent(file, "status_scrape", scrape(count - 1), {
    actor: { user: "ops", host: "h", pid: 1 },
    now: () => new Date(START + (count - 1) * 5000),
    keyDir,
  });
}

/** Writes `count` checks as the previous version did: one file, v1 lines, no seal. */
async function writeUnsealed(file: string, count: number): Promise<void> {
  let prev = ZERO_HASH;
  let buf: string[] = [];
  for (let i = 0; i < count; i++) {
    const line = formatLine(fields(i, prev));
    prev = sha256Hex(line);
    buf.push(line + "\n");
    if (buf.length >= 5000 || i === count - 1) {
      await Deno.writeTextFile(file, buf.join(""), { append: true });
      buf = [];
    }
  }
  await Deno.writeTextFile(
    headPath(file),
    JSON.stringify({ v: 1, lines: count, last: prev }) + "\n",
  );
}

/** Runs `fn`, sampling the heap and RSS every 10 ms; returns the peaks above the start. */
async function measured<T>(fn: () => Promise<T>) {
  const start = Deno.memoryUsage();
  let heap = start.heapUsed;
  let rss = start.rss;
  const timer = setInterval(() => {
    const m = Deno.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    rss = Math.max(rss, m.rss);
  }, 10);
  const t0 = performance.now();
  try {
    const value = await fn();
    const m = Deno.memoryUsage();
    return {
      value,
      ms: performance.now() - t0,
      heapMB: (Math.max(heap, m.heapUsed) - start.heapUsed) / 2 ** 20,
      rssMB: (Math.max(rss, m.rss) - start.rss) / 2 ** 20,
    };
  } finally {
    clearInterval(timer);
  }
}

async function auditAndCheck(label: string, file: string, dir: string, keyDir: string) {
  const run = await measured(() =>
    writeAuditReport({
      historyFile: file,
      reportFile: `${dir}/audit_report.md`,
      now: () => new Date("2026-11-10T00:00:00Z"),
      keyDir,
    })
  );
  const files = (await historyFiles(file)).length;
  console.log(
    `  scale (${label}): ${SCRAPES} lines in ${files} file(s), ` +
      `${((await sizeOf(file)) / 2 ** 20).toFixed(1)} MiB: verify + audit ${
        (run.ms / 1000).toFixed(2)
      } s, heap peak +${run.heapMB.toFixed(1)} MiB, RSS peak +${run.rssMB.toFixed(0)} MiB`,
  );
  const result = run.value;
  assert.equal(result.events, SCRAPES);
  assert.ok(result.verification.ok, result.verification.ok ? "" : result.verification.message);
  assert.equal(result.verification.lines, SCRAPES);

  const md = await Deno.readTextFile(result.reportFile);
  assert.match(md, /^\| Events \| 150000 \|$/m);
  assert.match(md, violationsRow(SCRAPES / SPIKE_EVERY));
  assert.match(md, /^\| Period \| 2026-11-01 00:00:00 → 2026-11-09 16:19:55 \|$/m);
  assert.match(md, /From 150000 status checks .* each time slice \(800 points at most\)\./);

  const svg = await Deno.readTextFile(result.chartFile);
  assert.equal(xmlProblem(svg), undefined);
  const polylines = [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1]!.split(" "));
  assert.equal(polylines.length, 2, "one line per series, no gap");
  for (const p of polylines) assert.ok(p.length <= 2 * SLICES, `${p.length} points`);
  // Min/max per slice keeps the 1-in-1000 spikes (an average would flatten
  // them to 0.1 %): 5 % on a 0–6 % scale is y = 78 + 180 − 5/6 · 180 = 108.0.
  const spikes = polylines[0]!.filter((xy) => xy.endsWith(",108.0")).length;
  assert.ok(spikes >= 100, `${spikes} of ${SCRAPES / SPIKE_EVERY} spikes drawn`);
  assert.match(svg, /<text[^>]*>6<\/text>/, "the error scale goes to 6 %");
  assert.ok(svg.length < 200_000, `chart of ${svg.length} bytes`);
  // Linear and bounded: generous limits, the figures above are the record.
  assert.ok(run.ms < 60_000, `took ${run.ms} ms`);
  assert.ok(run.heapMB < 128, `heap grew ${run.heapMB} MiB`);
  return result;
}

async function sizeOf(file: string): Promise<number> {
  let total = 0;
  for (const f of await historyFiles(file)) total += (await Deno.stat(f)).size;
  return total;
}

Deno.test("writeAuditReport() verifies and reports 150,000 sealed status checks in segments, in bounded memory", async () => {
  const root = await Deno.makeTempDir({ prefix: "swiftdeploy_scale_" });
  try {
    await Deno.mkdir(`${root}/project`);
    const file = `${root}/project/history.jsonl`;
    const keyDir = `${root}/keys`;
    await writeSealed(file, keyDir, SCRAPES);
    const files = await historyFiles(file);
    assert.ok(files.length >= 8, `${files.length} files`);
    for (const f of files.slice(0, -1)) {
      const size = (await Deno.stat(f)).size;
      assert.ok(size >= SEGMENT_BYTES && size < SEGMENT_BYTES + 1000, `${f}: ${size} bytes`);
    }
    const result = await auditAndCheck("sealed, segmented", file, `${root}/project`, keyDir);
    assert.ok(result.verification.ok);
    assert.deepEqual(
      [result.verification.seals.sealed, result.verification.seals.checkpoint],
      [SCRAPES, "match"],
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeAuditReport() reports 150,000 status checks written by the previous version (one file, unsealed)", async () => {
  const root = await Deno.makeTempDir({ prefix: "swiftdeploy_scale_" });
  try {
    await Deno.mkdir(`${root}/project`);
    const file = `${root}/project/history.jsonl`;
    await writeUnsealed(file, SCRAPES);
    const result = await auditAndCheck("previous version", file, `${root}/project`, `${root}/keys`);
    assert.ok(result.verification.ok);
    assert.deepEqual(
      [result.verification.files, result.verification.seals.unsealed],
      [1, SCRAPES],
    );
    assert.ok(SCRAPES > MAX_RAW_POINTS);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** The summary's row for `n` policy violations, all of them failing status checks. */
function violationsRow(n: number): RegExp {
  return new RegExp(`^\\| Policy violations \\| ${n} \\(${n} status check\\) \\|$`, "m");
}
