import assert from "node:assert/strict";
import { join } from "node:path";
import { createTar, gunzip, readTar, readTarFiles } from "./mod.ts";
import { headerChecksums } from "./_read.ts";

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

Deno.test("readTarFiles() reads ustar, PAX and GNU long names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const longDir = "d".repeat(60) + "/" + "e".repeat(60);
    await Deno.mkdir(join(dir, "src", longDir), { recursive: true });
    await Deno.writeTextFile(join(dir, "src", longDir, "file.txt"), "long name\n");
    await Deno.writeTextFile(join(dir, "src", "short.txt"), "short\n");
    for (const format of ["pax", "gnu", "ustar"]) {
      const archive = join(dir, `${format}.tar.gz`);
      const tar = await new Deno.Command("tar", {
        args: [
          "--format",
          format,
          "-czf",
          archive,
          "-C",
          join(dir, "src"),
          "short.txt",
          `${longDir}/file.txt`,
        ],
      }).output();
      assert.equal(tar.code, 0, new TextDecoder().decode(tar.stderr));
      const files = readTarFiles(await gunzip(await Deno.readFile(archive)));
      assert.equal(new TextDecoder().decode(files.get("short.txt")), "short\n", format);
      assert.equal(
        new TextDecoder().decode(files.get(`${longDir}/file.txt`)),
        "long name\n",
        format,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTarFiles() rejects an entry that runs past the end", () => {
  // A valid header claiming 4 KiB with only 100 bytes of data behind it.
  const whole = createTar([{ type: "file", name: "x.txt", data: new Uint8Array(4096) }]);
  assert.throws(() => readTarFiles(whole.subarray(0, 612)), /runs past the end/);
});

Deno.test("readTar() refuses a header whose checksum does not match, wherever the corruption is", () => {
  const bytes = createTar([
    { type: "file", name: "etc/passwd", data: new TextEncoder().encode("root:x:0:0\n") },
    { type: "file", name: "b.txt", data: new Uint8Array(600).fill(1) },
  ]);
  assert.equal(readTar(bytes).length, 2, "the archive is valid as written");
  // One flipped byte in every field of either header: name, mode, uid, size, mtime, type, magic…
  for (const header of [0, 1024]) {
    for (const at of [0, 5, 100, 108, 124, 136, 156, 257, 345]) {
      const corrupt = bytes.slice();
      corrupt[header + at]! ^= 0x01;
      assert.throws(
        () => readTar(corrupt),
        new RegExp(`header at byte ${header} has checksum`),
        `byte ${header + at}`,
      );
    }
  }
});

Deno.test("readTar() refuses a header whose checksum field is garbage", () => {
  const bytes = createTar([{ type: "file", name: "a", data: new Uint8Array([1]) }]);
  new TextEncoder().encodeInto("zz\0", bytes.subarray(148));
  assert.throws(() => readTar(bytes), /checksum field "zz" is not octal/);
});

Deno.test("readTar() accepts the signed checksum old writers used", () => {
  const bytes = createTar([{ type: "file", name: "é", data: new Uint8Array([1]) }]);
  const { signed, unsigned } = headerChecksums(bytes.subarray(0, 512));
  assert.notEqual(signed, unsigned, "a non-ASCII name makes the two sums differ");
  new TextEncoder().encodeInto(signed.toString(8).padStart(6, "0") + "\0 ", bytes.subarray(148));
  assert.deepEqual(readTar(bytes).map((e) => e.name), ["é"]);
});
