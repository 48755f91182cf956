import assert from "node:assert/strict";
import { editDistance, suggestKey } from "./_suggest.ts";

Deno.test("editDistance() counts insertions, deletions, substitutions and swaps", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("port", "port"), 0);
  assert.equal(editDistance("servics", "services"), 1);
  assert.equal(editDistance("services", "servics"), 1);
  assert.equal(editDistance("imgae", "image"), 1);
  assert.equal(editDistance("prot", "port"), 1);
  assert.equal(editDistance("nginx", "ngnix"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
});

Deno.test("suggestKey() picks the closest key within two edits", () => {
  const keys = ["image", "port", "mode", "version", "restart_policy"];
  assert.equal(suggestKey("imgae", keys), "image");
  assert.equal(suggestKey("Port", keys), "port");
  assert.equal(suggestKey("verison", keys), "version");
  assert.equal(suggestKey("restart_polcy", keys), "restart_policy");
});

Deno.test("suggestKey() falls back to a shared prefix when the edit distance is large", () => {
  assert.equal(suggestKey("window", ["window_seconds", "min_requests"]), "window_seconds");
  assert.equal(suggestKey("history", ["history_file", "report_file"]), "history_file");
  assert.equal(suggestKey("report_file_path", ["history_file", "report_file"]), "report_file");
});

Deno.test("suggestKey() suggests nothing when no key is close", () => {
  assert.equal(suggestKey("zzz", ["image", "port", "mode"]), undefined);
  assert.equal(suggestKey("database", ["services", "nginx", "opa"]), undefined);
  assert.equal(suggestKey("ab", ["audit"]), undefined);
});
