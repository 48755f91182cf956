/**
 * The swarm target through the real CLI, as a user runs it: `build` pushes
 * the images to the lab's registry by digest, `deploy`, `status` and
 * `teardown` reach the lab's manager without DOCKER_HOST, and what the swarm
 * target does not do yet (`promote`, `--dry-run`, rollouts) is refused
 * before anything changes, with exit 2 and the reason. Releases on the
 * swarm: each deploy writes a good bundle whose images are the digests the
 * services run, and `rollback` re-applies the previous release's digests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliSwarmFolder, ensureLab, hostEngine, pushToLab } from "./_swarm_lab.ts";
import { createTar } from "../cli/tar/mod.ts";
import type { RunResult } from "./_harness.ts";
import { labDown, labNodeClient } from "../cli/lab/mod.ts";
import { LABEL_PROJECT, LABEL_ROLE } from "../cli/plan/mod.ts";
import type { ReleaseRecord } from "../cli/release/mod.ts";

const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

Deno.test({
  name:
    "swarm through the CLI: build pushes by digest, deploy --dry-run changes nothing, deploy 3 replicas, status per node, promote --dry-run changes nothing, deploys record releases by digest and rollback brings the previous digest back, teardown",
  ignore: Deno.uid() !== 0,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { lab, owned } = await ensureLab();
    const { port, dir, run, project } = await cliSwarmFolder("sc");
    const mgr = await labNodeClient(lab, 1);
    // The project's services on the swarm: name → version index (an update raises it).
    const services = async () =>
      Object.fromEntries(
        ((await (await mgr.request("GET", "/services", {
          query: { filters: JSON.stringify({ label: [`${LABEL_PROJECT}=${project}`] }) },
        })).json()) as { Spec: { Name: string }; Version: { Index: number } }[])
          .map((x) => [x.Spec.Name, x.Version.Index]),
      );
    const historyLines = async () =>
      (await Deno.readTextFile(join(dir, "history.jsonl")).catch(() => "")).split("\n")
        .filter(Boolean).length;
    try {
      const built = await run(["build"]);
      assert.equal(built.code, 0, output(built));
      assert.match(built.stdout, /@sha256:[0-9a-f]{64}/);
      const images = JSON.parse(
        await Deno.readTextFile(join(dir, ".swiftdeploy", "images.json")),
      ) as Record<string, string>;
      assert.match(images.app ?? "", /@sha256:/);

      // deploy --dry-run: every object would be created, images by digest; nothing is.
      let lines = await historyLines();
      const dry = await run(["deploy", "--dry-run"]);
      assert.equal(dry.code, 0, output(dry));
      assert.match(dry.stdout, new RegExp(`create network "${project}-net"`));
      assert.match(
        dry.stdout,
        new RegExp(`create service "${project}-app": image \\S+@sha256:[0-9a-f]{64}`),
      );
      assert.match(dry.stdout, /dry run: nothing was written, created or changed on the swarm/);
      assert.deepEqual(await services(), {});
      assert.equal(await mgr.networkInspect(`${project}-net`), undefined);
      assert.equal(await historyLines(), lines);

      const deployed = await run(["deploy"]);
      assert.equal(deployed.code, 0, output(deployed));
      const status = await run(["status", "--json"]);
      assert.equal(status.code, 0, output(status));
      const text = JSON.stringify(JSON.parse(status.stdout));
      for (const node of lab.nodes) assert.ok(text.includes(node.name), `${node.name} listed`);
      const manager = lab.nodes.find((n) => n.role === "manager")!;
      const res = await fetch(`http://${manager.address}:${port}/healthz`);
      assert.equal(res.status, 200, await res.text());

      // promote canary --dry-run: the app would roll to mode canary; nothing changes.
      const before = await services();
      lines = await historyLines();
      const promoteDry = await run(["promote", "canary", "--dry-run"]);
      assert.equal(promoteDry.code, 0, output(promoteDry));
      assert.match(
        promoteDry.stdout,
        new RegExp(
          `update service "${project}-app" \\(a rolling update\\):\\n\\s+env MODE "stable" → "canary"`,
        ),
      );
      assert.match(promoteDry.stdout, /unchanged: .*service "\S+-nginx"/);
      assert.match(promoteDry.stdout, /the canary gate was not asked/);
      assert.deepEqual(await services(), before);
      assert.equal(await historyLines(), lines);
      assert.match(await Deno.readTextFile(join(dir, "manifest.yaml")), /replicas: 3/);

      const refused = await run(["rollout", "status"]);
      assert.equal(refused.code, 2, output(refused));
      assert.match(refused.stderr, /on target swarm/);

      // Releases on the swarm: the deploy wrote good release 1, its images the digests the
      // services run, nginx.conf and policy_data.json as files.
      const release = async (n: number) =>
        JSON.parse(
          await Deno.readTextFile(join(dir, ".swiftdeploy", "releases", String(n), "release.json")),
        ) as ReleaseRecord;
      const running = async () =>
        Object.fromEntries(
          ((await (await mgr.request("GET", "/services", {
            query: { filters: JSON.stringify({ label: [`${LABEL_PROJECT}=${project}`] }) },
          })).json()) as {
            Spec: {
              Labels: Record<string, string>;
              TaskTemplate: { ContainerSpec: { Image: string } };
            };
          }[]).map((x) => [x.Spec.Labels[LABEL_ROLE], x.Spec.TaskTemplate.ContainerSpec.Image]),
        );
      const r1 = await release(1);
      assert.equal(r1.kind, "deploy");
      assert.equal(r1.status, "good");
      const byRole = (r: ReleaseRecord) =>
        Object.fromEntries(r.images.map((i) => [i.role, i.digests[0]]));
      assert.deepEqual(byRole(r1), await running());
      assert.deepEqual(byRole(r1), { app: images.app, nginx: images.nginx, opa: images.opa });
      assert.equal(r1.containers.filter((c) => c.role === "app").length, 3);
      for (const f of ["files/nginx.conf", "files/policy_data.json"]) assert.ok(r1.files[f], f);
      const shown = await run(["releases", "show", "1"]);
      assert.equal(shown.code, 0, output(shown));

      // A second app image (another digest, same app) and version 1.1.0: good release 2.
      const host = await hostEngine();
      let second: string;
      try {
        const tar = createTar([{
          type: "file",
          name: "Dockerfile",
          data: new TextEncoder().encode(
            `FROM swift-deploy-1-node:latest\nLABEL swiftdeploy.test="${project}"\n`,
          ),
        }]);
        await host.imageBuild(tar, [`swiftdeploy-second:${project}`], () => {});
        second = await pushToLab(host, lab, `swiftdeploy-second:${project}`, `${project}/second`);
        await host.imageRemove(`swiftdeploy-second:${project}`).catch(() => {});
      } finally {
        host.close();
      }
      assert.notEqual(second, images.app);
      await Deno.writeTextFile(
        join(dir, ".swiftdeploy", "images.json"),
        JSON.stringify({ ...images, app: second }, null, 2) + "\n",
      );
      const manifestPath = join(dir, "manifest.yaml");
      await Deno.writeTextFile(
        manifestPath,
        (await Deno.readTextFile(manifestPath)).replace('version: "1.0.0"', 'version: "1.1.0"'),
      );
      const again = await run(["deploy"]);
      assert.equal(again.code, 0, output(again));
      const r2 = await release(2);
      assert.equal(r2.status, "good");
      assert.equal(byRole(r2).app, second);
      assert.equal((await running()).app, second);

      // rollback: release 1's manifest and digests through the swarm, no build, no push.
      const back = await run(["rollback"]);
      assert.equal(back.code, 0, output(back));
      assert.match(back.stdout, /Rolled back to release 1/);
      assert.doesNotMatch(back.stdout + back.stderr, /push|build/i);
      assert.deepEqual(await running(), byRole(r1));
      const r3 = await release(3);
      assert.equal(r3.kind, "rollback");
      assert.equal(r3.status, "good");
      assert.deepEqual(r3.rollback_of, { number: 1, hash: r1.hash });
      assert.deepEqual(byRole(r3), byRole(r1));
      assert.match(await Deno.readTextFile(manifestPath), /version: "1.0.0"/);
      assert.equal(
        JSON.parse(await Deno.readTextFile(join(dir, ".swiftdeploy", "images.json"))).app,
        images.app,
      );
      const health = await fetch(`http://${manager.address}:${port}/healthz`);
      assert.match(await health.text(), /1\.0\.0/);
    } finally {
      mgr.close();
      const down = await run(["teardown"]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      if (owned) await labDown(() => {});
      assert.equal(down.code, 0, output(down));
    }
  },
});
