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
import { labDown } from "../cli/lab/mod.ts";

const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

Deno.test({
  name:
    "swarm through the CLI: build pushes by digest, deploy 3 replicas, status per node, promote --dry-run refused with exit 2, teardown",
  ignore: Deno.uid() !== 0,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { lab, owned } = await ensureLab();
    const { port, dir, run } = await cliSwarmFolder("sc");
    try {
      const built = await run(["build"]);
      assert.equal(built.code, 0, output(built));
      assert.match(built.stdout, /@sha256:[0-9a-f]{64}/);
      const images = JSON.parse(
        await Deno.readTextFile(join(dir, ".swiftdeploy", "images.json")),
      ) as Record<string, string>;
      assert.match(images.app ?? "", /@sha256:/);

      const deployed = await run(["deploy"]);
      assert.equal(deployed.code, 0, output(deployed));
      const status = await run(["status", "--json"]);
      assert.equal(status.code, 0, output(status));
      const text = JSON.stringify(JSON.parse(status.stdout));
      for (const node of lab.nodes) assert.ok(text.includes(node.name), `${node.name} listed`);
      const manager = lab.nodes.find((n) => n.role === "manager")!;
      const res = await fetch(`http://${manager.address}:${port}/healthz`);
      assert.equal(res.status, 200, await res.text());

      for (
        const args of [
          ["promote", "canary", "--dry-run"],
          ["deploy", "--dry-run"],
          ["rollout", "status"],
        ]
      ) {
        const refused = await run(args);
        assert.equal(refused.code, 2, output(refused));
        assert.match(refused.stderr, /on target swarm/);
      }
    } finally {
      const down = await run(["teardown"]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      if (owned) await labDown(() => {});
      assert.equal(down.code, 0, output(down));
    }
  },
});
