import assert from "node:assert/strict";
import { parseLoadavg, parseMemFreePercent, readHostFigures } from "./mod.ts";

Deno.test("parseLoadavg() takes the 1-minute figure", () => {
  assert.equal(parseLoadavg("1.25 0.80 0.50 2/345 6789\n"), 1.25);
  assert.throws(() => parseLoadavg("garbage"), /Cannot parse/);
});

Deno.test("parseMemFreePercent() divides MemAvailable by MemTotal", () => {
  const text = "MemTotal:       2000 kB\nMemFree:         100 kB\nMemAvailable:    500 kB\n";
  assert.equal(parseMemFreePercent(text), 25);
  assert.throws(() => parseMemFreePercent("MemTotal: 1 kB\n"), /MemAvailable/);
});

Deno.test("readHostFigures() reads real figures from this host", async () => {
  const f = await readHostFigures("/");
  assert.ok(f.disk_free_gb > 0 && f.mem_free_percent > 0 && f.mem_free_percent <= 100);
  assert.ok(f.cpu_load_1m >= 0);
});
