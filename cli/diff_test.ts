import assert from "node:assert/strict";
import { unifiedDiff } from "./diff.ts";

Deno.test("unifiedDiff() shows one changed line with its context", () => {
  const before = "a\nb\nc\nd\ne\nf\n";
  const after = "a\nb\nc\nX\ne\nf\n";
  assert.equal(
    unifiedDiff(before, after, "f.conf"),
    [
      "--- f.conf (on disk)",
      "+++ f.conf (from the manifest)",
      "@@ -2,5 +2,5 @@",
      " b",
      " c",
      "-d",
      "+X",
      " e",
      " f",
    ]
      .join("\n"),
  );
});

Deno.test("unifiedDiff() of equal texts has no hunk", () => {
  assert.equal(unifiedDiff("x\n", "x\n", "f").split("\n").length, 2);
});

Deno.test("unifiedDiff() shows a missing file as all additions", () => {
  const d = unifiedDiff("", "one\ntwo", "f");
  assert.match(d, /\+one\n\+two/);
});
