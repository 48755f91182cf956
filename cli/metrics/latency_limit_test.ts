import assert from "node:assert/strict";
import { judgeLatencyLimit } from "./latency_limit.ts";

Deno.test("judgeLatencyLimit() refuses a limit above the highest finite bucket (case 3)", () => {
  const j = judgeLatencyLimit(15000);
  assert.equal(j.ok, false);
  assert.equal(j.effective_ms, 10000);
  assert.match(j.detail, /above the app's highest latency bucket \(10000 ms\).*at most 10000/);
  // at the top bound: judged exactly, said so
  const top = judgeLatencyLimit(10000);
  assert.equal(top.ok, true);
  assert.match(top.detail, /highest latency bucket: judged exactly.*beyond it is always denied/);
});

Deno.test("judgeLatencyLimit() says a bound is exact and a limit inside a bucket acts as the bound below (case 4)", () => {
  const exact = judgeLatencyLimit(500);
  assert.equal(exact.ok, true);
  assert.equal(exact.effective_ms, 500);
  assert.match(exact.detail, /is a latency bucket bound: judged exactly/);
  const inside = judgeLatencyLimit(400);
  assert.equal(inside.ok, true);
  assert.equal(inside.effective_ms, 250);
  assert.match(inside.detail, /inside the latency bucket \(250, 500\] ms: .* acts as 250 ms/);
  assert.equal(judgeLatencyLimit(15).effective_ms, 15); // 0.015 s, no float noise
  assert.equal(judgeLatencyLimit(120.5).effective_ms, 100);
});

Deno.test("judgeLatencyLimit() refuses a limit no P99 can meet, or buckets with no finite bound", () => {
  const tiny = judgeLatencyLimit(0.2);
  assert.equal(tiny.ok, false);
  assert.equal(tiny.effective_ms, null);
  assert.match(tiny.detail, /below the app's smallest latency bucket \(0\.5 ms\)/);
  assert.equal(judgeLatencyLimit(100, [Infinity]).ok, false);
  assert.equal(judgeLatencyLimit(300, [0.5, 0.1, 0.25, 0.25]).effective_ms, 250);
});
