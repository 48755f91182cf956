/** cli/source's pure parts: names of a commit's image and version, ref checks, URL or path. */
import assert from "node:assert/strict";
import { SwiftDeployError } from "../errors/mod.ts";
import { checkRef, sourceImageTag, sourceLocation, sourceVersion } from "./mod.ts";

const SHA = "3f2abe5c0ffee0123456789abcdef0123456789a";

Deno.test("sourceVersion() and sourceImageTag() name a commit by its first 12 hex digits", () => {
  assert.equal(sourceVersion(SHA), "git-3f2abe5c0ffe");
  assert.equal(
    sourceImageTag("swift-deploy-1-node:latest", SHA),
    "swift-deploy-1-node:git-3f2abe5c0ffe",
  );
  assert.equal(
    sourceImageTag("127.0.0.1:5000/team/app", SHA),
    "127.0.0.1:5000/team/app:git-3f2abe5c0ffe",
  );
});

Deno.test("sourceLocation() reads URLs as URLs and anything else as a path beside the manifest", () => {
  assert.deepEqual(sourceLocation("https://git.example.com/a.git", "/m"), {
    kind: "url",
    url: "https://git.example.com/a.git",
  });
  assert.deepEqual(sourceLocation("git@git.example.com:team/a.git", "/m"), {
    kind: "url",
    url: "git@git.example.com:team/a.git",
  });
  assert.deepEqual(sourceLocation("file:///srv/a", "/m"), { kind: "url", url: "file:///srv/a" });
  assert.deepEqual(sourceLocation("../app", "/srv/stack"), { kind: "path", path: "/srv/app" });
  assert.deepEqual(sourceLocation("/srv/app", "/m"), { kind: "path", path: "/srv/app" });
});

Deno.test("checkRef() refuses what git could read as an option or a range, exit 2", () => {
  for (const ok of ["main", "3f2abe5", SHA, "release/1.2", "v1.0.0"]) {
    assert.equal(checkRef(ok), ok);
  }
  for (const bad of ["--upload-pack=x", "-f", "a..b", "main@{1}", "", "a b", "x;rm", "a//b"]) {
    assert.throws(
      () => checkRef(bad),
      (e) => e instanceof SwiftDeployError && e.exitCode === 2,
      bad,
    );
  }
});
