import assert from "node:assert/strict";
import { join } from "node:path";
import { defaultChartFile } from "../audit/mod.ts";
import { headPath, segmentPath } from "../history/mod.ts";
import { STATE_DIR_NAME } from "../plan/mod.ts";
import { GENERATED_FILE_NAMES } from "../render/mod.ts";
import { scrapesDir } from "../scrapes/mod.ts";
import { DEFAULTS } from "./mod.ts";
import { findCollisions, GENERATED_OUTPUTS, outputPaths, STATE_DIR } from "./_output_paths.ts";
import type { ResolvedManifest } from "./types.ts";

function manifest(history: string, report: string): ResolvedManifest {
  return { audit: { history_file: history, report_file: report } } as ResolvedManifest;
}

Deno.test("outputPaths() names the paths the writers use", () => {
  assert.deepEqual([...GENERATED_OUTPUTS], [...GENERATED_FILE_NAMES]);
  assert.equal(STATE_DIR, STATE_DIR_NAME);
  const paths = outputPaths(manifest("h/x.jsonl", "r/y.md"), "dir/m.yaml").map((o) => o.path);
  assert.ok(paths.includes(headPath("h/x.jsonl")));
  assert.ok(paths.includes(defaultChartFile("r/y.md")));
  const txt = outputPaths(manifest("h", "r/y.txt"), "m.yaml").map((o) => o.path);
  assert.ok(txt.includes(defaultChartFile("r/y.txt")));
  assert.ok(paths.includes(scrapesDir(STATE_DIR)));
  assert.ok(paths.includes(join(STATE_DIR, "lock.json")));
  assert.ok(paths.includes("m.yaml"), "the manifest by its base name");
  const family = outputPaths(manifest("h/x.jsonl", segmentPath("h/x.jsonl", 7)), "m.yaml");
  assert.deepEqual(
    findCollisions(family).map((c) => [c.a.path, c.b.path]),
    [["h/x.<n>.jsonl", segmentPath("h/x.jsonl", 7)]],
    "the history's segments, as cli/history names them",
  );
});

Deno.test("findCollisions() finds none among the defaults and fixed names", () => {
  const d = DEFAULTS.audit;
  assert.deepEqual(
    findCollisions(outputPaths(manifest(d.history_file, d.report_file), "manifest.yaml")),
    [],
  );
});

Deno.test("findCollisions() tells same path, inside and holding apart, by canonical form", () => {
  const outs = outputPaths(manifest("a", "a/b.md"), "m.yaml");
  const found = findCollisions(outs);
  assert.deepEqual(
    found.map((c) => [c.a.path, c.relation, c.b.path]),
    [["a", "contains", "a/b.md"], ["a", "contains", "a/b.svg"]],
  );
  const viaLink = findCollisions(
    outputPaths(manifest("x/h.jsonl", "r.md"), "m.yaml"),
    (p) => p.replace(/^x\//, "/real/").replace(/^m\.yaml$/, "/real/h.jsonl"),
  );
  assert.equal(viaLink.length, 1);
  assert.equal(viaLink[0]!.relation, "same");
  assert.deepEqual(viaLink[0]!.resolved, { a: "/real/h.jsonl", b: "/real/h.jsonl" });
});
