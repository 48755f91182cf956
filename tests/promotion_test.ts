/**
 * Environment promotion against the real engine (issue 15): one manifest
 * declaring dev → staging → prod (three small stacks on distinct ports),
 * one release deployed in dev and promoted, as the identical artefact
 * (image ids compared), to staging and then prod with `release promote`;
 * and every refusal of the promotion policy as the CLI reports it (exit 3,
 * the reason printed, a blocked release recorded): staging's soak not
 * over, a freeze of prod, a disallowed registry, and `:latest` reaching
 * production. `rollback -e staging` re-applies staging's release from its
 * bundle without rewriting the manifest file every environment shares.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import { LABEL_PROJECT, LABEL_ROLE } from "../cli/plan/mod.ts";
import {
  compareEngines,
  createSidecarEvaluator,
  createWasmEvaluator,
  generateParitySamples,
} from "../cli/policy/mod.ts";
import { freePort, removeProject, runCli, type RunResult } from "./_harness.ts";

const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

/** The `:sd-<hash>` tag `build` gave each image (a tag that is not `latest`). */
async function sdTags(): Promise<Record<string, string>> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    const out: Record<string, string> = {};
    for (
      const [role, ref] of [
        ["app", "swift-deploy-1-node:latest"],
        ["nginx", "nginx:latest"],
        ["opa", "openpolicyagent/opa:latest-static"],
      ]
    ) {
      const image = await engine.imageInspect(ref!) as { RepoTags?: string[] } | undefined;
      const tag = image?.RepoTags?.find((t) => t.startsWith(`${ref!.split(":")[0]}:sd-`));
      assert.ok(tag, `no :sd- tag on ${ref}: run \`swiftdeploy build\``);
      out[role!] = tag;
    }
    return out;
  } finally {
    engine.close();
  }
}

/** App image id each project's app container runs. */
async function appImage(project: string): Promise<string | undefined> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    const list = await engine.containerList([`${LABEL_PROJECT}=${project}`], false);
    return list.find((c) => c.Labels[LABEL_ROLE] === "app")?.ImageID;
  } finally {
    engine.close();
  }
}

interface Options {
  app: string;
  stagingProduction?: boolean;
  prodFreeze?: boolean;
  registries?: string[];
}

function manifest(base: string, ports: number[], images: Record<string, string>, o: Options) {
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  return `project: ${base}
services:
  image: ${o.app}
  port: 3000
  version: "1.4.0"
nginx:
  image: ${images.nginx}
  port: ${ports[0]}
opa:
  image: ${images.opa}
  decision_timeout_seconds: 2
policy_limits:
  infrastructure: { min_disk_free_gb: 0.1, max_cpu_load: 1000, min_mem_free_percent: 1 }
promotion:
  allowed_registries: [${(o.registries ?? ["docker.io"]).join(", ")}]
environments:
  - name: dev
    nginx: { port: ${ports[0]} }
    opa: { port: ${ports[1]} }
  - name: staging
    nginx: { port: ${ports[2]} }
    opa: { port: ${ports[3]} }
    soak: 4s
    production: ${o.stagingProduction ?? false}
  - name: prod
    nginx: { port: ${ports[4]} }
    opa: { port: ${ports[5]} }
${
    o.prodFreeze
      ? `    freezes:
      - start: "${iso(now - 3600_000)}"
        end: "${iso(now + 3600_000)}"
        reason: year-end freeze
`
      : ""
  }`;
}

Deno.test({
  name:
    "release promote: one release dev → staging → prod as the identical artefact; soak, freeze, registry and :latest refusals each name their reason; rollback -e staging leaves the shared manifest byte-identical",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const base = `p${crypto.randomUUID().slice(0, 6)}`;
    const ports = Array.from({ length: 6 }, () => freePort());
    const images = await sdTags();
    const dir = await Deno.makeTempDir({ prefix: `swiftdeploy-${base}-` });
    const path = join(dir, "manifest.yaml");
    const write = (o: Partial<Options> = {}) =>
      Deno.writeTextFile(path, manifest(base, ports, images, { app: images.app!, ...o }));
    const cli = (args: string[]) => runCli(["-f", path, ...args]);
    const timed = async (args: string[]) => {
      const t0 = performance.now();
      const r = await cli(args);
      return { r, s: (performance.now() - t0) / 1000 };
    };
    const figures: string[] = [];
    try {
      await write();
      // A manifest with environments names one: without -e it is a usage error (exit 2).
      const none = await cli(["init"]);
      assert.equal(none.code, 2, output(none));
      assert.match(
        none.stderr,
        /declares environments "dev", "staging", "prod" and none was chosen/,
      );

      // dev: a plain deploy, release 1 there
      const dev = await timed(["-e", "dev", "deploy"]);
      assert.equal(dev.r.code, 0, output(dev.r));
      assert.ok(
        (await Deno.stat(join(dir, "environments", "dev", ".swiftdeploy", "releases", "1")))
          .isDirectory,
      );
      figures.push(`deploy dev ${dev.s.toFixed(1)} s`);
      const devImage = await appImage(`${base}-dev`);
      assert.ok(devImage);

      // dev → staging: dev's soak is 0s
      const toStaging = await timed(["release", "promote", "1", "--to", "staging"]);
      assert.equal(toStaging.r.code, 0, output(toStaging.r));
      assert.match(toStaging.r.stdout, /Policy \[promotion\] ALLOWED/);
      figures.push(`promote dev → staging ${toStaging.s.toFixed(1)} s`);
      assert.equal(await appImage(`${base}-staging`), devImage, "the identical app image");
      const staging = JSON.parse(
        await Deno.readTextFile(
          join(dir, "environments", "staging", ".swiftdeploy", "releases", "1", "release.json"),
        ),
      );
      assert.equal(staging.kind, "release-promote");
      assert.equal(staging.status, "good");
      assert.equal(staging.environment, "staging");
      assert.equal(staging.promoted_from.environment, "dev");
      assert.equal(staging.promoted_from.number, 1);
      const served = await fetch(`http://127.0.0.1:${ports[2]}/healthz`);
      await served.body?.cancel();
      assert.equal(served.status, 200);

      // Sidecar parity of swiftdeploy.promotion: staging's OPA container holds staging's
      // rendered data (limits.promotion: from dev); it and the WASM build decide alike.
      const data = JSON.parse(
        await Deno.readTextFile(
          join(dir, "environments", "staging", ".swiftdeploy", "opa", "policy_data.json"),
        ),
      );
      assert.equal(data.limits.promotion.from, "dev");
      const samples = generateParitySamples(1000, data.limits).filter((s) =>
        s.domain === "promotion"
      );
      assert.ok(samples.length >= 30, `${samples.length} promotion samples`);
      const wasm = await createWasmEvaluator({ data });
      const sidecar = createSidecarEvaluator({
        url: `http://127.0.0.1:${ports[3]}`,
        timeoutMs: 5000,
      });
      const mismatches = await compareEngines(wasm, sidecar, samples);
      assert.deepEqual(mismatches.slice(0, 2), [], `${mismatches.length} differ`);
      const allows = new Set<boolean>();
      for (const s of samples) allows.add((await sidecar.evaluate("promotion", s.input)).allow);
      assert.deepEqual([...allows].sort(), [false, true], "both outcomes from the sidecar");

      // staging → prod at once: staging's soak (4s) is not over
      const early = await cli(["release", "promote", "1", "--to", "prod"]);
      assert.equal(early.code, 3, output(early));
      assert.match(
        early.stdout,
        /release 1 has run healthy in "staging" for \d+s, less than its soak time of 4s/,
      );
      assert.equal(await appImage(`${base}-prod`), undefined, "nothing started in prod");

      await new Promise((r) => setTimeout(r, 4500));
      // a freeze of prod covering now
      await write({ prodFreeze: true });
      const frozen = await cli(["release", "promote", "1", "--to", "prod"]);
      assert.equal(frozen.code, 3, output(frozen));
      assert.match(
        frozen.stdout,
        /"prod" is frozen from .* \(year-end freeze\): no change may reach it now/,
      );
      // images from a registry the manifest does not allow
      await write({ registries: ["registry.example.com"] });
      const registry = await cli(["release", "promote", "1", "--to", "prod"]);
      assert.equal(registry.code, 3, output(registry));
      assert.match(
        registry.stdout,
        /image "app" \("swift-deploy-1-node:sd-[0-9a-f]+"\) comes from registry "docker.io", not one of the allowed: registry.example.com/,
      );

      // the rules as they were: staging → prod
      await write();
      const toProd = await timed(["release", "promote", "1", "--to", "prod"]);
      assert.equal(toProd.r.code, 0, output(toProd.r));
      figures.push(`promote staging → prod ${toProd.s.toFixed(1)} s`);
      assert.equal(await appImage(`${base}-prod`), devImage, "prod runs what dev tested");
      const blocked = (await Array.fromAsync(
        Deno.readDir(join(dir, "environments", "prod", ".swiftdeploy", "releases")),
      )).filter((e) => /^\d+$/.test(e.name)).length;
      assert.equal(blocked, 4, "three blocked attempts and the good release keep their evidence");

      // `:latest` never reaches production: dev release 2 names the app by :latest,
      // and staging is declared production.
      await write({ app: "swift-deploy-1-node:latest" });
      const dev2 = await cli(["-e", "dev", "deploy"]);
      assert.equal(dev2.code, 0, output(dev2));
      await write({ app: "swift-deploy-1-node:latest", stagingProduction: true });
      const latest = await cli(["release", "promote", "2", "--to", "staging"]);
      assert.equal(latest.code, 3, output(latest));
      assert.match(
        latest.stdout,
        /image "app" is "swift-deploy-1-node:latest": "staging" is production, where no image may be :latest/,
      );

      // rollback -e staging re-applies staging's release 1 from its bundle: the shared
      // manifest file stays byte-identical (it names every environment), staging runs
      // release 1's images by id and its version again
      await Deno.writeTextFile(
        path,
        manifest(base, ports, images, { app: images.app! }).replace(
          'version: "1.4.0"',
          'version: "1.5.0"',
        ),
      );
      const staging2 = await cli(["-e", "staging", "deploy"]);
      assert.equal(staging2.code, 0, output(staging2));
      const shared = await Deno.readTextFile(path);
      const back = await timed(["-e", "staging", "rollback"]);
      assert.equal(back.r.code, 0, output(back.r));
      figures.push(`rollback staging ${back.s.toFixed(1)} s`);
      assert.equal(await Deno.readTextFile(path), shared, "manifest.yaml byte-identical");
      assert.match(
        back.r.stdout,
        /manifest\.yaml is shared by every environment and is not changed/,
      );
      const stagingDir = join(dir, "environments", "staging", ".swiftdeploy", "releases");
      const released = (n: number) =>
        Deno.readTextFile(join(stagingDir, String(n), "release.json")).then(JSON.parse);
      const [one, rolled] = [await released(1), await released(4)];
      assert.equal(rolled.kind, "rollback");
      assert.equal(rolled.rollback_of.number, 1);
      assert.equal(rolled.environment, "staging");
      const ids = (r: { images: { role: string; id: string }[] }) =>
        Object.fromEntries(r.images.map((i) => [i.role, i.id]));
      assert.deepEqual(ids(rolled), ids(one), "the release's image ids");
      assert.equal(await appImage(`${base}-staging`), ids(one).app);
      const health = await fetch(`http://127.0.0.1:${ports[2]}/healthz`);
      assert.equal((await health.json()).version, "1.4.0", "release 1's version serves");
      console.log(`promotion figures: ${figures.join(", ")}`);
    } finally {
      for (const env of ["dev", "staging", "prod"]) await removeProject(`${base}-${env}`);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
