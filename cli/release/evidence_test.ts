import assert from "node:assert/strict";
import { type ReleaseRecord, ReleaseRecorder, retainedReleases, rollbackTarget } from "./mod.ts";
import { columnWidths, formatRow } from "../commands/release.ts";

type Rec = Pick<ReleaseRecord, "number" | "status">;

Deno.test("a ReleaseRecorder restored from a snapshot keeps the start's time, gates, decisions and actions and appends to them", async () => {
  let now = new Date("2026-12-01T10:00:00Z");
  const start = new ReleaseRecorder(() => now);
  start.gate("validate", "pass", "9 checks passed");
  await start.wrap({
    engine: "wasm",
    evaluate: (domain) =>
      Promise.resolve({ allow: true, reasons: [], domain, checked: { disk_free_gb: 50 } }),
  }).evaluate("infrastructure", { disk_free_gb: 50 });
  start.steps([{ kind: "create-container", description: "create canary" }]);
  start.time("validate", 12.34);
  // Persisted as JSON by the process that started it, read by the one that ends it, 12 s on.
  const snap = JSON.parse(JSON.stringify(start.snapshot()));
  now = new Date("2026-12-01T10:00:12Z");
  const end = new ReleaseRecorder(() => now, snap);
  end.gate("policy.rollout", "pass");
  end.steps([{ kind: "drain", description: "drain canary" }]);
  assert.equal(end.started.toISOString(), "2026-12-01T10:00:00.000Z");
  assert.equal(end.elapsedMs(), 12_000);
  assert.deepEqual(end.gates.map((g) => g.name), [
    "validate",
    "policy.infrastructure",
    "policy.rollout",
  ]);
  assert.deepEqual(end.decisions.map((d) => d.domain), ["infrastructure"]);
  assert.deepEqual(end.actions.map((a) => a.kind), ["create-container", "drain"]);
  assert.deepEqual(end.timings, { validate: 12.3 });
  // A snapshot with a bad start time falls back to now, never an Invalid Date.
  const bad = new ReleaseRecorder(() => now, { ...snap, started_at: "" });
  assert.equal(bad.started.toISOString(), now.toISOString());
});

Deno.test("an aborted release is never a rollback target nor retained, like blocked and failed", () => {
  const records: Rec[] = [
    { number: 1, status: "good" },
    { number: 2, status: "aborted" },
    { number: 3, status: "good" },
    { number: 4, status: "aborted" },
  ];
  assert.equal((rollbackTarget(records) as Rec).number, 1);
  assert.equal(rollbackTarget(records, 4), "release 4 is aborted, not a good release");
  assert.deepEqual(retainedReleases(records, 5).map((r) => r.number), [3, 1]);
});

Deno.test("the releases table sizes its columns to the content: git-<sha12> versions stay aligned", () => {
  const header = ["#", "status", "kind", "version", "mode", "created (UTC)", "sha256"];
  const rows = [
    ["1", "good", "deploy", "1.0.0", "stable", "2026-12-01 10:00:00", "aaaaaaaaaaaa"],
    [
      "12",
      "blocked",
      "release-promote",
      "git-83bea45eb634",
      "canary",
      "2026-12-01 10:01:00",
      "b".repeat(12),
    ],
    ["3", "aborted", "rollout", "2", "stable", "2026-12-01 10:02:00", "c".repeat(12)],
  ];
  const widths = columnWidths([header, ...rows]);
  const lines = [header, ...rows].map((r) => formatRow(r, widths));
  // Every column starts at the same offset on every line.
  const starts = (line: string, cells: string[]) => {
    let from = 0;
    return cells.map((c) => {
      const at = line.indexOf(c, from);
      from = at + c.length;
      return at;
    });
  };
  const first = starts(lines[0]!, header).slice(1);
  for (const [i, r] of rows.entries()) {
    assert.deepEqual(starts(lines[i + 1]!, r).slice(1), first, lines.join("\n"));
  }
  assert.equal(lines[2]!.indexOf("12"), 0, "the number is right-aligned");
  assert.match(lines[1]!, /^ 1 {2}good /);
});
