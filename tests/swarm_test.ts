/**
 * The swarm target on the three-node lab (issue 14): a real Swarm of three
 * dockerd in network namespaces, images pulled by digest from the lab's
 * registry, real nginx, OPA and app tasks; load from the host through the
 * manager's address with a keep-alive client that never resends.
 *
 * Needs root (the lab). Uses a lab that is up, or brings one up and takes
 * it down at the end.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { deploySwarm, readSwarmStatus, swarmStatus, teardownSwarm } from "../cli/commands/swarm.ts";
import { createContext } from "../cli/commands/context.ts";
import { EngineClient } from "../cli/engine/mod.ts";
import { createTerminal } from "../cli/term/mod.ts";
import { type Lab, labDown, labExec } from "../cli/lab/mod.ts";
import { loadManifest } from "../cli/manifest/mod.ts";
import { LABEL_PROJECT } from "../cli/plan/mod.ts";
import { unixHttpClient } from "../cli/net/mod.ts";
import { defaultHardening } from "../cli/manifest/hardening.ts";
import { notFoundBody } from "../service/not_found.ts";
import {
  nodes,
  nodeUpdate,
  parsePeers,
  runningTaskAddresses,
  serviceInspect,
  SwarmRollbackError,
  taskList,
} from "../cli/swarm/mod.ts";
import { failedRequests, startLoad } from "../testing/keepalive_load.ts";
import {
  buildNeverHealthy,
  ensureLab,
  hostEngine,
  pushToLab,
  type SwarmStack,
  swarmStack,
} from "./_swarm_lab.ts";

const PROJECT = `sdsw${Math.floor(Math.random() * 1e5)}`;
const PORT = 20000 + Math.floor(Math.random() * 20000);
const IS_ROOT = Deno.uid() === 0;

function managerOf(lab: Lab) {
  return lab.nodes.find((n) => n.role === "manager")!;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

async function events(
  stack: SwarmStack,
): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const text = await Deno.readTextFile(join(stack.dir, "history.jsonl"));
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

Deno.test({
  name: "swarm target on the three-node lab",
  ignore: !IS_ROOT,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { lab, owned } = await ensureLab();
    const host = await hostEngine();
    const manager = managerOf(lab);
    const mgr = await EngineClient.connect({ dockerHost: manager.dockerHost });
    const images = {
      app: await pushToLab(host, lab, "swift-deploy-1-node:latest", `${PROJECT}/app`),
      nginx: await pushToLab(host, lab, "nginx:latest", `${PROJECT}/nginx`),
      opa: await pushToLab(host, lab, "openpolicyagent/opa:latest-static", `${PROJECT}/opa`),
    };
    const stack = await swarmStack(lab, images, PROJECT, PORT);
    const url = (path: string) => `http://${manager.address}:${PORT}${path}`;
    const deploy = async () =>
      deploySwarm(stack.ctx(), await loadManifest(stack.manifestPath), { timeoutSeconds: 180 });
    // The app's running tasks' addresses on the overlay, and each nginx
    // worker's list of them (the admin socket's /peers), as "a,b,c".
    const addresses = async () =>
      runningTaskAddresses(await taskList(mgr, { service: [`${PROJECT}-app`] }), `${PROJECT}-net`);
    // (unixHttpClient's client is shared with deploy's own wait: never closed here.)
    const admin = unixHttpClient(join(stack.dir, ".swiftdeploy", "nginx-admin", "edge.sock"));
    const peers = async () =>
      parsePeers(
        await (await fetch("http://nginx/peers", { client: admin } as RequestInit)).text(),
      ).map((w) => w.addresses?.join(",") ?? "-");
    // Another project's config on the same swarm: teardown must leave it.
    const bystander = `${PROJECT}x-keep-${Date.now()}`;
    const bystanderId = (await (await mgr.request("POST", "/configs/create", {
      json: { Name: bystander, Labels: { [LABEL_PROJECT]: `${PROJECT}x` }, Data: btoa("keep") },
    })).json() as { ID: string }).ID;

    try {
      await t.step(
        "deploySwarm() is denied by the infrastructure policy before anything changes on the swarm",
        async () => {
          // A disk no machine has: denied.
          await stack.write({ version: "1.0.0", minDiskFreeGb: 999999 });
          assert.equal(await deploy(), 3);
          const services = await mgr.request("GET", "/services", {
            query: { filters: JSON.stringify({ label: [`${LABEL_PROJECT}=${PROJECT}`] }) },
          }).then((r) => r.json()) as unknown[];
          assert.equal(services.length, 0);
          assert.equal(await mgr.networkInspect(`${PROJECT}-net`), undefined);
          const kinds = (await events(stack)).map((e) => e.event);
          assert.deepEqual(kinds.slice(-2), ["deploy_blocked", "policy_violation"]);
          stack.take();
        },
      );

      await t.step(
        "deploySwarm() runs 3 replicas one per node, healthy, reachable through nginx from the host",
        async () => {
          await stack.write({ version: "1.0.0" });
          const t0 = performance.now();
          assert.equal(await deploy(), 0);
          const seconds = (performance.now() - t0) / 1000;
          // Right when deploy returns, every nginx worker already balances
          // over the 3 tasks (deploy waited for it; CI once saw 2 of 3).
          const listed = await peers();
          const running = await addresses();
          const out = stack.take().join("\n");
          assert.equal(running.length, 3);
          assert.ok(listed.length > 0);
          assert.deepEqual(
            listed,
            listed.map(() => running.join(",")),
            `workers' peers: ${listed}`,
          );
          assert.match(out, /nginx's workers list the app's running tasks \(\d+\.\d s after/, out);
          for (const n of lab.nodes) assert.match(out, new RegExp(`${n.name}: 1/1 running`), out);
          const tasks = (await taskList(mgr, { service: [`${PROJECT}-app`] }))
            .filter((x) => x.DesiredState === "running");
          assert.equal(tasks.length, 3);
          assert.ok(tasks.every((x) => x.Status.State === "running"));
          assert.equal(new Set(tasks.map((x) => x.NodeID)).size, 3, "one task per node");
          // Issue 17's caps, as the engine target gives them: the services
          // Swarm holds carry them, and so does a task's container on a worker.
          const defaults = defaultHardening();
          for (const role of ["opa", "app", "nginx"] as const) {
            const spec = (await serviceInspect(mgr, `${PROJECT}-${role}`))!.Spec.TaskTemplate;
            const caps = defaults.resources[role];
            assert.deepEqual(spec.Resources?.Limits, {
              MemoryBytes: caps.memory_bytes,
              NanoCPUs: caps.nano_cpus,
              Pids: caps.pids,
            }, role);
            assert.deepEqual(spec.LogDriver, {
              Name: "json-file",
              Options: { "max-file": "3", "max-size": "10m" },
            }, role);
          }
          const worker2 = lab.nodes.find((n) => n.index === 2)!;
          const w2 = await EngineClient.connect({ dockerHost: worker2.dockerHost });
          try {
            const [c] = await w2.containerList([`com.docker.swarm.service.name=${PROJECT}-app`]);
            const host = (await w2.request("GET", `/containers/${c!.Id}/json`)
              .then((r) => r.json())).HostConfig;
            assert.equal(host.Memory, defaults.resources.app.memory_bytes);
            assert.equal(host.NanoCpus, defaults.resources.app.nano_cpus);
            assert.equal(host.PidsLimit, defaults.resources.app.pids);
            assert.deepEqual(host.LogConfig, {
              Type: "json-file",
              Config: { "max-file": "3", "max-size": "10m" },
            });
          } finally {
            w2.close();
          }
          const health = JSON.parse((await get(url("/healthz"))).body);
          assert.equal(health.status, "ok");
          assert.equal(health.version, "1.0.0");
          // Every replica answers through nginx (instances seen).
          const seen = new Set<string>();
          for (let i = 0; i < 60 && seen.size < 3; i++) {
            seen.add(JSON.parse((await get(url("/healthz"))).body).instance);
          }
          assert.equal(seen.size, 3, `instances seen through nginx: ${[...seen]}`);
          const status = await readSwarmStatus(stack.ctx(), await loadManifest(stack.manifestPath));
          for (const n of lab.nodes) {
            assert.ok(
              status.tasks.some((x) =>
                x.node === n.name && x.service === `${PROJECT}-app` && x.state === "running"
              ),
            );
          }
          assert.equal(await swarmStatus(stack.ctx(), await loadManifest(stack.manifestPath)), 0);
          assert.match(
            stack.take().join("\n"),
            // The lab's node names (sd-node2, or sdN-node2 for SWIFTDEPLOY_LAB=N).
            new RegExp(
              `${
                lab.nodes.find((n) => n.index === 2)!.name
              } \\(worker, active, ready.*\\n\\s+\\S+-app\\.\\d+\\s+running`,
            ),
          );
          console.log(
            `  deploy of 3 replicas + nginx + OPA: ${seconds.toFixed(1)} s; ${
              out.split("\n").filter((l) => /nginx's workers list/.test(l)).join(" ").trim()
            }`,
          );
          // A second deploy of the same manifest changes nothing.
          assert.equal(await deploy(), 0);
          assert.match(stack.take().join("\n"), /Nothing to do/);
        },
      );

      await t.step(
        "/chaos and /metrics through nginx answer the manager host only; another node and the lab's host get the app's 404, chaos unchanged",
        async () => {
          // curl in a node's namespace: the body, then the status on a line of its own.
          const curl = async (where: number, base: string, path: string, post = false) => {
            const r = await labExec(lab, where, [
              "curl",
              "-s",
              "--max-time",
              "5",
              "-w",
              "\n%{http_code}",
              ...(post
                ? [
                  "-X",
                  "POST",
                  "-H",
                  "content-type: application/json",
                  "--data",
                  '{"mode":"error","rate":1}',
                ]
                : []),
              `${base}${path}`,
            ]);
            const lines = r.stdout.split("\n");
            return { status: Number(lines.pop()), body: lines.join("\n") };
          };
          const worker = lab.nodes.find((n) => n.index === 2)!;
          const public_ = `http://${manager.address}:${PORT}`;
          // Another node (its own address, DNATed to nginx) and the lab's host
          // (198.18.x.254, not listed): the app's exact 404, nothing reaches the app.
          for (const path of ["/chaos", "/metrics"]) {
            const fromNode = await curl(worker.index, public_, path, path === "/chaos");
            assert.deepEqual(fromNode, { status: 404, body: notFoundBody(path) }, path);
            const fromHost = path === "/chaos"
              ? await fetch(url(path), {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: '{"mode":"error","rate":1}',
              })
              : await fetch(url(path));
            assert.equal(fromHost.status, 404, path);
            assert.equal(await fromHost.text(), notFoundBody(path));
          }
          // Chaos unchanged: every replica still answers.
          for (let i = 0; i < 30; i++) assert.equal((await get(url("/"))).status, 200);
          // The manager host itself (its loopback: docker-proxy, from the
          // docker_gwbridge gateway) reaches them.
          const metrics = await curl(manager.index, `http://127.0.0.1:${PORT}`, "/metrics");
          assert.equal(metrics.status, 200, metrics.body);
          assert.match(metrics.body, /^# TYPE \S+ /m);
          const chaos = await curl(manager.index, `http://localhost:${PORT}`, "/chaos");
          // The app's own answer to a GET (405, POST only): it got through.
          assert.equal(chaos.status, 405, chaos.body);
        },
      );

      await t.step(
        "OPA answers on the manager host's socket only: not through nginx, not from another node",
        async () => {
          const socket = join(stack.dir, ".swiftdeploy", "opa-socket", "opa.sock");
          const res = await fetch("http://opa/v1/data/swiftdeploy/infrastructure/decision", {
            method: "POST",
            body: JSON.stringify({
              input: { disk_free_gb: 50, cpu_load_1m: 0.1, mem_free_percent: 50 },
            }),
            client: unixHttpClient(socket),
          } as RequestInit);
          const decision = (await res.json()).result;
          assert.equal(decision.allow, true);
          assert.equal(decision.domain, "infrastructure");
          // Through nginx's port, OPA's API paths reach the app (its 404), never OPA.
          const through = await get(url("/v1/data/swiftdeploy/infrastructure/decision"));
          assert.equal(through.status, 404);
          assert.doesNotMatch(through.body, /"result"|"allow"/);
          // From the other nodes, and from the host: nothing listens on OPA's ports.
          for (const n of lab.nodes.filter((x) => x.role === "worker")) {
            for (const port of [PORT + 1, 8181]) {
              const r = await labExec(lab, n.index, [
                "curl",
                "-s",
                "-m",
                "3",
                `http://${manager.address}:${port}/health`,
              ]);
              assert.notEqual(r.code, 0, `${n.name} reached ${manager.address}:${port}`);
            }
          }
          // Not even on its own container's address, from the manager's network namespace.
          const opaTask = (await taskList(mgr, { service: [`${PROJECT}-opa`] }))
            .find((x) => x.DesiredState === "running")!;
          const container = await mgr.containerInspect(
            opaTask.Status.ContainerStatus!.ContainerID!,
          );
          const addresses = Object.values(container!.NetworkSettings.Networks).map((n) =>
            n.IPAddress
          )
            .filter(Boolean);
          for (const address of addresses) {
            const r = await labExec(lab, manager.index, [
              "curl",
              "-s",
              "-m",
              "3",
              `http://${address}:8181/health`,
            ]);
            assert.notEqual(r.code, 0, `the manager reached OPA at ${address}:8181`);
          }
        },
      );

      await t.step(
        "a rolling update of the version under kept-alive load fails 0 requests",
        async () => {
          const load = await startLoad(PORT, 4, "/", manager.address);
          await new Promise((r) => setTimeout(r, 1500));
          await stack.write({ version: "1.0.1" });
          const t0 = performance.now();
          assert.equal(await deploy(), 0);
          const seconds = (performance.now() - t0) / 1000;
          // When deploy returns, every worker lists the 3 new tasks, none of the old.
          const listed = await peers();
          const running = await addresses();
          await new Promise((r) => setTimeout(r, 1500));
          const counts = await load.stop();
          console.log(
            `  rolling update of 3 replicas: ${
              seconds.toFixed(1)
            } s, ${counts.total} requests, versions ${JSON.stringify(counts.versions)}, failed ${
              failedRequests(counts)
            }; ${stack.take().filter((l) => /nginx's workers list/.test(l)).at(-1)?.trim()}`,
          );
          assert.equal(running.length, 3);
          assert.deepEqual(
            listed,
            listed.map(() => running.join(",")),
            `workers' peers: ${listed}`,
          );
          assert.ok(counts.total >= 5000, `only ${counts.total} requests`);
          assert.equal(failedRequests(counts), 0, JSON.stringify(counts));
          assert.ok((counts.versions["1.0.1"] ?? 0) > 0);
          assert.equal(JSON.parse((await get(url("/healthz"))).body).version, "1.0.1");
        },
      );

      await t.step(
        "nginx keeps its connections to the app's tasks alive: far fewer sockets than requests",
        async () => {
          const nginxTask = (await taskList(mgr, { service: [`${PROJECT}-nginx`] }))
            .find((x) => x.DesiredState === "running")!;
          const container = await mgr.containerInspect(
            nginxTask.Status.ContainerStatus!.ContainerID!,
          );
          const pid = (container as unknown as { State: { Pid: number } }).State.Pid;
          const n = 2000;
          let next = 0;
          let ok = 0;
          await Promise.all(Array.from({ length: 8 }, async () => {
            while (next++ < n) {
              const res = await fetch(url("/"));
              await res.body?.cancel();
              if (res.status === 200) ok++;
            }
          }));
          assert.equal(ok, n);
          // Every socket of nginx's network namespace to the app's port, TIME_WAIT included
          // (a connection per request leaves one per request for a minute).
          const sockets = appSockets(await Deno.readTextFile(`/proc/${pid}/net/tcp`), 3000);
          console.log(
            `  ${n} requests (and the rolling update's) through ${sockets} sockets to the app`,
          );
          assert.ok(sockets <= 100, `${sockets} sockets to the app for ${n} requests`);
        },
      );

      await t.step(
        "a task Swarm stops leaves every nginx worker's rotation, under load with 0 failed",
        async () => {
          assert.equal((await addresses()).length, 3);
          const load = await startLoad(PORT, 4, "/", manager.address);
          await stack.write({ version: "1.0.1", replicas: 2 });
          assert.equal(await deploy(), 0);
          // When deploy returns, every worker lists the 2 tasks left
          // (deploy waited for it), none of the stopped one.
          const seen = await peers();
          const left = await addresses();
          assert.equal(left.length, 2);
          const counts = await load.stop();
          console.log(
            `  scale 3 -> 2: ${counts.total} requests, failed ${failedRequests(counts)}; ${
              stack.take().filter((l) => /nginx's workers list/.test(l)).at(-1)?.trim()
            }`,
          );
          assert.deepEqual(seen, seen.map(() => left.join(",")), `workers' peers: ${seen}`);
          assert.equal(failedRequests(counts), 0, JSON.stringify(counts));
          await stack.write({ version: "1.0.1" });
          assert.equal(await deploy(), 0);
          stack.take();
        },
      );

      await t.step(
        "a changed nginx.conf is a new config rolled onto nginx; configs neither spec uses are removed",
        async () => {
          const confs = async () =>
            (await configNames(mgr, PROJECT)).filter((n) => n.startsWith(`${PROJECT}-nginx.conf-`));
          const [first] = await confs();
          assert.ok(first);
          await stack.write({ version: "1.0.1", proxyTimeout: 20 });
          assert.equal(await deploy(), 0);
          const second = (await confs()).filter((n) => n !== first);
          assert.equal(second.length, 1);
          const nginx = (await mgr.request("GET", `/services/${PROJECT}-nginx`).then((r) =>
            r.json()
          )) as {
            Spec: { TaskTemplate: { ContainerSpec: { Configs: { ConfigName: string }[] } } };
          };
          assert.equal(nginx.Spec.TaskTemplate.ContainerSpec.Configs[0]?.ConfigName, second[0]);
          // The previous spec still names the first: kept, so Swarm can roll nginx back.
          assert.deepEqual(await confs(), [first, second[0]!].sort());
          await stack.write({ version: "1.0.1", proxyTimeout: 25 });
          assert.equal(await deploy(), 0);
          const now = await confs();
          assert.equal(now.length, 2, now.join(", "));
          assert.ok(!now.includes(first), `${first} was not removed`);
          assert.match(stack.take().join("\n"), new RegExp(`configs removed: .*${first}`));
          assert.equal((await get(url("/healthz"))).status, 200);
        },
      );

      await t.step(
        "an update to a never-healthy image is rolled back by Swarm: exit 1, 0 failed requests, history says why",
        async () => {
          const never = await buildNeverHealthy(host, "swift-deploy-1-node:latest");
          const image = await pushToLab(host, lab, never, `${PROJECT}/never`);
          const load = await startLoad(PORT, 4, "/", manager.address);
          await stack.write({ version: "1.0.2", image, proxyTimeout: 25 });
          const t0 = performance.now();
          const error = await deploy().then(() => undefined, (e) => e);
          const seconds = (performance.now() - t0) / 1000;
          const counts = await load.stop();
          console.log(
            `  rollback by Swarm: ${seconds.toFixed(1)} s, ${counts.total} requests, failed ${
              failedRequests(counts)
            }`,
          );
          assert.ok(error instanceof SwarmRollbackError, String(error));
          assert.equal(error.exitCode, 1);
          assert.match(error.message, /rolled back the update of ".*-app" \(rollback_completed\)/);
          assert.equal(failedRequests(counts), 0, JSON.stringify(counts));
          const last = (await events(stack)).at(-1)!;
          assert.equal(last.event, "deploy_failed");
          assert.match(String(last.data.reason), /rolled back/);
          assert.equal(JSON.parse((await get(url("/healthz"))).body).version, "1.0.1");
        },
      );

      await t.step(
        "draining a node moves its tasks to the others and the service keeps answering",
        async () => {
          await stack.write({ version: "1.0.1", proxyTimeout: 25 });
          stack.take();
          const worker = lab.nodes.find((n) => n.index === 3)!;
          const load = await startLoad(PORT, 4, "/", manager.address);
          const node = (await nodes(mgr)).find((n) => n.Description.Hostname === worker.name)!;
          await nodeUpdate(mgr, node, { ...node.Spec, Availability: "drain" });
          try {
            let moved = false;
            for (let i = 0; i < 120 && !moved; i++) {
              await new Promise((r) => setTimeout(r, 500));
              const tasks = (await taskList(mgr, { service: [`${PROJECT}-app`] }))
                .filter((x) => x.DesiredState === "running");
              moved = tasks.length === 3 &&
                tasks.every((x) => x.NodeID !== node.ID && x.Status.State === "running");
            }
            assert.ok(moved, "the drained node's task did not move");
            await new Promise((r) => setTimeout(r, 1000));
            const counts = await load.stop();
            console.log(`  drain: ${counts.total} requests, failed ${failedRequests(counts)}`);
            assert.equal(failedRequests(counts), 0, JSON.stringify(counts));
            const status = await readSwarmStatus(
              stack.ctx(),
              await loadManifest(stack.manifestPath),
            );
            assert.equal(status.nodes.find((n) => n.name === worker.name)?.availability, "drain");
            assert.equal(
              status.tasks.filter((x) => x.node === worker.name && x.desired === "running").length,
              0,
            );
          } finally {
            const now = (await nodes(mgr)).find((n) => n.ID === node.ID)!;
            await nodeUpdate(mgr, now, { ...now.Spec, Availability: "active" });
          }
        },
      );

      await t.step(
        "teardownSwarm() removes every service, config and network of the project and nothing else",
        async () => {
          assert.equal(
            await teardownSwarm(stack.ctx(), await loadManifest(stack.manifestPath), {
              clean: false,
            }),
            0,
          );
          const label = [`${LABEL_PROJECT}=${PROJECT}`];
          const q = { query: { filters: JSON.stringify({ label }) } };
          assert.deepEqual(await (await mgr.request("GET", "/services", q)).json(), []);
          assert.deepEqual(await (await mgr.request("GET", "/configs", q)).json(), []);
          assert.deepEqual(await (await mgr.request("GET", "/secrets", q)).json(), []);
          assert.deepEqual(await mgr.networkList(label), []);
          assert.equal(
            (await (await mgr.request("GET", `/configs/${bystanderId}`)).json()).Spec.Name,
            bystander,
          );
          const last = (await events(stack)).at(-1)!;
          assert.equal(last.event, "teardown");
        },
      );
    } finally {
      await teardownSwarm(stack.ctx(), await loadManifest(stack.manifestPath), { clean: false })
        .catch(() => {});
      await mgr.request("DELETE", `/configs/${bystanderId}`).catch(() => {});
      await host.imageRemove("swiftdeploy-never-healthy:test").catch(() => {});
      mgr.close();
      host.close();
      await Deno.remove(stack.dir, { recursive: true }).catch(() => {});
      if (owned) await labDown(() => {});
    }
  },
});

/** Sockets in a /proc/<pid>/net/tcp table whose remote port is `port` (any state). */
function appSockets(table: string, port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return table.split("\n").slice(1).filter((l) => l.trim().split(/\s+/)[2]?.endsWith(`:${hex}`))
    .length;
}

async function configNames(engine: EngineClient, project: string): Promise<string[]> {
  const res = await engine.request("GET", "/configs", {
    query: { filters: JSON.stringify({ label: [`${LABEL_PROJECT}=${project}`] }) },
  });
  return ((await res.json()) as { Spec: { Name: string } }[]).map((c) => c.Spec.Name).sort();
}

Deno.test("deploySwarm() refuses an engine that is not a swarm manager before changing anything", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sd-not-swarm-" });
  try {
    const manifestPath = join(dir, "manifest.yaml");
    await Deno.writeTextFile(
      manifestPath,
      "project: sdnotswarm\ntarget: swarm\nservices:\n  image: app:1\n  port: 3000\nnginx:\n  image: nginx:1\n  port: 8080\n",
    );
    const ctx = createContext({
      manifest: manifestPath,
      verbose: false,
      policyEngine: "wasm",
      term: createTerminal({ color: false }),
    });
    // The host's own engine: no swarm (and never made one).
    const error = await deploySwarm(ctx, await loadManifest(manifestPath), { timeoutSeconds: 5 })
      .then(() => undefined, (e) => e);
    assert.equal(error?.code, "SWARM_UNAVAILABLE", String(error));
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /is not a swarm manager \(swarm state "inactive"\)/);
    await assert.rejects(() => Deno.stat(join(dir, "history.jsonl")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
