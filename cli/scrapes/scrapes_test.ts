import assert from "node:assert/strict";
import { join } from "node:path";
import { computeWindow, scrapeFromText } from "../metrics/mod.ts";
import { decodeKept, encodeKept, keep, KEPT_FORMAT, loadKept } from "./mod.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../../tests/fixtures/metrics/${name}`, import.meta.url));

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sd-scrapes-" });
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const BROKEN = [
  "# TYPE http_requests_total counter",
  'http_requests_total{method="GET",path="/",status_code="200"} NaN',
  'http_requests_total{method="GET",path="/",status_code="500"} -Inf',
  "# TYPE http_request_duration_seconds histogram",
  'http_request_duration_seconds_bucket{le="0.1",method="GET",path="/"} +Inf',
  'http_request_duration_seconds_bucket{le="+Inf",method="GET",path="/"} 3',
  'app_instance_info{instance="pid-7"} 1',
  "",
].join("\n");

Deno.test("a kept scrape is the window's figures and reads back equal, NaN and ±Inf included", () => {
  for (const text of [fixture("app_canary_t0.txt"), BROKEN]) {
    const s = scrapeFromText(text, T0);
    const kept = encodeKept(s);
    assert.equal(JSON.parse(kept).format, KEPT_FORMAT);
    assert.ok(!kept.includes("# TYPE"), "no raw exposition text is kept");
    assert.deepEqual(decodeKept(kept), s);
  }
  const s = decodeKept(encodeKept(scrapeFromText(BROKEN, T0)))!;
  assert.equal(s.instance, "pid-7");
  assert.ok(Number.isNaN(s.requests[0]!.value));
  assert.equal(s.requests[1]!.value, -Infinity);
  assert.deepEqual(s.buckets.map((b) => [b.le, b.value]), [[0.1, Infinity], [Infinity, 3]]);
});

Deno.test("decodeKept() refuses foreign or damaged documents instead of guessing", () => {
  const good = JSON.parse(encodeKept(scrapeFromText(fixture("app_canary_t0.txt"), T0)));
  const bad: unknown[] = [
    "",
    "{",
    "null",
    "[]",
    { ...good, format: "swiftdeploy-scrape/9" },
    { ...good, at: "now" },
    { ...good, instance: 3 },
    { ...good, state: null },
    { ...good, state: { ...good.state, mode: "blue" } },
    { ...good, state: { ...good.state, uptime_seconds: "1" } },
    { ...good, requests: {} },
    { ...good, requests: [["k", true, false]] },
    { ...good, requests: [["k", true, false, "12"]] },
    { ...good, buckets: [["k", true, "NaN", 1]] },
    { ...good, buckets: [["k", "yes", 0.1, 1]] },
  ];
  for (const doc of bad) {
    const text = typeof doc === "string" ? doc : JSON.stringify(doc);
    assert.equal(decodeKept(text), undefined, text.slice(0, 80));
  }
});

Deno.test("loadKept() reads kept figures and old raw .prom scrapes, and skips damaged files", async () => {
  await withDir(async (dir) => {
    await keep(dir, scrapeFromText(fixture("app_canary_t30.txt"), T0 + 30_000));
    // kept by an earlier version: raw text
    await Deno.writeTextFile(join(dir, `${T0}.prom`), fixture("app_canary_t0.txt"));
    // damaged ones of both kinds, a foreign name, a figures file whose name and time differ
    await Deno.writeTextFile(join(dir, `${T0 + 1000}.prom`), "not {metrics");
    await Deno.writeTextFile(join(dir, `${T0 + 2000}.json`), '{"format":');
    await Deno.writeTextFile(join(dir, `notes.json`), "{}");
    await Deno.writeTextFile(
      join(dir, `${T0 + 3000}.json`),
      encodeKept(scrapeFromText(BROKEN, T0 + 4000)),
    );
    const kept = await loadKept(dir, T0 - 1, T0 + 60_000);
    assert.deepEqual(kept.map((s) => s.at), [T0, T0 + 30_000]);
    // the old raw scrape and the new figures make the same window as two fresh scrapes
    const w = computeWindow(kept[0]!, kept[1]!);
    assert.equal(w.request_count, 200);
    assert.equal(w.error_count, 8);
    assert.equal(w.p99_bound_ms, 15);
    assert.deepEqual(await loadKept(dir, T0 + 1, T0 + 29_999), []);
    assert.deepEqual(await loadKept(join(dir, "missing"), 0, Infinity), []);
  });
});

Deno.test("keep() writes one figures file per scrape and prunes files older than two hours", async () => {
  await withDir(async (dir) => {
    const old = T0 - 2 * 3600 * 1000 - 1;
    await Deno.writeTextFile(join(dir, `${old}.prom`), fixture("app_canary_t0.txt"));
    await keep(dir, scrapeFromText(fixture("app_canary_t0.txt"), T0));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, [`${T0}.json`]);
  });
});
