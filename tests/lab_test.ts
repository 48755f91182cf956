/**
 * The three-node swarm lab on this machine, for real: `swiftdeploy lab up`
 * (three dockerd in network namespaces, a swarm, the registry), what the
 * nodes see, an image pushed by the host's engine and run on every node
 * across an overlay network, recovery from a dead node daemon, and `lab
 * down` leaving nothing behind. Needs root and the host's engine (the app
 * image `swift-deploy-1-node:latest`, built by `swiftdeploy build`); the lab
 * is machine-wide, so this test refuses to start beside a lab someone else
 * brought up.
 */
import assert from "node:assert/strict";
import { runCli } from "./_harness.ts";
import { EngineClient } from "../cli/engine/mod.ts";
import { SwiftDeployError } from "../cli/errors/mod.ts";
import {
  describeLeftovers,
  type Lab,
  labDown,
  labExec,
  labLayout,
  labNodeClient,
  labRegistry,
  leftovers,
  readLab,
  requireRoot,
} from "../cli/lab/mod.ts";

const APP_IMAGE = "swift-deploy-1-node:latest";
/** This test's own lab, beside the default one (instance 0) that others may be using. */
const INSTANCE = 9;
const layout = labLayout(INSTANCE);
const LAB_ENV = { SWIFTDEPLOY_LAB: String(INSTANCE) };
const [N1, N2, N3] = layout.nodes.map((n) => n.name) as [string, string, string];

function lab_(args: string[]) {
  return runCli(["lab", ...args], { env: LAB_ENV });
}

/** Fetches `url` from inside a lab namespace with this Deno (any node has no other client). */
async function fetchFrom(
  lab: Lab,
  where: number | string,
  url: string,
): Promise<{ code: number; out: string }> {
  const r = await labExec(lab, where, [
    Deno.execPath(),
    "eval",
    `try { const r = await fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(3000) });` +
    ` console.log(r.status, (await r.text()).trim()); } catch (e) { console.log("error", e.message); }`,
  ]);
  return { code: r.code, out: r.stdout.trim() };
}

async function assertNothingLeft(): Promise<void> {
  const left = await leftovers(layout);
  assert.deepEqual(describeLeftovers(left), [], "the lab left something behind");
  // The same, asked of the tools themselves.
  const ns = new TextDecoder().decode(
    (await new Deno.Command("ip", { args: ["netns", "list"] }).output()).stdout,
  );
  for (const name of [layout.bridgeNs, N1, N2, N3]) {
    assert.ok(!ns.split("\n").some((l) => l.split(" ")[0] === name), `netns ${name} left`);
  }
  const link = await new Deno.Command("ip", { args: ["link", "show", "dev", layout.hostLink] })
    .output();
  assert.notEqual(link.code, 0, `the host's veth ${layout.hostLink} is left`);
  const mounts = await Deno.readTextFile("/proc/self/mountinfo");
  assert.ok(!mounts.includes(`${layout.runDir}/`), "a lab mount is left");
  assert.ok(!mounts.includes(`${layout.dataDir}/`), "a lab mount is left");
}

/** Pushes the app image from the host's engine to the lab registry; returns `repo@digest` for the nodes. */
async function pushAppImage(lab: Lab): Promise<string> {
  const host = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  assert.ok(await host.imageInspect(APP_IMAGE), `${APP_IMAGE} is missing: run swiftdeploy build`);
  const reg = labRegistry(lab);
  const repo = `${reg.host}/sdlab-probe`;
  await host.imageTag(APP_IMAGE, repo, "test");
  try {
    const res = await host.request("POST", `/images/${encodeURIComponent(repo)}/push`, {
      query: { tag: "test" },
      headers: { "X-Registry-Auth": btoa("{}") },
      timeoutMs: 120_000,
    });
    const text = await res.text();
    const digest = /"Digest":"(sha256:[0-9a-f]{64})"/.exec(text)?.[1];
    assert.ok(!/"error"/.test(text) && digest, `push failed: ${text.slice(-400)}`);
    return `${reg.node}/sdlab-probe@${digest}`;
  } finally {
    await host.imageRemove(`${repo}:test`).catch(() => {});
  }
}

/** Waits until `probe` returns a value (polling every 250 ms), or fails naming `what`. */
async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${ms / 1000} s: ${what}`);
}

interface Task {
  NodeID: string;
  Status: { State: string };
  NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses: string[] }[];
}

Deno.test({
  name:
    "lab up/status/down: 3 Ready nodes, registry on every node, overlay across nodes, nothing left",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    assert.equal(Deno.uid(), 0, "the lab test needs root");
    assert.equal(
      await readLab(layout),
      undefined,
      "a lab is already up (another test or a user's): run `swiftdeploy lab down` first",
    );
    await assertNothingLeft();
    const figures: string[] = [];
    try {
      await t.step("lab up as a non-root user: refused, nothing built", async () => {
        // The check itself, for uid 65534: a subprocess run as that user would also need to
        // read the checkout and Deno's caches, which CI's 0700 clone folder does not allow.
        assert.throws(
          () => requireRoot("up", 65534),
          (e: unknown) =>
            e instanceof SwiftDeployError && e.code === "LAB_NOT_ROOT" && e.exitCode === 1 &&
            /Cannot run `lab up`: the lab needs root/.test(e.message),
        );
        requireRoot("up", 0);
        await assertNothingLeft();
      });

      await t.step(
        "lab up whose dockerd exits at start: fails at once with its log, takes down what it built",
        async () => {
          const fake = await Deno.makeTempDir({ prefix: "sdlab-fake-" });
          try {
            await Deno.writeTextFile(
              `${fake}/dockerd`,
              "#!/bin/sh\necho 'fake dockerd: cannot start' >&2\nexit 1\n",
              { mode: 0o755 },
            );
            const t0 = performance.now();
            const up = await runCli(["lab", "up"], {
              env: { ...LAB_ENV, PATH: `${fake}:${Deno.env.get("PATH") ?? ""}` },
            });
            const seconds = (performance.now() - t0) / 1000;
            assert.equal(up.code, 1, up.stderr + up.stdout);
            assert.match(up.stderr, /dockerd of sd9-node\d on .*: it exited after/);
            assert.match(up.stderr, /fake dockerd: cannot start/);
            assert.ok(seconds < 15, `took ${seconds.toFixed(1)} s: not a fast failure`);
            await assertNothingLeft();
          } finally {
            await Deno.remove(fake, { recursive: true });
          }
        },
      );

      let lab!: Lab;
      await t.step(
        "lab up builds 3 nodes, 1 manager, and the registry; a second up changes nothing",
        async () => {
          const t0 = performance.now();
          const up = await lab_(["up"]);
          const upSeconds = (performance.now() - t0) / 1000;
          assert.equal(up.code, 0, up.stderr + up.stdout);
          assert.match(up.stdout, /Lab up in [\d.]+ s: 3 nodes/);
          assert.ok(
            up.stderr.includes(`${N1} (${layout.nodes[0]!.address}) dockerd ready in`),
            up.stderr,
          );
          lab = (await readLab(layout))!;
          assert.ok(lab, "no state file after lab up");
          figures.push(
            `lab up ${upSeconds.toFixed(2)} s (CLI process), ${lab.upSeconds} s (inside)`,
          );
          assert.deepEqual(lab.nodes.map((n) => [n.name, n.role]), [
            [N1, "manager"],
            [N2, "worker"],
            [N3, "worker"],
          ]);
          assert.equal(lab.instance, INSTANCE);
          const again = await lab_(["up"]);
          assert.equal(again.code, 0, again.stderr);
          assert.match(again.stdout, /already up/);
          assert.equal((await readLab(layout))!.createdAt, lab.createdAt);
        },
      );

      await t.step(
        "lab status shows 3 Ready nodes (1 leading manager) and the registry's /v2/",
        async () => {
          const st = await lab_(["status", "--json"]);
          assert.equal(st.code, 0, st.stderr + st.stdout);
          const status = JSON.parse(st.stdout) as {
            nodes: {
              hostname: string;
              role: string;
              state: string;
              availability: string;
              leader: boolean;
            }[];
            registry: { node: string; host: string };
          };
          assert.deepEqual(
            status.nodes.map((n) => [n.hostname, n.role, n.availability, n.state, n.leader]),
            [
              [N1, "manager", "active", "ready", true],
              [N2, "worker", "active", "ready", false],
              [N3, "worker", "active", "ready", false],
            ],
          );
          assert.match(status.registry.node, /^HTTP 200/);
          assert.match(status.registry.host, /^HTTP 200/);
          const text = await lab_(["status"]);
          assert.equal(text.code, 0);
          assert.match(text.stdout, new RegExp(`${N1}\\s+manager\\*\\s+active\\s+ready`));
        },
      );

      await t.step(
        "each node's namespace reaches the registry at its bridge address, not the host's loopback one",
        async () => {
          const reg = labRegistry(lab);
          for (const node of lab.nodes) {
            const r = await fetchFrom(lab, node.index, `http://${reg.node}/v2/`);
            assert.equal(r.out, "200 {}", `${node.name}: ${r.out}`);
            const hostSide = await fetchFrom(lab, node.index, `http://${reg.host}/v2/`);
            assert.match(
              hostSide.out,
              /^error/,
              `${node.name} reached the host's loopback registry`,
            );
          }
          // Each node has its own host name (UTS namespace) and engine ID (its own key).
          const ids = new Set<string>();
          for (const node of lab.nodes) {
            const c = await labNodeClient(lab, node.index);
            const info = await c.request("GET", "/info").then((r) => r.json()) as {
              Name: string;
              ID: string;
            };
            assert.equal(info.Name, node.name);
            ids.add(info.ID);
          }
          assert.equal(ids.size, 3);
        },
      );

      await t.step(
        "an image pushed by the host's engine runs on every node; tasks reach each other across nodes on an overlay",
        async () => {
          const t0 = performance.now();
          const image = await pushAppImage(lab);
          figures.push(
            `push of ${APP_IMAGE} (101 MB) ${((performance.now() - t0) / 1000).toFixed(2)} s`,
          );
          const manager = await labNodeClient(lab, 1);
          await manager.request("POST", "/networks/create", {
            json: {
              Name: "sdlab-overlay",
              Driver: "overlay",
              Attachable: true,
              CheckDuplicate: true,
            },
          }).then((r) => r.body?.cancel());
          const t1 = performance.now();
          await manager.request("POST", "/services/create", {
            json: {
              Name: "sdlab-probe",
              Mode: { Global: {} },
              EndpointSpec: { Mode: "dnsrr" },
              TaskTemplate: {
                ContainerSpec: { Image: image, StopGracePeriod: 1_000_000_000 },
                Networks: [{ Target: "sdlab-overlay" }],
              },
            },
          }).then((r) => r.body?.cancel());
          const tasks = await until("3 running tasks of sdlab-probe", 90_000, async () => {
            const res = await manager.request("GET", "/tasks", {
              query: {
                filters: JSON.stringify({ service: ["sdlab-probe"], "desired-state": ["running"] }),
              },
            });
            const list = await res.json() as Task[];
            const running = list.filter((t) => t.Status.State === "running");
            return running.length === 3 && new Set(running.map((t) => t.NodeID)).size === 3
              ? running
              : undefined;
          });
          figures.push(
            `global service running on 3 nodes ${
              ((performance.now() - t1) / 1000).toFixed(2)
            } s after create (pulls included)`,
          );
          const addrs = tasks.map((t) =>
            t.NetworksAttachments!.find((a) => a.Network.Spec.Name === "sdlab-overlay")!
              .Addresses[0]!
              .split("/")[0]!
          );
          // From a container on node 1, on the overlay: every task's /healthz, two of them on other nodes.
          const code = `const out = [];
for (const a of ${JSON.stringify(addrs)}) {
  const r = await fetch("http://" + a + ":3000/healthz", { signal: AbortSignal.timeout(5000) });
  out.push([r.status, (await r.json()).instance]);
}
console.log(JSON.stringify(out));`;
          const node1 = await labNodeClient(lab, 1);
          const created = await node1.request("POST", "/containers/create", {
            query: { name: "sdlab-client" },
            json: {
              Image: image,
              User: "10001",
              Entrypoint: ["/bin/deno", "eval", code],
              HostConfig: { NetworkMode: "sdlab-overlay" },
            },
          }).then((r) => r.json()) as { Id: string };
          try {
            await node1.containerStart(created.Id);
            const waited = await node1.request("POST", `/containers/${created.Id}/wait`, {
              timeoutMs: 60_000,
            }).then((r) => r.json()) as { StatusCode: number };
            const logs = await node1.containerLogs(created.Id, 50);
            assert.equal(waited.StatusCode, 0, logs);
            const answers = JSON.parse(logs.trim().split("\n").pop()!) as [number, string][];
            assert.deepEqual(answers.map((a) => a[0]), [200, 200, 200]);
            assert.equal(new Set(answers.map((a) => a[1])).size, 3, "not three distinct tasks");
          } finally {
            await node1.containerRemove(created.Id);
          }
          await manager.request("DELETE", "/services/sdlab-probe").then((r) => r.body?.cancel());
        },
      );

      await t.step(
        "lab up after a node's dockerd died: the broken lab is taken down and built again",
        async () => {
          const pid = Number((await Deno.readTextFile(layout.nodes[2]!.pidFile)).trim());
          Deno.kill(pid, "SIGKILL");
          const up = await lab_(["up"]);
          assert.equal(up.code, 0, up.stderr + up.stdout);
          assert.ok(up.stderr.includes(`dockerd of ${N3} is not running`), up.stderr);
          assert.match(up.stdout, /Lab up in/);
          const st = await lab_(["status", "--json"]);
          assert.equal(st.code, 0, st.stdout);
          const nodes = (JSON.parse(st.stdout) as { nodes: { state: string }[] }).nodes;
          assert.deepEqual(nodes.map((n) => n.state), ["ready", "ready", "ready"]);
        },
      );

      await t.step(
        "lab down removes every namespace, link, process, mount, cgroup and folder; a second down is a no-op",
        async () => {
          const t0 = performance.now();
          const down = await lab_(["down"]);
          figures.push(`lab down ${((performance.now() - t0) / 1000).toFixed(2)} s (CLI process)`);
          assert.equal(down.code, 0, down.stderr + down.stdout);
          assert.match(down.stdout, /nothing of it is left/);
          await assertNothingLeft();
          const again = await lab_(["down"]);
          assert.equal(again.code, 0);
          assert.match(again.stdout, /No lab is up/);
          const st = await lab_(["status"]);
          assert.equal(st.code, 1);
          assert.match(st.stdout, /No lab is up/);
        },
      );
      console.log(`lab figures: ${figures.join("; ")}`);
    } finally {
      await labDown(() => {}, layout).catch((e) => console.error(`cleanup: ${e}`));
    }
  },
});
