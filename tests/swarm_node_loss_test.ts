/**
 * A worker's daemon stops under a running swarm deployment (issue 14:
 * "draining a node and stopping a worker's daemon: tasks move to the other
 * nodes, the service keeps answering, status shows it"). The drain half is
 * in tests/swarm_test.ts; this is the daemon half.
 *
 * It runs in a lab of its own (`SWIFTDEPLOY_LAB=8`, subnet 198.18.55.0/24),
 * never the default lab other tests share, since it kills one of the lab's
 * daemons; the lab is taken down at the end. Needs root.
 *
 * What is measured and printed, not asserted to zero: the requests that
 * failed while the node went away. A request in flight on the dead node's
 * task, or sent to its address before Swarm takes it out of DNS, may fail;
 * the zero-failure requirement of the issue is for updates. Measured: 4 of
 * 31,558 (504) when the swarm nginx did not retry a connect timeout, 0 of
 * 34,638 since it does (within the first 2 s of a request).
 */
import assert from "node:assert/strict";
import { labDown, labLayout, labUp } from "../cli/lab/mod.ts";
import { EngineClient } from "../cli/engine/mod.ts";
import { nodes, taskList } from "../cli/swarm/mod.ts";
import { failedRequests, startLoad } from "../testing/keepalive_load.ts";
import { freePort, runCli, type RunResult } from "./_harness.ts";
import { hostEngine, pushToLab, swarmStack } from "./_swarm_lab.ts";

const INSTANCE = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

Deno.test({
  name:
    "a worker's dockerd stopped: the node goes down, its task is rescheduled on the others, nginx keeps answering, status shows the down node",
  ignore: Deno.uid() !== 0,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const layout = labLayout(INSTANCE);
    const before = Deno.env.get("SWIFTDEPLOY_LAB");
    // In-process lab helpers and the CLI children both work on lab 8.
    Deno.env.set("SWIFTDEPLOY_LAB", String(INSTANCE));
    const project = `sdnl${crypto.randomUUID().slice(0, 6)}`;
    const port = freePort();
    const host = await hostEngine();
    let mgr: EngineClient | undefined;
    let dir: string | undefined;
    try {
      const { lab } = await labUp(() => {}, layout);
      assert.equal(lab.instance, INSTANCE);
      const manager = lab.nodes.find((n) => n.role === "manager")!;
      mgr = await EngineClient.connect({ dockerHost: manager.dockerHost });
      const images = {
        app: await pushToLab(host, lab, "swift-deploy-1-node:latest", `${project}/app`),
        nginx: await pushToLab(host, lab, "nginx:latest", `${project}/nginx`),
        opa: await pushToLab(host, lab, "openpolicyagent/opa:latest-static", `${project}/opa`),
      };
      const stack = await swarmStack(lab, images, project, port);
      dir = stack.dir;
      await stack.write({ version: "1.0.0", replicas: 3 });
      const run = (args: string[]) =>
        runCli(["-f", stack.manifestPath, ...args], {
          env: { DOCKER_HOST: "", SWIFTDEPLOY_LAB: String(INSTANCE) },
        });

      const deployed = await run(["deploy"]);
      assert.equal(deployed.code, 0, output(deployed));
      const running = async () =>
        (await taskList(mgr!, { service: [`${project}-app`] }))
          .filter((t) => t.DesiredState === "running" && t.Status.State === "running");
      assert.equal((await running()).length, 3);

      // The worker that holds an app task and not nginx (nginx runs on the manager).
      const worker = lab.nodes.find((n) => n.index === 3)!;
      const node = (await nodes(mgr)).find((n) => n.Description.Hostname === worker.name)!;
      assert.ok((await running()).some((t) => t.NodeID === node.ID), "node 3 runs an app task");
      const pid = Number(
        (await Deno.readTextFile(layout.nodes.find((n) => n.index === 3)!.pidFile)).trim(),
      );
      assert.ok(pid > 0);

      const load = await startLoad(port, 4, "/", manager.address);
      await sleep(1000);
      const t0 = performance.now();
      Deno.kill(pid, "SIGTERM");

      let downAt: number | undefined;
      let rescheduledAt: number | undefined;
      for (let i = 0; i < 240 && rescheduledAt === undefined; i++) {
        await sleep(250);
        const n = (await nodes(mgr)).find((x) => x.ID === node.ID)!;
        if (downAt === undefined && n.Status.State === "down") downAt = performance.now();
        const tasks = await running();
        if (
          downAt !== undefined && tasks.length === 3 && tasks.every((t) => t.NodeID !== node.ID)
        ) {
          rescheduledAt = performance.now();
        }
      }
      await sleep(2000);
      const counts = await load.stop();
      const failed = failedRequests(counts);
      const down = downAt === undefined ? "never" : `${((downAt - t0) / 1000).toFixed(1)} s`;
      const moved = rescheduledAt === undefined
        ? "never"
        : `${((rescheduledAt - t0) / 1000).toFixed(1)} s`;
      console.log(
        `  dockerd of ${worker.name} stopped: node down after ${down}, 3 tasks running elsewhere after ${moved}; ` +
          `${counts.total} requests, ${failed} failed (${counts.lost} without an answer, statuses ${
            JSON.stringify(counts.statuses)
          })`,
      );
      assert.ok(downAt !== undefined, "GET /nodes never showed the node down");
      assert.ok(rescheduledAt !== undefined, "the down node's task was not rescheduled");
      // The service kept answering: most requests succeeded, and it answers now.
      assert.ok((counts.statuses["200"] ?? 0) > 0, JSON.stringify(counts));
      assert.ok(failed < counts.total / 10, `too many failures: ${JSON.stringify(counts)}`);
      const res = await fetch(`http://${manager.address}:${port}/healthz`, {
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(res.status, 200, await res.text());

      // `status` shows the node down and no task wanted running on it.
      const text = await run(["status"]);
      assert.equal(text.code, 0, output(text));
      assert.match(text.stdout, new RegExp(`${worker.name} \\(worker, active, down`), text.stdout);
      const json = await run(["status", "--json"]);
      assert.equal(json.code, 0, output(json));
      const status = JSON.parse(json.stdout) as {
        nodes: { name: string; state: string }[];
        tasks: { node: string; desired: string; role: string }[];
      };
      assert.equal(status.nodes.find((n) => n.name === worker.name)?.state, "down");
      assert.equal(
        status.tasks.filter((t) => t.node === worker.name && t.desired === "running").length,
        0,
      );

      const gone = await run(["teardown"]);
      assert.equal(gone.code, 0, output(gone));
    } finally {
      mgr?.close();
      host.close();
      if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
      await labDown(() => {}, layout);
      if (before === undefined) Deno.env.delete("SWIFTDEPLOY_LAB");
      else Deno.env.set("SWIFTDEPLOY_LAB", before);
    }
  },
});
