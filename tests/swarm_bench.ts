/**
 * Swarm figures for docs/scale.md (issue 14), measured in one run on this
 * machine (root, the lab of docs/lab.md):
 *
 * 1. convergence: `deploySwarm` of 1, 3 and 6 app replicas from nothing,
 *    and a rolling update of the version at each size (start-first), s;
 * 2. throughput through nginx with wrk (`-t2 -c32 -d10s`, after a 2 s
 *    warm-up): the swarm target (3 replicas, nginx's Lua balancer over
 *    `tasks.<app>` with kept-alive upstreams) against the engine target
 *    (one app container, kept-alive upstreams, the Lua split) on the same
 *    host, alternated A/B/A/B so drift hits both.
 *
 * 3. a rolling update of the version (3 replicas) under the keep-alive,
 *    never-resending client (testing/keepalive_load.py): requests, failed.
 *
 *   deno run -A tests/swarm_bench.ts [--no-convergence]
 *
 * `--no-convergence` skips part 1 (the throughput and the rolling update
 * only, about a minute).
 *
 * Not a test: it prints figures and asserts nothing but that each step
 * worked. The lab is brought up when none runs, and taken down again then.
 */
import { labDown } from "../cli/lab/mod.ts";
import { loadManifest } from "../cli/manifest/mod.ts";
import { deploySwarm, teardownSwarm } from "../cli/commands/swarm.ts";
import { ensureLab, hostEngine, pushToLab, swarmStack } from "./_swarm_lab.ts";
import { freePort, makeStack } from "./_harness.ts";
import { failedRequests, startLoad } from "../testing/keepalive_load.ts";

const WRK = ["-t2", "-c32", "-d10s"];

async function wrk(url: string, seconds = 10): Promise<number> {
  const args = WRK.map((a) => a.startsWith("-d") ? `-d${seconds}s` : a);
  const out = await new Deno.Command("wrk", { args: [...args, url], stdout: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1];
  if (!out.success || !rps) throw new Error(`wrk ${url} failed:\n${text}`);
  if (errors) throw new Error(`wrk ${url}: ${errors} answers were not 2xx/3xx`);
  return rps;
}

const { lab, owned } = await ensureLab();
const host = await hostEngine();
const project = `sb${crypto.randomUUID().slice(0, 6)}`;
const images = {
  app: await pushToLab(host, lab, "swift-deploy-1-node:latest", `${project}/app`),
  nginx: await pushToLab(host, lab, "nginx:latest", `${project}/nginx`),
  opa: await pushToLab(host, lab, "openpolicyagent/opa:latest-static", `${project}/opa`),
};
const port = freePort();
const stack = await swarmStack(lab, images, project, port);
const manager = lab.nodes.find((n) => n.role === "manager")!;
const engineStack = await makeStack({});
const convergence = !Deno.args.includes("--no-convergence");
try {
  if (convergence) console.log("== convergence on the three-node lab (start-first, monitor 3 s)");
  if (convergence) {
    console.log("| replicas | deploy from nothing | rolling update of the version |");
  }
  if (convergence) console.log("|---|---|---|");
  for (const replicas of convergence ? [1, 3, 6] : []) {
    await stack.write({ version: "1.0.0", replicas });
    let t0 = performance.now();
    const deployed = await deploySwarm(stack.ctx(), await loadManifest(stack.manifestPath), {
      timeoutSeconds: 300,
    });
    const deploySeconds = (performance.now() - t0) / 1000;
    if (deployed !== 0) throw new Error(`deploy of ${replicas} replicas exited ${deployed}`);
    await stack.write({ version: "1.0.1", replicas });
    t0 = performance.now();
    const updated = await deploySwarm(stack.ctx(), await loadManifest(stack.manifestPath), {
      timeoutSeconds: 300,
    });
    const updateSeconds = (performance.now() - t0) / 1000;
    if (updated !== 0) throw new Error(`update of ${replicas} replicas exited ${updated}`);
    console.log(`| ${replicas} | ${deploySeconds.toFixed(1)} s | ${updateSeconds.toFixed(1)} s |`);
    await teardownSwarm(stack.ctx(), await loadManifest(stack.manifestPath), { clean: false });
  }

  console.log("\n== throughput through nginx, wrk " + WRK.join(" ") + ", alternated");
  await stack.write({ version: "1.0.0", replicas: 3 });
  if (
    await deploySwarm(stack.ctx(), await loadManifest(stack.manifestPath), {
      timeoutSeconds: 300,
    }) !== 0
  ) {
    throw new Error("swarm deploy failed");
  }
  const deployed = await engineStack.run(["deploy"]);
  if (deployed.code !== 0) throw new Error(`engine deploy failed:\n${deployed.stderr}`);
  const swarmUrl = `http://${manager.address}:${port}/`;
  const engineUrl = engineStack.url("/");
  await wrk(swarmUrl, 2);
  await wrk(engineUrl, 2);
  const swarm: number[] = [];
  const single: number[] = [];
  for (let i = 0; i < 2; i++) {
    swarm.push(await wrk(swarmUrl));
    single.push(await wrk(engineUrl));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`swarm, 3 replicas:      ${swarm.map((r) => r.toFixed(0)).join(", ")} req/s`);
  console.log(`engine, 1 container:    ${single.map((r) => r.toFixed(0)).join(", ")} req/s`);
  console.log(`ratio swarm / engine:   ${(mean(swarm) / mean(single)).toFixed(3)}`);

  console.log("\n== rolling update of 3 replicas under keepalive_load.py (4 workers)");
  const load = await startLoad(port, 4, "/", manager.address);
  await new Promise((r) => setTimeout(r, 1500));
  await stack.write({ version: "1.0.1", replicas: 3 });
  const t0 = performance.now();
  const updated = await deploySwarm(stack.ctx(), await loadManifest(stack.manifestPath), {
    timeoutSeconds: 300,
  });
  const updateSeconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 1500));
  const counts = await load.stop();
  if (updated !== 0) throw new Error(`update exited ${updated}`);
  console.log(
    `update ${updateSeconds.toFixed(1)} s, ${counts.total} requests, failed ${
      failedRequests(counts)
    }, versions ${JSON.stringify(counts.versions)}, statuses ${JSON.stringify(counts.statuses)}`,
  );
} finally {
  await teardownSwarm(stack.ctx(), await loadManifest(stack.manifestPath), { clean: false })
    .catch(() => {});
  await engineStack.cleanup();
  await Deno.remove(stack.dir, { recursive: true }).catch(() => {});
  host.close();
  if (owned) await labDown(() => {});
}
