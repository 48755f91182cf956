/**
 * Golden table: every manifest in tests/fixtures/manifests/ against
 * tests/fixtures/manifests/expected.json (exact message lines and count for
 * the broken ones, the exact resolved manifest for the valid ones).
 */

import assert from "node:assert/strict";
import { ExitCode, formatFileIssue, ManifestError } from "../errors/mod.ts";
import { parseManifest } from "./mod.ts";

const dir = new URL("../../tests/fixtures/manifests/", import.meta.url);
const expected = JSON.parse(await Deno.readTextFile(new URL("expected.json", dir))) as {
  invalid: Record<string, string[]>;
  valid: Record<string, unknown>;
};
const fixtures = [...Deno.readDirSync(dir)]
  .map((entry) => entry.name)
  .filter((name) => name.endsWith(".yaml"))
  .sort();

function read(name: string): string {
  return Deno.readTextFileSync(new URL(name, dir));
}

Deno.test("fixtures table names every fixture file and nothing else", () => {
  const listed = [...Object.keys(expected.invalid), ...Object.keys(expected.valid)].sort();
  assert.deepEqual(listed, fixtures);
});

Deno.test("fixtures corpus holds at least 25 broken manifests and the four valid variants", () => {
  assert.ok(Object.keys(expected.invalid).length >= 25);
  for (
    const name of [
      "valid_minimal.yaml",
      "valid_other_ports.yaml",
      "valid_other_project.yaml",
      "valid_other_limits.yaml",
    ]
  ) {
    assert.ok(name in expected.valid, name);
  }
  assert.ok((expected.invalid["manifest_many_errors.yaml"] ?? []).length >= 4);
});

for (const [name, lines] of Object.entries(expected.invalid)) {
  Deno.test(`parseManifest() reports exactly ${lines.length} problem(s) when given ${name}`, () => {
    let caught: unknown;
    try {
      parseManifest(read(name), name);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ManifestError, `${name} must be rejected`);
    assert.equal(caught.code, "MANIFEST_INVALID");
    assert.equal(caught.exitCode, ExitCode.invalid);
    assert.equal(caught.issues.length, lines.length);
    assert.deepEqual(caught.issues.map(formatFileIssue), lines);
    // Every reported position exists in the file.
    const fileLines = read(name).split("\n");
    for (const issue of caught.issues) {
      assert.equal(issue.file, name);
      assert.ok(issue.line >= 1 && issue.line <= Math.max(fileLines.length, 1), `${name}: line`);
      assert.ok(issue.col >= 1 && issue.col <= (fileLines[issue.line - 1]?.length ?? 0) + 1);
    }
  });
}

for (const [name, manifest] of Object.entries(expected.valid)) {
  Deno.test(`parseManifest() resolves ${name} to its golden manifest`, () => {
    assert.deepEqual(parseManifest(read(name), name), manifest);
  });
}
