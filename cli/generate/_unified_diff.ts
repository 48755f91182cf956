/**
 * The unified diff `init --check` prints for a stale or edited generated
 * file (pure). The diff itself is the npm `diff` package's (jsdiff,
 * Myers' O(ND) algorithm); this module only names the two sides.
 */
import { structuredPatch } from "diff";

/**
 * A unified diff of `before` (the file on disk) against `after` (what the
 * manifest renders), with `context` unchanged lines around each change, in
 * the form of GNU `diff -u`: `--- name (on disk)`, `+++ name (from the
 * manifest)`, then `@@ -start,count +start,count @@` hunks (a side with no
 * lines starts at 0). Two header lines and no hunk when the texts are equal.
 */
export function unifiedDiff(before: string, after: string, name: string, context = 2): string {
  const patch = structuredPatch(name, name, before, after, undefined, undefined, { context });
  const out = [`--- ${name} (on disk)`, `+++ ${name} (from the manifest)`];
  for (const hunk of patch.hunks) {
    const oldStart = hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart;
    const newStart = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart;
    out.push(`@@ -${oldStart},${hunk.oldLines} +${newStart},${hunk.newLines} @@`, ...hunk.lines);
  }
  return out.join("\n");
}
