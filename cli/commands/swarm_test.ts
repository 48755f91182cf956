import assert from "node:assert/strict";
import { join } from "node:path";
import { createContext } from "./context.ts";
import { loadManifest } from "../manifest/mod.ts";
import { createTerminal } from "../term/mod.ts";
import { planForSwarm, policyDataForSwarm, swarmImages } from "./swarm.ts";

/** The installation: templates/ and policies/. */
const HOME = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

async function folder(version: string, images?: string) {
  const dir = await Deno.makeTempDir({ prefix: "sd-swarm-plan-" });
  const path = join(dir, "manifest.yaml");
  await Deno.writeTextFile(
    path,
    `project: shop\ntarget: swarm\nservices:\n  image: app:1\n  port: 3000\n  version: "${version}"\n  replicas: 2\nnginx:\n  image: nginx:1\n  port: 8080\n`,
  );
  if (images) {
    await Deno.mkdir(join(dir, ".swiftdeploy"));
    await Deno.writeTextFile(join(dir, ".swiftdeploy", "images.json"), images);
  }
  const ctx = {
    ...createContext({
      manifest: path,
      verbose: false,
      policyEngine: "wasm",
      term: createTerminal({ color: false }),
    }),
    home: HOME,
  };
  return { dir, ctx, loaded: await loadManifest(path) };
}

Deno.test("planForSwarm() leaves nginx's and OPA's specs alone when only the app's version changes", async () => {
  const a = await folder("1.0.0");
  try {
    const pa = await planForSwarm(a.ctx, a.loaded, "mgr", "172.17.0.1");
    // The same folder, the manifest edited: only the app's version differs.
    await Deno.writeTextFile(
      a.loaded.path,
      a.loaded.text.replace('version: "1.0.0"', 'version: "1.0.1"'),
    );
    const pb = await planForSwarm(a.ctx, await loadManifest(a.loaded.path), "mgr", "172.17.0.1");
    for (const role of ["nginx", "opa"]) {
      const ha = pa.services.find((s) => s.role === role)?.configHash;
      assert.equal(pb.services.find((s) => s.role === role)?.configHash, ha, role);
    }
    assert.notEqual(pa.services[1]?.configHash, pb.services[1]?.configHash);
    assert.deepEqual(pb.configs.map((c) => c.name), pa.configs.map((c) => c.name));
  } finally {
    await Deno.remove(a.dir, { recursive: true });
  }
});

Deno.test("policyDataForSwarm() drops the generated note and keeps every limit", () => {
  const data = policyDataForSwarm(
    JSON.stringify({ _generated: { manifest: "sha256:x" }, infrastructure: { min: 1 } }),
  );
  assert.deepEqual(JSON.parse(data), { infrastructure: { min: 1 } });
});

Deno.test("swarmImages() takes the references build pushed from .swiftdeploy/images.json, the manifest's names otherwise", async () => {
  const digest = "sha256:" + "a".repeat(64);
  const f = await folder("1.0.0", JSON.stringify({ app: `reg:5000/app@${digest}` }));
  const bad = await folder("1.0.0", JSON.stringify({ app: "app:latest" }));
  const plain = await folder("1.0.0");
  try {
    assert.deepEqual(await swarmImages(f.ctx, f.loaded), {
      app: `reg:5000/app@${digest}`,
      nginx: "nginx:1",
      opa: "openpolicyagent/opa:latest-static",
    });
    assert.deepEqual(await swarmImages(plain.ctx, plain.loaded), {
      app: "app:1",
      nginx: "nginx:1",
      opa: "openpolicyagent/opa:latest-static",
    });
    await assert.rejects(() => swarmImages(bad.ctx, bad.loaded), /not a reference by digest/);
  } finally {
    for (const x of [f, bad, plain]) await Deno.remove(x.dir, { recursive: true });
  }
});
