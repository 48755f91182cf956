import assert from "node:assert/strict";
import { unifiedDiff } from "./_unified_diff.ts";

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
  assert.equal(
    unifiedDiff("", "one\ntwo\n", "f"),
    "--- f (on disk)\n+++ f (from the manifest)\n@@ -0,0 +1,2 @@\n+one\n+two",
  );
});

Deno.test("unifiedDiff() gives each distant change its own hunk, and patch(1) applies it", async () => {
  const before = Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n") + "\n";
  const lines = before.split("\n");
  lines[3] = "changed 3";
  lines.splice(30, 1);
  lines.splice(35, 0, "inserted");
  const after = lines.join("\n");
  const diff = unifiedDiff(before, after, "f.conf");
  assert.equal(diff.match(/^@@ /gm)?.length, 3, diff);
  // The real patch tool accepts it and turns the old text into the new one.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/f.conf`, before);
    const child = new Deno.Command("patch", {
      args: ["-s", "f.conf"],
      cwd: dir,
      stdin: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(diff + "\n"));
    await writer.close();
    const { code, stderr } = await child.output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.equal(await Deno.readTextFile(`${dir}/f.conf`), after);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
