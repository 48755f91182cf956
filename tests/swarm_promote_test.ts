/**
 * `promote canary|stable` on target swarm through the real CLI, on the
 * three-node lab: the gate's figures are counted by the swarm nginx (its
 * edge counters on the admin socket of the manager), so error chaos on the
 * canary replicas blocks the promotion (exit 3), and clean traffic lets it
 * through; each allowed promotion rolls every replica to the new mode.
 */
import assert from "node:assert/strict";
import { cliSwarmFolder, ensureLab } from "./_swarm_lab.ts";
import type { RunResult } from "./_harness.ts";
import { labDown } from "../cli/lab/mod.ts";

const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

Deno.test({
  name:
    "swarm promote: canary rolls 3 replicas, error chaos counted at nginx blocks stable (exit 3), clean traffic promotes",
  ignore: Deno.uid() !== 0,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { lab, owned } = await ensureLab();
    const { port, dir, manifest, run } = await cliSwarmFolder(
      "sp",
      `  canary:\n    max_error_rate_percent: 1.0\n    max_p99_latency_ms: 500\n    window_seconds: 4\n    min_requests: 5\n`,
    );
    const manager = lab.nodes.find((n) => n.role === "manager")!;
    const base = `http://${manager.address}:${port}`;
    const mode = async () => {
      const r = await fetch(`${base}/healthz`);
      return ((await r.json()) as { mode?: string }).mode;
    };
    // Every replica: nginx picks a task per request, so send it often enough.
    const chaosAll = async (body: Record<string, unknown>) => {
      for (let i = 0; i < 30; i++) {
        const r = await fetch(`${base}/chaos`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        await r.body?.cancel();
        assert.equal(r.status, 200);
      }
    };
    // Application traffic while `promote` counts its window.
    const withTraffic = async (fn: () => Promise<RunResult>) => {
      let stop = false;
      const counts = new Map<number, number>();
      const loop = (async () => {
        while (!stop) {
          const r = await fetch(`${base}/`).catch(() => undefined);
          await r?.body?.cancel();
          if (r) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
          await new Promise((res) => setTimeout(res, 20));
        }
      })();
      try {
        return { result: await fn(), counts };
      } finally {
        stop = true;
        await loop;
      }
    };
    try {
      const built = await run(["build"]);
      assert.equal(built.code, 0, output(built));
      const deployed = await run(["deploy"]);
      assert.equal(deployed.code, 0, output(deployed));
      assert.equal(await mode(), "stable");

      const t0 = performance.now();
      const canary = await run(["promote", "canary"]);
      assert.equal(canary.code, 0, output(canary));
      console.log(`promote canary: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      for (let i = 0; i < 6; i++) assert.equal(await mode(), "canary");
      assert.match(await Deno.readTextFile(manifest), /mode: canary/);

      await chaosAll({ mode: "error", rate: 1 });
      const denied = await withTraffic(() => run(["promote", "stable"]));
      console.log(`denied window traffic: ${JSON.stringify([...denied.counts])}`);
      assert.equal(denied.result.code, 3, output(denied.result));
      assert.match(denied.result.stdout, /counted at nginx/);
      assert.match(denied.result.stdout, /Promotion blocked by policy: canary/);
      assert.match(await Deno.readTextFile(manifest), /mode: canary/);
      assert.equal(await mode(), "canary");

      await chaosAll({ mode: "recover" });
      const t1 = performance.now();
      const allowed = await withTraffic(() => run(["promote", "stable"]));
      console.log(
        `promote stable: ${((performance.now() - t1) / 1000).toFixed(1)} s, traffic ${
          JSON.stringify([...allowed.counts])
        }`,
      );
      assert.equal(allowed.result.code, 0, output(allowed.result));
      assert.match(allowed.result.stdout, /counted at nginx/);
      for (let i = 0; i < 6; i++) assert.equal(await mode(), "stable");
      assert.match(await Deno.readTextFile(manifest), /mode: stable/);
    } finally {
      const down = await run(["teardown"]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      if (owned) await labDown(() => {});
      assert.equal(down.code, 0, output(down));
    }
  },
});
