/**
 * The swarm target through the real CLI, as a user runs it: `build` pushes
 * the images to the lab's registry by digest, `deploy`, `status` and
 * `teardown` reach the lab's manager without DOCKER_HOST, and what the swarm
 * target does not do yet (`promote`, `--dry-run`, rollouts) is refused
 * before anything changes, with exit 2 and the reason.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliSwarmFolder, ensureLab } from "./_swarm_lab.ts";
import type { RunResult } from "./_harness.ts";
import { labDown, labNodeClient } from "../cli/lab/mod.ts";
import { LABEL_PROJECT } from "../cli/plan/mod.ts";

const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

Deno.test({
  name:
    "swarm through the CLI: build pushes by digest, deploy --dry-run changes nothing, deploy 3 replicas, status per node, promote --dry-run changes nothing, teardown",
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
    } finally {
      mgr.close();
      const down = await run(["teardown"]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      if (owned) await labDown(() => {});
      assert.equal(down.code, 0, output(down));
    }
  },
});
