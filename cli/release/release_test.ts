import assert from "node:assert/strict";
import { join } from "node:path";
import { canonicalJson, sha256Hex } from "../digest/mod.ts";
import {
  bundleFiles,
  decisionGate,
  finishRecord,
  gatesTsv,
  latestGood,
  listRecords,
  listReleases,
  namedImages,
  parseGatesTsv,
  protectedImageIds,
  prunePlan,
  readBundleFile,
  readRelease,
  type ReleaseDraft,
  type ReleaseEvidence,
  releaseHash,
  type ReleaseRecord,
  ReleaseRecorder,
  releasesDir,
  retainedReleases,
  rollbackTarget,
  verifyRecord,
  verifyRelease,
  writeRelease,
} from "./mod.ts";

function draft(over: Partial<ReleaseDraft> = {}): ReleaseDraft {
  return {
    kind: "deploy",
    status: "good",
    project: "p",
    started_at: "2026-11-30T10:00:00.000Z",
    created_at: "2026-11-30T10:00:05.000Z",
    duration_ms: 5000,
    timings: { apply: 4000 },
    actor: { user: "u", host: "h", pid: 1 },
    manifest: {
      file: "manifest.yaml",
      sha256: "ab",
      version: "1.0.0",
      mode: "stable",
      resolved: {},
    },
    images: [{ role: "app", ref: "app:latest", id: "sha256:aaa", digests: [] }],
    containers: [{ name: "p-app-1", role: "app", image_id: "sha256:aaa" }],
    policy: { bundle_hash: "b", sources_hash: "s" },
    health: [{ container: "p-app-1", healthy: true }],
    ...over,
  };
}

const evidence: ReleaseEvidence = {
  manifestText: "project: p\n",
  files: { "nginx.conf": "events {}\n" },
  gates: [{ name: "validate", result: "pass", figure: "9 checks passed", limit: "", at: "t" }],
  decisions: [],
  actions: [{ kind: "route", description: "route to p-app-1" }],
};

type Rec = Pick<ReleaseRecord, "number" | "hash" | "status" | "images">;
function rec(number: number, status: ReleaseRecord["status"], ids: string[] = []): Rec {
  return {
    number,
    hash: `h${number}`,
    status,
    images: ids.map((id) => ({ role: "app", ref: `app:${number}`, id, digests: [] })),
  };
}

Deno.test("releaseHash() is the sha256 of the canonical record without its hash", () => {
  const r = finishRecord(draft(), [], bundleFiles(evidence, null));
  const { hash, ...rest } = r;
  assert.equal(hash, sha256Hex(canonicalJson(rest)));
  assert.equal(releaseHash(r), hash, "the stored hash is left out when hashing");
  const changed = { ...r, manifest: { ...r.manifest, version: "1.0.1" } };
  assert.notEqual(releaseHash(changed), hash, "any field changes the hash");
});

Deno.test("finishRecord() numbers after the highest and points at the newest good release", () => {
  const existing = [rec(1, "good"), rec(2, "good"), rec(3, "failed"), rec(4, "blocked")];
  const r = finishRecord(draft(), existing, {});
  assert.equal(r.number, 5);
  assert.deepEqual(r.previous, { number: 2, hash: "h2" });
  assert.equal(finishRecord(draft(), [], {}).previous, null);
  assert.deepEqual(latestGood([]), null);
});

Deno.test("gatesTsv() writes name, result, figure, limit, time and reads back, tabs escaped", () => {
  const rows = [
    {
      name: "policy.infrastructure",
      result: "pass" as const,
      figure: "a=1\tb",
      limit: "x\ny",
      at: "t1",
    },
    { name: "health", result: "fail" as const, figure: "", limit: "", at: "t2" },
  ];
  const text = gatesTsv(rows);
  assert.equal(text.split("\n")[0], "name\tresult\tfigure\tlimit\ttime");
  assert.ok(text.endsWith("\n"));
  assert.deepEqual(parseGatesTsv(text), [
    { ...rows[0], figure: "a=1 b", limit: "x y" },
    rows[1],
  ]);
});

Deno.test("decisionGate() takes the result from the policy and the limits from the data", () => {
  const row = decisionGate({
    at: "t",
    domain: "infrastructure",
    input: {},
    decision: {
      allow: false,
      reasons: ["disk"],
      domain: "infrastructure",
      checked: { disk_free_gb: 3, cpu_load_1m: null, note: "x" },
    },
  }, { min_disk_free_gb: 10 });
  assert.deepEqual(row, {
    name: "policy.infrastructure",
    result: "fail",
    figure: "cpu_load_1m=null; disk_free_gb=3",
    limit: "min_disk_free_gb=10",
    at: "t",
  });
});

Deno.test("verifyRecord() finds a changed record, a changed file and a missing one", () => {
  const files = bundleFiles(evidence, null);
  const r = finishRecord(draft(), [], files);
  assert.deepEqual(verifyRecord(r, files), []);
  assert.deepEqual(verifyRecord({ ...r, status: "failed" }, files), [
    "release.json does not match its hash",
  ]);
  assert.deepEqual(verifyRecord(r, { ...files, "gates.tsv": "x" }), ["gates.tsv was changed"]);
  const { "manifest.yaml": _gone, ...rest } = files;
  assert.deepEqual(verifyRecord(r, rest), ["manifest.yaml is missing"]);
});

Deno.test("bundleFiles() refuses a rendered file name that would leave files/", () => {
  assert.throws(() => bundleFiles({ ...evidence, files: { "../x": "" } }, null), /plain file name/);
  assert.throws(() => bundleFiles({ ...evidence, files: { "a/b": "" } }, null), /plain file name/);
});

Deno.test("retention keeps the newest N good releases' images, never failed or blocked ones", () => {
  const records = [
    rec(1, "good", ["sha256:1"]),
    rec(2, "good", ["sha256:2"]),
    rec(3, "failed", ["sha256:3"]),
    rec(4, "good", ["sha256:4", "sha256:shared"]),
    rec(5, "good", ["sha256:5", "sha256:shared"]),
  ];
  assert.deepEqual(retainedReleases(records, 2).map((r) => r.number), [5, 4]);
  assert.deepEqual(protectedImageIds(records, 2), ["sha256:4", "sha256:5", "sha256:shared"]);
  assert.deepEqual(
    retainedReleases(records, 0).map((r) => r.number),
    [5],
    "at least the serving one",
  );
  const plan = prunePlan(namedImages(records), protectedImageIds(records, 2), {
    "sha256:2": "container x uses it",
  });
  assert.deepEqual(plan.remove.map((r) => r.id), ["sha256:1", "sha256:3"]);
  assert.deepEqual(plan.keep.map((k) => [k.id, k.why]), [
    ["sha256:2", "container x uses it"],
    ["sha256:4", "a retained release runs it"],
    ["sha256:5", "a retained release runs it"],
    ["sha256:shared", "a retained release runs it"],
  ]);
});

Deno.test("rollbackTarget() picks the good release before the newest good, or N when good", () => {
  const records = [rec(1, "good"), rec(2, "failed"), rec(3, "good"), rec(4, "blocked")];
  assert.equal((rollbackTarget(records) as Rec).number, 1);
  assert.equal((rollbackTarget(records, 3) as Rec).number, 3);
  assert.equal(rollbackTarget(records, 2), "release 2 is failed, not a good release");
  assert.equal(rollbackTarget(records, 9), "release 9 does not exist");
  assert.equal(rollbackTarget([rec(1, "good")]), "release 1 is the only good release");
  assert.equal(rollbackTarget([]), "there is no good release yet");
});

Deno.test("ReleaseRecorder.wrap() records each decision with its exact input and a gate", async () => {
  const r = new ReleaseRecorder(() => new Date("2026-11-30T10:00:00Z"));
  const ev = r.wrap({
    engine: "wasm",
    evaluate: (domain) =>
      Promise.resolve({ allow: true, reasons: [], domain, checked: { disk_free_gb: 50 } }),
  }, (d) => d === "infrastructure" ? { min_disk_free_gb: 10 } : undefined);
  const d = await ev.evaluate("infrastructure", { disk_free_gb: 50 });
  assert.equal(d.allow, true);
  assert.deepEqual(r.decisions, [{
    at: "2026-11-30T10:00:00.000Z",
    domain: "infrastructure",
    input: { disk_free_gb: 50 },
    decision: { allow: true, reasons: [], domain: "infrastructure", checked: { disk_free_gb: 50 } },
  }]);
  assert.equal(r.gates[0]!.limit, "min_disk_free_gb=10");
});

Deno.test("writeRelease() writes a whole bundle that verifies, numbered, with its rollback pointer", async () => {
  const state = await Deno.makeTempDir();
  try {
    const a = await writeRelease(state, draft(), evidence);
    const b = await writeRelease(state, draft({ status: "failed", reason: "boom" }), evidence);
    const c = await writeRelease(state, draft({ kind: "promote" }), evidence);
    assert.deepEqual([a.record.number, b.record.number, c.record.number], [1, 2, 3]);
    assert.equal(b.record.previous?.number, 1);
    assert.equal(c.record.previous?.number, 1, "a failed attempt is never a rollback target");
    assert.equal(await readBundleFile(state, 3, "previous"), `1 ${a.record.hash}\n`);
    assert.equal(await readBundleFile(state, 1, "previous"), "none\n");
    assert.equal(await readBundleFile(state, 1, "files/nginx.conf"), "events {}\n");
    assert.equal(await readBundleFile(state, 1, "decisions.jsonl"), "");
    assert.deepEqual(await readRelease(state, 2), b.record);
    assert.deepEqual(await verifyRelease(state, a.record), []);
    assert.deepEqual((await listReleases(state)).map((s) => [s.number, s.status]), [
      [1, "good"],
      [2, "failed"],
      [3, "good"],
    ]);
    assert.ok(a.bytes > 0);
    // a left-over temp folder (a killed write) and a stray folder are never releases
    await Deno.mkdir(join(releasesDir(state), ".tmp-4-dead"));
    await Deno.mkdir(join(releasesDir(state), "5"));
    assert.equal((await listRecords(state)).length, 3);
    await Deno.writeTextFile(join(releasesDir(state), "1", "gates.tsv"), "tampered\n");
    assert.deepEqual(await verifyRelease(state, a.record), ["gates.tsv was changed"]);
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});
