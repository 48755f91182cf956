/**
 * The manifest's `releases` section (issue 15): `retain`, its default and
 * every kind of problem with its exact line:col message.
 */
import assert from "node:assert/strict";
import { BASE, problems as problemsOf } from "./_section_testing.ts";
import { DEFAULTS, parseManifest } from "./mod.ts";
import { DEFAULT_RETAIN, releasesDir } from "../release/mod.ts";
import { outputPaths, STATE_DIR } from "./_output_paths.ts";
import type { ResolvedManifest } from "./types.ts";

/** The problems of BASE (lines 1–6) with `tail` appended from line 7. */
const problems = (tail: string) => problemsOf(BASE + tail);

Deno.test("releases.retain resolves as written; absent, the section is left out (5 applies)", () => {
  assert.equal(
    parseManifest(BASE + "releases:\n  retain: 2\n", "manifest.yaml").releases?.retain,
    2,
  );
  assert.equal(parseManifest(BASE, "manifest.yaml").releases, undefined);
  assert.equal(DEFAULTS.releases.retain, DEFAULT_RETAIN, "the manifest's default is cli/release's");
});

Deno.test("releases.retain that is not a whole number from 1 is refused with its line:col", () => {
  assert.deepEqual(problems("releases:\n  retain: 0\n"), [
    "manifest.yaml:8:11 releases.retain: must be an integer between 1 and 1000 (got 0)",
  ]);
  assert.deepEqual(problems("releases:\n  retain: two\n"), [
    'manifest.yaml:8:11 releases.retain: must be an integer between 1 and 1000 (got "two")',
  ]);
  assert.match(
    problems("releases:\n  retian: 3\n").join("\n"),
    /8:3 .*retian.*did you mean "retain"/,
  );
});

Deno.test("the release bundles folder is an output path, so no manifest key can write over it", () => {
  const m = { audit: { ...DEFAULTS.audit } } as ResolvedManifest;
  const paths = outputPaths(m, "manifest.yaml").map((o) => o.path);
  assert.ok(paths.includes(releasesDir(STATE_DIR)), paths.join(", "));
});
