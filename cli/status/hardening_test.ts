/**
 * status's hardening view (issue 17): the OOM kills the history has not
 * recorded yet, the logs volume from nginx's /log-files, and the lines.
 */
import assert from "node:assert/strict";
import {
  bytesText,
  type ContainerFacts,
  logVolume,
  newOomKills,
  parseLogFiles,
  renderDashboard,
  type StatusDocument,
} from "./mod.ts";

const app = (over: Partial<ContainerFacts> = {}): ContainerFacts => ({
  role: "app",
  name: "p-app-1",
  status: "running",
  restarts: 0,
  oom_killed: false,
  finished_at: null,
  memory_limit_bytes: 128 * 2 ** 20,
  ...over,
});

Deno.test("newOomKills() reports a kill once per exit, by the engine's FinishedAt", () => {
  const killed = app({ restarts: 1, oom_killed: true, finished_at: "2026-11-30T10:00:00Z" });
  const first = newOomKills([killed, app({ role: "nginx", name: "p-nginx" })], {});
  assert.deepEqual(first.events, [{
    container: "p-app-1",
    role: "app",
    finished_at: "2026-11-30T10:00:00Z",
    restart_count: 1,
    memory_limit_bytes: 128 * 2 ** 20,
  }]);
  assert.deepEqual(first.seen, { "p-app-1": "2026-11-30T10:00:00Z" });
  // The same exit seen again (Docker keeps OOMKilled after the restart): nothing new.
  assert.deepEqual(newOomKills([killed], first.seen).events, []);
  // A second kill: a new exit time.
  const again = app({ restarts: 2, oom_killed: true, finished_at: "2026-11-30T10:05:00Z" });
  assert.equal(newOomKills([again], first.seen).events.length, 1);
  // An exit that was no OOM kill is not one.
  assert.deepEqual(
    newOomKills([app({ restarts: 3, finished_at: "2026-11-30T11:00:00Z" })], {}).events,
    [],
  );
});

Deno.test("newOomKills() forgets containers that are gone", () => {
  const { seen } = newOomKills([], { "old-app": "2026-11-30T10:00:00Z" });
  assert.deepEqual(seen, {});
});

Deno.test("parseLogFiles() reads nginx's lines and logVolume() adds them up", () => {
  const files = parseLogFiles("access.log 120\naccess.log.1 5000\nerror.log 0\nnoise\n\n");
  assert.deepEqual(files, [
    { name: "access.log", bytes: 120 },
    { name: "access.log.1", bytes: 5000 },
    { name: "error.log", bytes: 0 },
  ]);
  assert.deepEqual(logVolume(files), { bytes: 5120, files });
  assert.equal(bytesText(5120), "5.0 KiB");
  assert.equal(bytesText(12), "12 B");
});

const DOC: StatusDocument = {
  timestamp: "2026-11-30T10:00:00Z",
  project: "p",
  app: { reachable: true, error: null },
  mode: "stable",
  chaos: "none",
  version: "1.0.0",
  uptime_seconds: 5,
  window: {
    basis: null,
    seconds: null,
    request_count: null,
    requests_per_second: null,
    error_rate_percent: null,
    p99_latency_ms: null,
    p99_bound_ms: null,
    p99_above_ms: null,
    reset: false,
  },
  policy: {
    infrastructure: { result: "PASS", reasons: [] },
    canary: { result: "PASS", reasons: [] },
  },
};
const OPTS = { intervalSeconds: 2, once: true, limits: { maxErrorRate: 1, maxP99: 500 } };

Deno.test("renderDashboard() shows restarts, an OOM kill and the logs volume when given", () => {
  const lines = renderDashboard({
    ...DOC,
    containers: [
      app({ restarts: 2, oom_killed: true, finished_at: "x" }),
      app({ role: "nginx", name: "p-nginx", memory_limit_bytes: 0 }),
    ],
    logs: { bytes: 3 * 2 ** 20, files: [{ name: "access.log", bytes: 3 * 2 ** 20 }] },
  }, OPTS);
  assert.ok(lines.includes("── Containers ──────────────────────────────────"));
  assert.ok(
    lines.includes(
      "  app         : running, 2 restarts, last exit OOM-killed, memory cap 128.0 MiB",
    ),
  );
  assert.ok(lines.includes("  nginx       : running, 0 restarts"));
  assert.ok(lines.includes("  logs volume : 3.0 MiB in 1 file"));
  // Without them, the dashboard is what it was.
  assert.ok(!renderDashboard(DOC, OPTS).some((l) => l.includes("Containers")));
  const unknown = renderDashboard({ ...DOC, containers: [], logs: { error: "no socket" } }, OPTS);
  assert.ok(unknown.includes("  logs volume : unknown (no socket)"));
});
