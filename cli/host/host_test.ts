import assert from "node:assert/strict";
import { localDataRoot, parseLoadavg, parseMemFreePercent, readHostFigures } from "./mod.ts";

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
  assert.ok(f.disk_free_gb !== null && f.disk_free_gb > 0);
  assert.ok(f.mem_free_percent > 0 && f.mem_free_percent <= 100);
  assert.ok(f.cpu_load_1m >= 0);
});

Deno.test("readHostFigures() gives no disk figure rather than another disk's", async () => {
  // Unknown data root (no engine answered), and a data root this host does not have
  // (the old code measured "/" for both and let the policy judge that disk silently).
  for (const root of [null, "/nonexistent/swiftdeploy/docker-data-root", ""]) {
    const f = await readHostFigures(root);
    assert.equal(f.disk_free_gb, null, String(root));
    assert.ok(f.mem_free_percent > 0, "the other figures are still read");
  }
});

Deno.test("localDataRoot() is the data root only when the engine runs on this host", () => {
  assert.equal(localDataRoot({ kind: "unix" }, "/var/lib/docker"), "/var/lib/docker");
  for (const host of ["127.0.0.1", "localhost", "[::1]", "127.1.2.3"]) {
    assert.equal(localDataRoot({ kind: "tcp", host }, "/data/docker"), "/data/docker", host);
  }
  for (const host of ["10.0.0.5", "docker.example", "[fe80::1]", "127.0.0.1.example"]) {
    assert.equal(localDataRoot({ kind: "tcp", host }, "/var/lib/docker"), null, host);
  }
  assert.equal(localDataRoot({ kind: "unix" }, "C:\\ProgramData\\docker"), null);
});
