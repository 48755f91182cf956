import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ExitCode, formatFileIssue, ManifestError, SwiftDeployError } from "../errors/mod.ts";
import { loadManifest, setManifestValue } from "./mod.ts";

const shipped = Deno.readTextFileSync(new URL("../../manifest.yaml", import.meta.url));

async function withManifest(
  fn: (dir: string, path: string) => Promise<void>,
  text = shipped,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_manifest_test_" });
  try {
    const path = join(dir, "manifest.yaml");
    await Deno.writeTextFile(path, text);
    await fn(dir, path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

function listDir(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("loadManifest() returns the absolute path, folder, text and sha256 of the file", async () => {
  await withManifest(async (dir, path) => {
    const loaded = await loadManifest(path);
    assert.equal(loaded.path, path);
    assert.equal(loaded.dir, dir);
    assert.equal(loaded.text, shipped);
    assert.equal(loaded.hash, createHash("sha256").update(shipped).digest("hex"));
    assert.equal(loaded.manifest.nginx.port, 8080);
  });
});

Deno.test("loadManifest() throws MANIFEST_NOT_FOUND with exit code 2 when the file is missing", async () => {
  const error = await rejection(loadManifest("no/such/manifest.yaml"));
  assert.ok(error instanceof SwiftDeployError);
  assert.equal(error.code, "MANIFEST_NOT_FOUND");
  assert.equal(error.exitCode, ExitCode.invalid);
  assert.equal(error.message, 'Cannot read manifest "no/such/manifest.yaml": file not found');
  assert.match(error.hint ?? "", /-f\/--manifest/);
});

Deno.test("loadManifest() throws MANIFEST_NOT_FOUND when the path is a folder", async () => {
  await withManifest(async (dir) => {
    const error = await rejection(loadManifest(dir));
    assert.ok(error instanceof SwiftDeployError);
    assert.equal(error.code, "MANIFEST_NOT_FOUND");
  });
});

Deno.test("loadManifest() names the file as given in validation messages", async () => {
  await withManifest(async (_dir, path) => {
    const error = await rejection(loadManifest(path));
    assert.ok(error instanceof ManifestError);
    assert.equal(error.issues[0]?.file, path);
    assert.equal(error.issues[0]?.path, "nginx.port");
  }, shipped.replace("port: 8080", "port: 80a"));
});

Deno.test("setManifestValue() writes only the changed value and returns the new state", async () => {
  await withManifest(async (dir, path) => {
    const loaded = await loadManifest(path);
    const updated = await setManifestValue(loaded, ["services", "mode"], "canary");
    const onDisk = await Deno.readTextFile(path);
    assert.equal(onDisk, updated.text);
    assert.equal(onDisk, shipped.replace("  mode: stable\n", "  mode: canary\n"));
    assert.equal(updated.manifest.services.mode, "canary");
    assert.equal(updated.hash, createHash("sha256").update(onDisk).digest("hex"));
    assert.notEqual(updated.hash, loaded.hash);
    assert.equal(updated.path, loaded.path);
    assert.deepEqual(listDir(dir), ["manifest.yaml"]);
    // The returned state can be used for the next edit.
    const again = await setManifestValue(updated, ["services", "mode"], "stable");
    assert.equal(await Deno.readTextFile(path), shipped);
    assert.equal(again.hash, loaded.hash);
  });
});

Deno.test("setManifestValue() refuses with MANIFEST_CHANGED when the file changed after it was read", async () => {
  await withManifest(async (dir, path) => {
    const loaded = await loadManifest(path);
    const theirs = shipped.replace("proxy_timeout: 30", "proxy_timeout: 45");
    await Deno.writeTextFile(path, theirs);
    const error = await rejection(setManifestValue(loaded, ["services", "mode"], "canary"));
    assert.ok(error instanceof SwiftDeployError);
    assert.equal(error.code, "MANIFEST_CHANGED");
    assert.match(error.message, /changed on disk after it was read/);
    assert.equal(await Deno.readTextFile(path), theirs);
    assert.deepEqual(listDir(dir), ["manifest.yaml"]);
  });
});

Deno.test("setManifestValue() refuses with MANIFEST_CHANGED when the file was removed", async () => {
  await withManifest(async (dir, path) => {
    const loaded = await loadManifest(path);
    await Deno.remove(path);
    const error = await rejection(setManifestValue(loaded, ["services", "mode"], "canary"));
    assert.ok(error instanceof SwiftDeployError);
    assert.equal(error.code, "MANIFEST_CHANGED");
    assert.deepEqual(listDir(dir), []);
  });
});

Deno.test("setManifestValue() never writes a value that makes the manifest invalid", async () => {
  await withManifest(async (dir, path) => {
    const loaded = await loadManifest(path);
    for (
      const [keyPath, value] of [
        [["nginx", "port"], 0],
        [["services", "mode"], "blue"],
        [["opa", "port"], 8080],
        [["services", "colour"], "red"],
      ] as const
    ) {
      const error = await rejection(setManifestValue(loaded, [...keyPath], value));
      assert.ok(error instanceof ManifestError, keyPath.join("."));
      assert.equal(error.exitCode, ExitCode.invalid);
    }
    assert.equal(await Deno.readTextFile(path), shipped);
    assert.deepEqual(listDir(dir), ["manifest.yaml"]);
  });
});

Deno.test("setManifestValue() replaces the file by rename and keeps its permissions", async () => {
  await withManifest(async (dir, path) => {
    await Deno.chmod(path, 0o640);
    const before = await Deno.stat(path);
    const loaded = await loadManifest(path);
    await setManifestValue(loaded, ["nginx", "proxy_timeout"], 60);
    const after = await Deno.stat(path);
    assert.notEqual(after.ino, before.ino, "a new file was renamed over the old one");
    assert.equal((after.mode ?? 0) & 0o777, 0o640);
    assert.deepEqual(listDir(dir), ["manifest.yaml"]);
    assert.match(await Deno.readTextFile(path), /^ {2}proxy_timeout: 60$/m);
  });
});

Deno.test("setManifestValue() writes through a symlink and keeps the link", async () => {
  await withManifest(async (dir, path) => {
    const link = join(dir, "link.yaml");
    await Deno.symlink(path, link);
    const loaded = await loadManifest(link);
    await setManifestValue(loaded, ["services", "mode"], "canary");
    assert.ok((await Deno.lstat(link)).isSymlink);
    assert.match(await Deno.readTextFile(path), /^ {2}mode: canary$/m);
    assert.deepEqual(listDir(dir), ["link.yaml", "manifest.yaml"]);
  });
});

Deno.test("setManifestValue() leaves the file untouched when the value is already set", async () => {
  await withManifest(async (_dir, path) => {
    const before = await Deno.stat(path);
    const loaded = await loadManifest(path);
    const same = await setManifestValue(loaded, ["services", "mode"], "stable");
    assert.equal(same.hash, loaded.hash);
    assert.equal((await Deno.stat(path)).ino, before.ino);
  });
});

Deno.test("loadManifest() rejects output paths that meet only once symlinks are resolved", async () => {
  const withAudit = (lines: string) =>
    shipped.replace(
      /\n {2}history_file: history\.jsonl\n(?:.*\n)*? {2}report_file: audit_report\.md\n/,
      `\n${lines}`,
    );
  const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
    // a folder link back to the manifest folder: reports/manifest.yaml is the manifest
    [
      "  report_file: reports/manifest.yaml\n",
      (dir) => Deno.symlink(".", join(dir, "reports")),
      /audit\.report_file: must not be the same path as the manifest "manifest\.yaml" once symlinks are resolved/,
    ],
    // a file link: the report would be written through it over the history
    [
      "  report_file: latest.md\n",
      async (dir) => {
        await Deno.writeTextFile(join(dir, "history.jsonl"), "");
        await Deno.symlink("history.jsonl", join(dir, "latest.md"));
      },
      /audit\.report_file: must not be the same path as the history "history\.jsonl" once symlinks/,
    ],
    // a link into the state folder: the history would live in the pruned scrapes folder
    [
      "  history_file: kept/h.jsonl\n",
      async (dir) => {
        await Deno.mkdir(join(dir, ".swiftdeploy", "scrapes"), { recursive: true });
        await Deno.symlink(".swiftdeploy/scrapes", join(dir, "kept"));
      },
      /audit\.history_file: must not be inside the kept scrapes folder "\.swiftdeploy\/scrapes" once symlinks/,
    ],
  ];
  for (const [lines, setUp, expected] of cases) {
    const text = withAudit(lines);
    assert.notEqual(text, shipped, "the audit section was replaced");
    await withManifest(async (dir, path) => {
      await setUp(dir);
      const error = await rejection(loadManifest(path));
      assert.ok(error instanceof ManifestError, String(error));
      assert.equal(error.exitCode, ExitCode.invalid);
      assert.equal(error.issues.length, 1, lines);
      assert.match(formatFileIssue(error.issues[0]!), expected);
      assert.ok(error.issues[0]!.line > 1, "points at the key's line");
    }, text);
  }
  // The manifest itself a link: its target's name is taken too.
  await withManifest(async (dir) => {
    await Deno.rename(join(dir, "manifest.yaml"), join(dir, "real.yaml"));
    await Deno.symlink("real.yaml", join(dir, "manifest.yaml"));
    const error = await rejection(loadManifest(join(dir, "manifest.yaml")));
    assert.ok(error instanceof ManifestError, String(error));
    assert.match(error.issues[0]!.message, /must not be the same path as the manifest/);
  }, withAudit("  report_file: real.yaml\n"));
});
