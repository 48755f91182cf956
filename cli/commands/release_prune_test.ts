import assert from "node:assert/strict";
import { splitTags, tagForm } from "./_release_prune.ts";

Deno.test("tagForm() writes a reference as RepoTags lists it; a digest reference is no tag", () => {
  assert.equal(
    tagForm("swift-deploy-1-node:git-83bea45eb634"),
    "swift-deploy-1-node:git-83bea45eb634",
  );
  assert.equal(tagForm("swift-deploy-1-node"), "swift-deploy-1-node:latest");
  assert.equal(tagForm("docker.io/library/nginx"), "nginx:latest");
  assert.equal(tagForm("docker.io/acme/app:1"), "acme/app:1");
  assert.equal(tagForm("127.0.0.1:5000/app"), "127.0.0.1:5000/app:latest");
  assert.equal(tagForm("127.0.0.1:5000/app:2"), "127.0.0.1:5000/app:2");
  assert.equal(tagForm("app@sha256:" + "a".repeat(64)), undefined);
});

Deno.test("splitTags() untags only the tags this project's releases named; every other tag of the image is left", () => {
  const shared = "swift-deploy-1-node:git-83bea45eb634";
  assert.deepEqual(splitTags([shared], [shared, "other:b"]), {
    untag: [shared],
    others: ["other:b"],
  });
  // a tag that moved to another image is not on this one: nothing of ours to untag
  assert.deepEqual(splitTags([shared], ["other:b"]), { untag: [], others: ["other:b"] });
  // untagged (dangling) images list <none>:<none> or nothing
  assert.deepEqual(splitTags([shared], ["<none>:<none>"]), { untag: [], others: [] });
  assert.deepEqual(splitTags([shared], null), { untag: [], others: [] });
  // refs as recorded (no tag, docker.io) match their RepoTags form; digests never untag
  assert.deepEqual(
    splitTags(["docker.io/library/nginx", "app@sha256:" + "b".repeat(64)], [
      "nginx:latest",
      "app:1",
    ]),
    { untag: ["nginx:latest"], others: ["app:1"] },
  );
});
