import assert from "node:assert/strict";
import { createTar, readTar, readTarFiles } from "./mod.ts";

Deno.test("createTar() round-trips through readTar() with owners, modes and long names", () => {
  const long = `usr/lib/${"x".repeat(120)}/libfoo.so.1`;
  const bytes = createTar([
    { type: "dir", name: "var/log/nginx", mode: 0o755, uid: 10002, gid: 10002 },
    { type: "file", name: "etc/passwd", data: new TextEncoder().encode("root:x:0:0\n") },
    { type: "file", name: long, data: new Uint8Array(1000).fill(7), mode: 0o755 },
    { type: "symlink", name: "lib64", target: "lib" },
  ]);
  assert.equal(bytes.length % 512, 0);
  const entries = readTar(bytes);
  assert.deepEqual(entries.map((e) => [e.name, e.type]), [
    ["var/log/nginx/", "dir"],
    ["etc/passwd", "file"],
    [long, "file"],
    ["lib64", "symlink"],
  ]);
  assert.equal(entries[0]!.uid, 10002);
  assert.equal(entries[2]!.mode, 0o755);
  assert.deepEqual(entries[2]!.data, new Uint8Array(1000).fill(7));
  assert.deepEqual([...readTarFiles(bytes).keys()], ["etc/passwd", long]);
});

Deno.test("createTar() is deterministic for the same entries", () => {
  const entries = [{ type: "file" as const, name: "a", data: new Uint8Array([1, 2, 3]) }];
  assert.deepEqual(createTar(entries), createTar(entries));
});
