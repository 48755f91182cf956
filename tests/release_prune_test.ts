/**
 * `releases prune` against the real engine, with two projects' folders on
 * one engine whose releases share image tags (as `deploy --ref` of the same
 * commit does): project A's prune removes only A's own tags, never forced,
 * so an image project B still tags stays with B's tag, an image a container
 * of B uses (stopped) stays, and an image only A's old release named goes.
 * Release records are written directly (only their images matter to prune);
 * no stack is deployed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ContainerCreateBody, EngineClient } from "../cli/engine/mod.ts";
import { LABEL_PROJECT } from "../cli/plan/mod.ts";
import { createTar } from "../cli/tar/mod.ts";
import { makeStack, type RunResult } from "./_harness.ts";

const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

async function withEngine<T>(fn: (e: EngineClient) => Promise<T>): Promise<T> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/** A new image (the local app image plus one label) under every tag in `tags`; its id. */
function buildTagged(tags: string[], label: string): Promise<string> {
  const dockerfile =
    `FROM swift-deploy-1-node:latest\nLABEL io.swiftdeploy.test-prune="${label}"\n`;
  const context = createTar([
    { type: "file", name: "Dockerfile", data: new TextEncoder().encode(dockerfile) },
  ]);
  return withEngine((e) => e.imageBuild(context, tags, () => {}));
}

/** A good release record naming `images` (ref, id): all `releases prune` reads of a bundle. */
async function writeRelease(
  dir: string,
  n: number,
  images: { ref: string; id: string }[],
): Promise<void> {
  const at = join(dir, ".swiftdeploy", "releases", String(n));
  await Deno.mkdir(at, { recursive: true });
  await Deno.writeTextFile(
    join(at, "release.json"),
    JSON.stringify({
      number: n,
      hash: `test-${n}`,
      status: "good",
      images: images.map((i) => ({ role: "app", ...i, digests: [] })),
    }),
  );
}

Deno.test({
  name:
    "releases prune untags only its own project's tags: an image another project still tags or whose container uses it stays, one only its old release named goes",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const a = await makeStack();
    const bDir = await Deno.makeTempDir({ prefix: "swiftdeploy-prune-b-" });
    const bProject = `t${crypto.randomUUID().slice(0, 8)}`;
    const repo = `swiftdeploy-prune-${a.project}`;
    const shared = `${repo}:git-83bea45eb634`; // both projects' releases name it
    const bOnly = `${repo}:b-release`; // the same image, a tag only B's release names
    const aOnly = `${repo}:a-only`;
    const bRuns = `${repo}:b-runs`;
    let containerId: string | undefined;
    try {
      const sharedId = await buildTagged([shared, bOnly], "shared");
      const aOnlyId = await buildTagged([aOnly], "a-only");
      const bRunsId = await buildTagged([bRuns], "b-runs");
      // B: a release naming the shared image by both tags, and a stopped container of bRuns.
      await writeRelease(bDir, 1, [{ ref: shared, id: sharedId }, { ref: bOnly, id: sharedId }]);
      containerId = await withEngine((e) =>
        e.containerCreate(`${bProject}-app`, {
          Image: bRuns,
          Labels: { [LABEL_PROJECT]: bProject },
          // Only the parts the type asks for: the container is never started.
        } as unknown as ContainerCreateBody)
      );
      // A: three old releases (one image each), the newest release the only one retained.
      await writeRelease(a.dir, 1, [{ ref: shared, id: sharedId }]);
      await writeRelease(a.dir, 2, [{ ref: aOnly, id: aOnlyId }]);
      await writeRelease(a.dir, 3, [{ ref: bRuns, id: bRunsId }]);
      await writeRelease(a.dir, 4, [{ ref: "swift-deploy-1-node:latest", id: "sha256:none" }]);
      await Deno.writeTextFile(
        a.manifestPath,
        (await Deno.readTextFile(a.manifestPath)) + "releases:\n  retain: 1\n",
      );

      const dry = await a.run(["releases", "prune", "--dry-run"]);
      assert.equal(dry.code, 0, output(dry));
      assert.match(dry.stdout, new RegExp(`would remove ${aOnlyId.slice(0, 19)}`), output(dry));
      assert.match(
        dry.stdout,
        new RegExp(`would untag ${sharedId.slice(0, 19)} +${shared} +\\(image kept: still tagged`),
        output(dry),
      );
      const pr = await a.run(["releases", "prune"]);
      assert.equal(pr.code, 0, output(pr));

      const tags = (id: string) => withEngine(async (e) => (await e.imageInspect(id))?.RepoTags);
      // the shared image stays, with B's own tag; only A's tag of it is gone
      assert.deepEqual(await tags(sharedId), [bOnly], output(pr));
      assert.match(pr.stdout, new RegExp(`untagged ${sharedId.slice(0, 19)} +${shared}`));
      // B's stopped container keeps its image and tag
      assert.deepEqual(await tags(bRunsId), [bRuns], output(pr));
      assert.match(pr.stdout, new RegExp(`keep +${bRunsId.slice(0, 19)}.*container`));
      // the image only A's old release named is gone
      assert.equal(await tags(aOnlyId), undefined, output(pr));
      assert.match(pr.stdout, /1 image\(s\) removed, 2 kept/);
    } finally {
      await withEngine(async (e) => {
        if (containerId) await e.containerRemove(containerId, { force: true }).catch(() => {});
        for (const ref of [shared, bOnly, aOnly, bRuns]) await e.imageRemove(ref).catch(() => {});
      });
      await a.cleanup();
      await Deno.remove(bDir, { recursive: true }).catch(() => {});
    }
  },
});
