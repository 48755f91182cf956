/**
 * deploy, promote and teardown end to end: the real CLI against the real
 * engine, nginx and OPA. Every test has its own project and ports, and
 * checks what really happened: containers and their settings through the
 * Engine API, HTTP through nginx, the history beside the manifest, exit
 * codes and messages.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ContainerInspect, EngineClient } from "../cli/engine/mod.ts";
import { createTar } from "../cli/tar/mod.ts";
import {
  CONTAINER_USERS,
  type ContainerRole,
  LABEL_CONFIG_HASH,
  LABEL_PROJECT,
  LABEL_ROLE,
  LABEL_VERSION,
} from "../cli/plan/mod.ts";
import {
  getJson,
  getOnce,
  HOME,
  makeStack,
  projectContainers,
  spawnCli,
  type TestStack,
  withStack,
} from "./_harness.ts";

const GENERATED = ["nginx.conf", "docker-compose.yml", "policy_data.json"];
const ROLES: ContainerRole[] = ["opa", "app", "nginx"];

// --- helpers ------------------------------------------------------------------------

async function withEngine<T>(fn: (engine: EngineClient) => Promise<T>): Promise<T> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

interface Running {
  name: string;
  id: string;
  role: string;
  state: string;
  image: string;
}

/** Every container of the project, with its role label. */
function containersOf(project: string): Promise<Running[]> {
  return withEngine(async (engine) =>
    (await engine.containerList([`${LABEL_PROJECT}=${project}`])).map((c) => ({
      name: (c.Names[0] ?? "").replace(/^\//, ""),
      id: c.Id,
      role: c.Labels[LABEL_ROLE] ?? "",
      state: c.State,
      image: c.Image,
    }))
  );
}

/** The one container of each role; fails when a role has none or several. */
async function oneOfEach(project: string): Promise<Record<ContainerRole, Running>> {
  const list = await containersOf(project);
  const out: Partial<Record<ContainerRole, Running>> = {};
  for (const role of ROLES) {
    const of = list.filter((c) => c.role === role);
    assert.equal(
      of.length,
      1,
      `expected exactly one ${role} container, got ${JSON.stringify(list.map((c) => c.name))}`,
    );
    out[role] = of[0]!;
  }
  assert.equal(list.length, 3, `unexpected containers: ${JSON.stringify(list.map((c) => c.name))}`);
  return out as Record<ContainerRole, Running>;
}

/** Containers, networks and volumes labelled with the project. */
function engineObjects(project: string): Promise<string[]> {
  return withEngine(async (engine) => {
    const label = [`${LABEL_PROJECT}=${project}`];
    return [
      ...(await engine.containerList(label)).map((c) => `container ${c.Names[0]}`),
      ...(await engine.networkList(label)).map((n) => `network ${n.Name}`),
      ...(await engine.volumeList(label)).map((v) => `volume ${v.Name}`),
    ];
  });
}

interface Event {
  event: string;
  data: Record<string, unknown>;
}

async function history(stack: TestStack): Promise<Event[]> {
  const text = await Deno.readTextFile(join(stack.dir, "history.jsonl"));
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Event);
}

async function eventNames(stack: TestStack): Promise<string[]> {
  return (await history(stack)).map((e) => e.event);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** All of stdout and stderr, for messages that may go to either. */
const output = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

function assertOk(r: { code: number; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${output(r)}`);
}

async function editManifest(stack: TestStack, from: string, to: string): Promise<void> {
  const text = await Deno.readTextFile(stack.manifestPath);
  assert.ok(text.includes(from), `manifest has no "${from}"`);
  await Deno.writeTextFile(stack.manifestPath, text.replace(from, to));
}

/** The CLI as a child process we can signal, on this stack's manifest. */
function spawnStackCli(stack: TestStack, args: string[]): Deno.ChildProcess {
  return spawnCli(["-f", stack.manifestPath, ...args]);
}

/**
 * At most this many requests lost at the connection level per traffic loop:
 * the one nginx reload of a switch can close a kept-alive connection as a
 * request is written on it. Counted and printed, never resent (issue 13
 * removes the reload).
 */
const MAX_LOST = 4;

/**
 * GET / through nginx like a plain client (getOnce, never resent),
 * `concurrency` at a time, from now until `done` settles (and for at least
 * `minMs`); status → count of the answered requests. Lost ones are counted
 * apart and bounded by MAX_LOST.
 */
async function trafficUntil(
  url: string,
  done: Promise<unknown>,
  minMs: number,
  concurrency = 3,
): Promise<Map<number, number>> {
  let settled = false;
  done.finally(() => (settled = true)).catch(() => {});
  const counts = new Map<number, number>();
  let lost = 0;
  const start = Date.now();
  const cap = start + 120_000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while ((!settled || Date.now() - start < minMs) && Date.now() < cap) {
      let status = 0;
      try {
        const got = await getOnce(url);
        if ("lost" in got) {
          lost++;
          await sleep(20);
          continue;
        }
        status = got.res.status;
      } catch { /* a timeout: counted as 0 */ }
      counts.set(status, (counts.get(status) ?? 0) + 1);
      await sleep(20);
    }
  }));
  if (lost > 0) console.log(`${lost} request(s) lost at the connection level (nginx reload)`);
  assert.ok(lost <= MAX_LOST, `${lost} requests lost at the connection level`);
  return counts;
}

/** GET through nginx; a network error or timeout is a status 0 with its message. */
async function probe(
  url: string,
): Promise<{ status: number; body: Record<string, unknown>; error?: string }> {
  const t0 = performance.now();
  try {
    return await getJson(url);
  } catch (error) {
    return {
      status: 0,
      body: {},
      error: `${(error as Error).name} after ${Math.round(performance.now() - t0)} ms: ${
        (error as Error).message
      }`,
    };
  }
}

function bindings(c: ContainerInspect): { ip: string; port: string }[] {
  const out: { ip: string; port: string }[] = [];
  for (const list of Object.values(c.NetworkSettings.Ports ?? {})) {
    for (const b of list ?? []) out.push({ ip: b.HostIp, port: b.HostPort });
  }
  for (const list of Object.values(c.HostConfig.PortBindings ?? {})) {
    for (const b of list ?? []) out.push({ ip: b.HostIp, port: b.HostPort });
  }
  return out;
}

const wildcard = (ip: string) => ip === "0.0.0.0" || ip === "" || ip === "::";

// --- 1. first deploy ----------------------------------------------------------------

Deno.test({
  name: "deploy() starts a hardened, labelled stack serving through nginx when nothing runs yet",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      const t0 = performance.now();
      const r = await stack.run(["deploy"]);
      const coldMs = performance.now() - t0;
      assertOk(r, "deploy");
      console.log(`cold deploy (images present) to healthy: ${(coldMs / 1000).toFixed(1)} s`);
      assert.match(r.stdout, /Deployed .*healthy/);

      const h = await getJson(stack.url("/healthz"));
      assert.equal(h.status, 200);
      assert.equal(h.body.status, "ok");
      assert.equal(h.body.mode, "stable");
      assert.equal(h.body.version, "1.0.0");
      assert.equal(h.headers.get("x-deployed-by"), "swiftdeploy");
      assert.equal(h.headers.get("x-mode"), null);

      const names = await projectContainers(stack.project);
      assert.equal(names.get(`${stack.project}-opa`), "running");
      assert.equal(names.get(`${stack.project}-nginx`), "running");
      const apps = [...names.keys()].filter((n) => n.startsWith(`${stack.project}-app-`));
      assert.equal(apps.length, 1, JSON.stringify([...names]));
      assert.match(apps[0]!, new RegExp(`^${stack.project}-app-[0-9a-f]{8}$`));
      assert.equal(names.get(apps[0]!), "running");
      assert.equal(names.size, 3);

      const byRole = await oneOfEach(stack.project);
      const inspected = await withEngine(async (engine) => {
        const out: Partial<Record<ContainerRole, ContainerInspect>> = {};
        for (const role of ROLES) {
          const c = await engine.containerInspect(byRole[role].id);
          assert.ok(c, `${role} container can be inspected`);
          out[role] = c;
        }
        return out as Record<ContainerRole, ContainerInspect>;
      });
      const wildcardHolders: string[] = [];
      for (const role of ROLES) {
        const c = inspected[role];
        assert.equal(c.Config.User, CONTAINER_USERS[role], `${role} user`);
        assert.deepEqual(c.HostConfig.CapDrop, ["ALL"], `${role} CapDrop`);
        assert.ok(
          (c.HostConfig.SecurityOpt ?? []).some((o) => /^no-new-privileges(:true)?$/.test(o)),
          `${role} SecurityOpt ${JSON.stringify(c.HostConfig.SecurityOpt)}`,
        );
        assert.equal(c.HostConfig.ReadonlyRootfs, true, `${role} ReadonlyRootfs`);
        assert.equal(c.Config.Labels[LABEL_PROJECT], stack.project);
        assert.equal(c.Config.Labels[LABEL_ROLE], role);
        assert.match(c.Config.Labels[LABEL_CONFIG_HASH] ?? "", /^[0-9a-f]{16,64}$/);
        assert.equal(c.Config.Labels[LABEL_VERSION], "1.0.0");
        if (bindings(c).some((b) => wildcard(b.ip))) wildcardHolders.push(role);
      }
      // The app is published nowhere; OPA on loopback only; nginx is the only public port.
      assert.deepEqual(bindings(inspected.app), [], "app must have no port bindings");
      const opaBindings = bindings(inspected.opa);
      assert.ok(opaBindings.length > 0);
      for (const b of opaBindings) {
        assert.equal(b.ip, "127.0.0.1", `OPA bound on ${b.ip}`);
        assert.equal(b.port, String(stack.opaPort));
      }
      assert.ok(bindings(inspected.nginx).some((b) => b.port === String(stack.nginxPort)));
      assert.deepEqual(wildcardHolders, ["nginx"]);
      // OPA sits on the default bridge only: no route from nginx or the app.
      assert.deepEqual(Object.keys(inspected.opa.NetworkSettings.Networks), ["bridge"]);
      assert.deepEqual(Object.keys(inspected.app.NetworkSettings.Networks), [
        `${stack.project}-net`,
      ]);

      const opa = await fetch(`http://127.0.0.1:${stack.opaPort}/health`, {
        signal: AbortSignal.timeout(5000),
      });
      await opa.body?.cancel();
      assert.equal(opa.status, 200);

      // OPA's API is not reachable through nginx: the app answers its own 404.
      const v = await getJson(stack.url("/v1/data/swiftdeploy"));
      assert.equal(v.status, 404);
      assert.match(String(v.body.error), /Not found/);
      assert.equal(v.body.result, undefined);
      assert.equal(v.headers.get("x-deployed-by"), "swiftdeploy");

      const events = await history(stack);
      const deploy = events.find((e) => e.event === "deploy");
      assert.ok(deploy, JSON.stringify(events));
      assert.equal(deploy.data.mode, "stable");
      assert.deepEqual(
        [...(deploy.data.containers as string[])].sort(),
        [...names.keys()].sort(),
      );
    });
  },
});

// --- 2. no-op redeploy --------------------------------------------------------------

Deno.test({
  name: "deploy() changes nothing and records deploy_noop when the stack already matches",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      assertOk(await stack.run(["deploy"]), "first deploy");
      const before = await oneOfEach(stack.project);
      const t0 = performance.now();
      const r = await stack.run(["deploy"]);
      console.log(`no-op redeploy: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      assertOk(r, "second deploy");
      assert.match(r.stdout, /Nothing to do/);
      const after = await oneOfEach(stack.project);
      for (const role of ROLES) assert.equal(after[role].id, before[role].id, `${role} id`);
      const names = await eventNames(stack);
      assert.deepEqual(names, ["deploy", "deploy_noop"]);
      assert.equal((await getJson(stack.url("/healthz"))).status, 200);
    });
  },
});

Deno.test({
  name:
    "deploy --dry-run and promote --dry-run print the actions against the running engine and change nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      assertOk(await stack.run(["deploy"]), "first deploy");
      const before = await oneOfEach(stack.project);
      const manifest = await Deno.readTextFile(stack.manifestPath);
      const conf = await Deno.readTextFile(join(stack.dir, "nginx.conf"));

      const noop = await stack.run(["deploy", "--dry-run"]);
      assertOk(noop, "deploy --dry-run");
      assert.match(noop.stdout, /Nothing to do: the running stack already matches the manifest/);
      assert.match(noop.stdout, new RegExp(`keep "${before.app.name}"`));

      const promote = await stack.run(["promote", "canary", "--dry-run"]);
      assertOk(promote, "promote canary --dry-run");
      // What a promotion would do on this engine: a new app beside the running one, a
      // graceful switch, the old app drained, each step with its undo.
      assert.match(promote.stdout, /\d+ actions, in order \(undone in reverse on failure\):/);
      assert.match(promote.stdout, /create "[^"]*-app-[0-9a-f]+"/);
      assert.match(promote.stdout, /undo: remove "[^"]*-app-/);
      assert.match(promote.stdout, new RegExp(`drain "${before.app.name}"`));
      assert.match(promote.stdout, /confirm through nginx: \/healthz reports mode "canary"/);
      assert.match(promote.stdout, /dry run: the canary gate was not asked; nothing was written/);

      const after = await oneOfEach(stack.project);
      for (const role of ROLES) assert.equal(after[role].id, before[role].id, `${role} id`);
      assert.equal(await Deno.readTextFile(stack.manifestPath), manifest, "manifest untouched");
      assert.equal(await Deno.readTextFile(join(stack.dir, "nginx.conf")), conf);
      assert.equal((await getJson(stack.url("/healthz"))).body.mode, "stable");
      assert.deepEqual(await eventNames(stack), ["deploy"], "a dry run records nothing");
    });
  },
});

// --- 3. changed redeploy ------------------------------------------------------------

Deno.test({
  name: "deploy() replaces only the app container when the version changes",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      assertOk(await stack.run(["deploy"]), "first deploy");
      const before = await oneOfEach(stack.project);
      await editManifest(stack, `version: "1.0.0"`, `version: "1.1.0"`);
      const r = await stack.run(["deploy"]);
      assertOk(r, "redeploy");
      const after = await oneOfEach(stack.project);
      assert.notEqual(after.app.name, before.app.name, "the app container has a new name");
      assert.notEqual(after.app.id, before.app.id);
      assert.equal(after.app.state, "running");
      const h = await getJson(stack.url("/healthz"));
      assert.equal(h.status, 200);
      assert.equal(h.body.version, "1.1.0");
      assert.equal(h.body.instance, after.app.id.slice(0, 12));
      const last = (await history(stack)).at(-1);
      assert.equal(last?.event, "deploy");
      assert.equal(last?.data.version, "1.1.0");
      // A version change is an app change: nginx and OPA must keep running as they are.
      assert.equal(
        after.nginx.id,
        before.nginx.id,
        `nginx was recreated by a version change:\n${r.stdout}`,
      );
      assert.equal(
        after.opa.id,
        before.opa.id,
        `OPA was recreated by a version change:\n${r.stdout}`,
      );
    });
  },
});

// --- 4. blocked by policy -----------------------------------------------------------

Deno.test({
  name: "deploy() starts nothing and exits 3 when the infrastructure policy denies",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({ minDiskFreeGb: 1000000 }, async (stack) => {
      const r = await stack.run(["deploy"]);
      assert.equal(r.code, 3, output(r));
      assert.match(r.stdout, /DENIED/);
      assert.match(r.stdout, /disk free/i);
      assert.match(r.stdout, /1000000/);
      assert.match(r.stdout, /nothing was started/);
      assert.deepEqual(await engineObjects(stack.project), []);
      await withEngine(async (engine) => {
        assert.equal(await engine.networkInspect(`${stack.project}-net`), undefined);
        assert.equal(await engine.volumeInspect(`${stack.project}-logs`), undefined);
      });
      const events = await history(stack);
      assert.deepEqual(events.map((e) => e.event), ["deploy_blocked", "policy_violation"]);
      assert.equal(events[1]!.data.domain, "infrastructure");
      assert.ok((events[1]!.data.reasons as string[]).some((x) => /disk/i.test(x)));
    });
  },
});

// --- 5. never-healthy image ---------------------------------------------------------

Deno.test({
  name: "deploy() keeps the old app serving and exits 1 when the new one never becomes healthy",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const stack = await makeStack();
    const brokenRepo = `${stack.project}-broken`;
    try {
      assertOk(await stack.run(["deploy"]), "first deploy");
      const before = await oneOfEach(stack.project);
      const served = await getJson(stack.url("/healthz"));
      assert.equal(served.status, 200);
      // The OPA image under another name: it runs, but has no /bin/busybox for the app's healthcheck.
      await withEngine(async (engine) => {
        const opa = await engine.imageInspect("openpolicyagent/opa:latest-static");
        assert.ok(opa, "the OPA image is built");
        await engine.imageTag(opa.Id, brokenRepo, "latest");
      });
      await editManifest(
        stack,
        "image: swift-deploy-1-node:latest",
        `image: ${brokenRepo}:latest`,
      );
      const t0 = performance.now();
      const r = await stack.run(["deploy", "--timeout", "8"]);
      const ms = performance.now() - t0;
      assert.equal(r.code, 1, output(r));
      assert.ok(ms < 60_000, `took ${ms} ms with --timeout 8`);
      const out = output(r);
      assert.match(out, /did not become healthy/);
      assert.match(out, /not healthy after 8 s/);
      assert.match(out, /--- last log lines ---/);
      assert.match(out, /--- health checks ---/);
      assert.match(out, /\/bin\/busybox/, "the health-check output names what failed");

      const h = await getJson(stack.url("/healthz"));
      assert.equal(h.status, 200);
      assert.equal(h.body.instance, served.body.instance, "the old instance keeps serving");
      const after = await oneOfEach(stack.project);
      for (const role of ROLES) assert.equal(after[role].id, before[role].id, `${role} id`);
      assert.ok(
        !(await containersOf(stack.project)).some((c) => c.image.includes(brokenRepo)),
        "no broken container is left",
      );
      const events = await history(stack);
      const failed = events.at(-1);
      assert.equal(failed?.event, "deploy_failed");
      assert.match(String(failed?.data.reason), /did not become healthy/);
    } finally {
      await stack.cleanup();
      await withEngine((engine) => engine.imageRemove(`${brokenRepo}:latest`)).catch(() => {});
    }
  },
});

// --- 6. promote both ways -----------------------------------------------------------

/** The harness manifest with comments everywhere a hand-kept manifest has them. */
function commented(text: string): string {
  return text
    .replace(
      "services:\n",
      "# the application\nservices:\n  # image built by `swiftdeploy build`\n",
    )
    .replace(
      /(\n {2}mode: stable)\n/,
      "\n  # stable or canary: changed by `swiftdeploy promote`$1   # keep me\n",
    )
    .replace("nginx:\n", "\n# the public entry point\nnginx:\n")
    .replace(/\n$/, "\n# end of manifest\n");
}

const commentLines = (text: string) => text.split("\n").filter((l) => /#/.test(l));

Deno.test({
  name: "promote() switches to canary and back, editing only the mode's value in the manifest",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      const original = commented(await Deno.readTextFile(stack.manifestPath));
      assert.match(original, /mode: stable {3}# keep me/);
      await Deno.writeTextFile(stack.manifestPath, original);
      assertOk(await stack.run(["deploy"]), "deploy");
      const stableApp = (await oneOfEach(stack.project)).app;

      const t0 = performance.now();
      const toCanary = await stack.run(["promote", "canary"]);
      console.log(`promote canary: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      assertOk(toCanary, "promote canary");
      const canaryText = await Deno.readTextFile(stack.manifestPath);
      assert.match(canaryText, /\n {2}mode: canary {3}# keep me\n/);
      assert.equal(canaryText.replace("mode: canary", "mode: stable"), original);
      assert.deepEqual(
        commentLines(canaryText),
        commentLines(original).map((l) => l.replace("mode: stable", "mode: canary")),
      );
      for (const path of ["/", "/healthz"]) {
        const res = await getJson(stack.url(path));
        assert.equal(res.status, 200, path);
        assert.equal(res.body.mode, "canary", path);
        assert.equal(res.headers.get("x-mode"), "canary", `${path}: X-Mode exactly once`);
        assert.equal(res.headers.get("x-deployed-by"), "swiftdeploy");
      }
      const canaryApp = (await oneOfEach(stack.project)).app;
      assert.notEqual(canaryApp.name, stableApp.name);
      let last = (await history(stack)).at(-1);
      assert.equal(last?.event, "promote");
      assert.equal(last?.data.from, "stable");
      assert.equal(last?.data.to, "canary");

      // Clean traffic through nginx across more than the 4 s window the gate measures.
      const t1 = performance.now();
      const promoting = stack.run(["promote", "stable"]);
      const traffic = trafficUntil(stack.url("/"), promoting, 1000);
      const toStable = await promoting;
      console.log(
        `promote stable (with its 4 s window): ${((performance.now() - t1) / 1000).toFixed(1)} s`,
      );
      const counts = await traffic;
      assertOk(toStable, "promote stable");
      assert.ok((counts.get(200) ?? 0) >= 5, JSON.stringify([...counts]));
      assert.deepEqual([...counts.keys()], [200], "the traffic was clean");
      assert.match(toStable.stdout, /ALLOWED/);
      assert.equal(await Deno.readTextFile(stack.manifestPath), original);
      const h = await getJson(stack.url("/healthz"));
      assert.equal(h.status, 200);
      assert.equal(h.body.mode, "stable");
      assert.equal(h.headers.get("x-mode"), null);
      const root = await getJson(stack.url("/"));
      assert.equal(root.headers.get("x-mode"), null);
      assert.equal((await oneOfEach(stack.project)).app.name, stableApp.name);
      last = (await history(stack)).at(-1);
      assert.equal(last?.event, "promote");
      assert.equal(last?.data.from, "canary");
      assert.equal(last?.data.to, "stable");
    });
  },
});

// --- 7. promote blocked -------------------------------------------------------------

Deno.test({
  name:
    "promote() exits 3 and touches nothing when the canary fails the gate or the mode is current",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({ mode: "canary" }, async (stack) => {
      assertOk(await stack.run(["deploy"]), "deploy canary");
      const manifestBefore = await Deno.readFile(stack.manifestPath);
      const before = await oneOfEach(stack.project);
      const chaos = await fetch(stack.url("/chaos"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ mode: "error", rate: 1 }),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(chaos.status, 200, await chaos.text());

      const promoting = stack.run(["promote", "stable"]);
      const counts = await trafficUntil(stack.url("/"), promoting, 1000);
      const r = await promoting;
      assert.equal(r.code, 3, output(r));
      assert.ok((counts.get(500) ?? 0) >= 5, JSON.stringify([...counts]));
      assert.match(r.stdout, /DENIED/);
      assert.match(r.stdout, /error rate/i);
      assert.match(r.stdout, /manifest and containers untouched/);
      assert.deepEqual(await Deno.readFile(stack.manifestPath), manifestBefore);
      const after = await oneOfEach(stack.project);
      for (const role of ROLES) assert.equal(after[role].id, before[role].id, `${role} id`);
      const h = await getJson(stack.url("/healthz"));
      assert.equal(h.body.mode, "canary");
      const names = await eventNames(stack);
      assert.deepEqual(names.slice(-2), ["promote_blocked", "policy_violation"]);

      const same = await stack.run(["promote", "canary"]);
      assert.equal(same.code, 3, output(same));
      assert.match(output(same), /already/);
      assert.deepEqual(await Deno.readFile(stack.manifestPath), manifestBefore);
      assert.equal((await eventNames(stack)).filter((e) => e === "promote_blocked").length, 2);
      assert.ok(!(await eventNames(stack)).includes("promote"));
    });
  },
});

// --- 8. teardown --------------------------------------------------------------------

Deno.test({
  name:
    "teardown() removes everything by label, keeps the history, and --clean deletes the generated files",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const stack = await makeStack();
    const generated = GENERATED.map((f) => join(stack.dir, f));
    try {
      assertOk(await stack.run(["deploy"]), "deploy");
      assert.ok((await engineObjects(stack.project)).length >= 5);

      const plain = await stack.run(["teardown"]);
      assertOk(plain, "teardown");
      assert.match(plain.stdout, /history and releases kept/);
      assert.deepEqual(await engineObjects(stack.project), []);
      for (const f of generated) assert.ok(await exists(f), `${f} kept without --clean`);
      assert.deepEqual(await eventNames(stack), ["deploy", "teardown"]);

      const clean = await stack.run(["teardown", "--clean"]);
      assertOk(clean, "teardown --clean");
      for (const f of generated) assert.ok(!(await exists(f)), `${f} deleted by --clean`);
      const state = [...Deno.readDirSync(join(stack.dir, ".swiftdeploy"))].map((e) => e.name);
      assert.deepEqual(
        state.sort(),
        ["lock.json", "releases"],
        "--clean leaves only the change lock and the release evidence",
      );
      assert.ok(await exists(join(stack.dir, "history.jsonl")));
      assert.ok(await exists(stack.manifestPath));
      assert.deepEqual(await eventNames(stack), ["deploy", "teardown", "teardown"]);

      // Without any generated file, teardown still finds the stack by its label.
      assertOk(await stack.run(["deploy"]), "second deploy");
      assert.equal((await getJson(stack.url("/healthz"))).status, 200);
      for (const f of generated) await Deno.remove(f);
      await Deno.remove(join(stack.dir, ".swiftdeploy"), { recursive: true });
      const bare = await stack.run(["teardown"]);
      assertOk(bare, "teardown without generated files");
      assert.deepEqual(await engineObjects(stack.project), []);
      assert.deepEqual(await eventNames(stack), [
        "deploy",
        "teardown",
        "teardown",
        "deploy",
        "teardown",
      ]);
    } finally {
      await stack.cleanup();
    }
  },
});

// --- 9. the lock --------------------------------------------------------------------

Deno.test({
  name: "deploy() exits 4 while a live process holds the lock, not for a record naming a live pid",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const stack = await makeStack();
    const lockFile = join(stack.dir, ".swiftdeploy", "lock.json");
    // A real holder: a process that holds the kernel lock (cli/lock/_lock_worker.ts hold).
    const holder = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(HOME, "cli", "lock", "_lock_worker.ts"), "hold", lockFile],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const unrelated = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" })
      .spawn();
    try {
      await Deno.mkdir(join(stack.dir, ".swiftdeploy"), { recursive: true });
      const reader = holder.stdout.getReader();
      assert.match(new TextDecoder().decode((await reader.read()).value), /ready/);
      reader.releaseLock();
      const locked = await stack.run(["deploy"]);
      assert.equal(locked.code, 4, output(locked));
      assert.match(output(locked), new RegExp(`pid ${holder.pid}\\b`));
      assert.match(output(locked), /another change holds the lock/);
      assert.deepEqual(await engineObjects(stack.project), []);
      const status = await stack.run(["lock", "status"]);
      assert.match(status.stdout, new RegExp(`locked by "hold" \\(pid ${holder.pid} on `));
      // The lock cannot be taken from a running holder: release says who and how.
      const refused = await stack.run(["lock", "release"]);
      assert.equal(refused.code, 4, output(refused));
      assert.match(output(refused), new RegExp(`kill ${holder.pid}`));

      // The holder is killed: the kernel frees the lock at once; its record is reported.
      holder.kill("SIGKILL");
      await holder.status;
      assert.match((await stack.run(["lock", "status"])).stdout, /ended without releasing/);
      // A record naming a live, unrelated process (pid reuse) does not block either.
      const text = await Deno.readTextFile(lockFile);
      await Deno.writeTextFile(
        lockFile,
        text.replace(new RegExp(`"pid":${holder.pid}`), `"pid":${unrelated.pid}`),
      );
      const r = await stack.run(["deploy"]);
      assertOk(r, "deploy over a killed holder's record naming a live pid");
      assert.match(r.stderr, /warning: took over the lock/);
      assert.match(r.stderr, new RegExp(`pid ${unrelated.pid}\\b`));
      const events = await history(stack);
      const taken = events.find((e) => e.event === "lock_taken_over");
      assert.ok(taken, JSON.stringify(events.map((e) => e.event)));
      assert.equal((taken.data.previous as { pid: number }).pid, unrelated.pid);
      assert.equal(events.at(-1)?.event, "deploy");
      const after = await stack.run(["lock", "status"]);
      assert.equal(after.code, 0);
      assert.match(after.stdout, /^unlocked$/m, "deploy released the lock and its record");
      assert.match((await stack.run(["lock", "release"])).stdout, /nothing to release/);
    } finally {
      for (const child of [holder, unrelated]) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
        await child.status;
      }
      await holder.stdout.cancel().catch(() => {});
      await stack.cleanup();
    }
  },
});

// --- 10. crash safety ---------------------------------------------------------------

/** Polls until `cond` holds; returns false after `ms`. */
async function waitUntil(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(50);
  }
  return false;
}

async function assertConverged(stack: TestStack, mode: string): Promise<void> {
  const list = await containersOf(stack.project);
  assert.ok(
    !list.some((c) => c.name.includes("-old-")),
    `leftover: ${list.map((c) => c.name)}`,
  );
  const one = await oneOfEach(stack.project);
  for (const role of ROLES) assert.equal(one[role].state, "running", `${role} running`);
  const h = await getJson(stack.url("/healthz"));
  assert.equal(h.status, 200);
  assert.equal(h.body.mode, mode);
  assert.equal(h.body.instance, one.app.id.slice(0, 12));
}

Deno.test({
  name: "deploy() converges and takes over the lock when a deploy or promote was killed midway",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const stack = await makeStack();
    const lockFile = join(stack.dir, ".swiftdeploy", "lock.json");
    try {
      // A deploy killed right after its app container appeared.
      const deploy = spawnStackCli(stack, ["deploy"]);
      const appeared = await waitUntil(
        async () => (await containersOf(stack.project)).some((c) => c.role === "app"),
        60_000,
      );
      deploy.kill("SIGKILL");
      const killed = await deploy.output();
      assert.ok(appeared, "the app container appeared");
      assert.equal(killed.signal, "SIGKILL");
      assert.match(
        await Deno.readTextFile(lockFile),
        /"command":"deploy"/,
        "the killed deploy left its record (not its lock: that ended with it)",
      );
      console.log(
        `killed deploy left: ${
          (await containersOf(stack.project)).map((c) => `${c.name} (${c.state})`)
        }`,
      );

      const again = await stack.run(["deploy"]);
      assertOk(again, "deploy after a killed deploy");
      assert.match(again.stderr, /took over the lock/);
      await assertConverged(stack, "stable");
      assert.equal((await eventNames(stack)).filter((e) => e === "lock_taken_over").length, 1);

      // A promote killed once its new app container appeared beside the old one.
      const oldApp = (await oneOfEach(stack.project)).app;
      const promote = spawnStackCli(stack, ["promote", "canary"]);
      const second = await waitUntil(
        async () =>
          (await containersOf(stack.project)).some((c) => c.role === "app" && c.id !== oldApp.id),
        60_000,
      );
      await sleep(300);
      promote.kill("SIGKILL");
      await promote.output();
      assert.ok(second, "the new app container appeared");
      console.log(
        `killed promote left: ${
          (await containersOf(stack.project)).map((c) => `${c.name} (${c.state})`)
        }`,
      );
      // Whatever the manifest says now (the edit may or may not have happened), deploy converges to it.
      const text = await Deno.readTextFile(stack.manifestPath);
      const mode = text.match(/\n {2}mode: (stable|canary)\n/)?.[1];
      assert.ok(mode, "the manifest still has a valid mode");
      const third = await stack.run(["deploy"]);
      assertOk(third, "deploy after a killed promote");
      assert.match(third.stderr, /took over the lock/);
      assert.doesNotMatch(output(third), /[Cc]onflict|already in use/);
      await assertConverged(stack, mode);
      assert.equal((await eventNames(stack)).filter((e) => e === "lock_taken_over").length, 2);
      assert.equal(await Deno.readTextFile(lockFile), "", "a finished deploy leaves no record");

      // A deploy killed after nginx was switched to the new app, before the old one was drained
      // (a new app port: a new app container, and a new routing table for nginx, no reload).
      const servingApp = (await oneOfEach(stack.project)).app;
      await editManifest(stack, "  port: 3000\n", "  port: 3001\n");
      const routesPath = join(stack.dir, ".swiftdeploy", "nginx", "routes");
      const switching = spawnStackCli(stack, ["deploy"]);
      // nginx's routes name the app by its static address on the project network (issue 11 case 7).
      const switched = await waitUntil(async () => {
        const fresh = (await containersOf(stack.project)).find((c) =>
          c.role === "app" && c.id !== servingApp.id
        );
        if (!fresh) return false;
        const ip = await withEngine(async (engine) =>
          (await engine.containerInspect(fresh.id))?.NetworkSettings
            .Networks[`${stack.project}-net`]
            ?.IPAddress
        );
        const routes = await Deno.readTextFile(routesPath).catch(() => "");
        return !!ip && routes.includes(`stable=${encodeURIComponent(`${ip}:3001`)}&`);
      }, 60_000);
      switching.kill("SIGKILL");
      await switching.output();
      assert.ok(switched, "nginx's routes pointed at the new app");
      console.log(
        `deploy killed after the switch left: ${
          (await containersOf(stack.project)).map((c) => `${c.name} (${c.state})`)
        }`,
      );
      const fourth = await stack.run(["deploy"]);
      assertOk(fourth, "deploy after a deploy killed after the switch");
      assert.match(fourth.stderr, /took over the lock/);
      await assertConverged(stack, mode);
      assert.ok(
        !(await containersOf(stack.project)).some((c) => c.id === servingApp.id),
        "the old app was drained",
      );
      assert.equal((await eventNames(stack)).filter((e) => e === "lock_taken_over").length, 3);
    } finally {
      await stack.cleanup();
    }
  },
});

// --- 10b. same name, new image: the rename path -------------------------------------

/** GET / through nginx until `done` settles: status counts, and how many the impostor answered. */
async function trafficSeenBy(
  url: string,
  done: Promise<unknown>,
): Promise<{ counts: Map<number, number>; impostor: number }> {
  let settled = false;
  done.finally(() => (settled = true)).catch(() => {});
  const counts = new Map<number, number>();
  let impostor = 0;
  await Promise.all(Array.from({ length: 3 }, async () => {
    while (!settled) {
      let status = 0;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        await res.body?.cancel();
        status = res.status;
        if (res.headers.get("x-impostor")) impostor++;
      } catch { /* counted as 0 */ }
      counts.set(status, (counts.get(status) ?? 0) + 1);
      await sleep(10);
    }
  }));
  return { counts, impostor };
}

/** The app image plus a server that listens on the app port but fails /healthz. */
async function buildImpostor(engine: EngineClient, tag: string): Promise<string> {
  const js = await Deno.readFile(
    new URL("./fixtures/lifecycle/impostor_app.js", import.meta.url),
  );
  const dockerfile = [
    "FROM swift-deploy-1-node:latest",
    "COPY impostor_app.js /app/impostor_app.js",
    `ENTRYPOINT ["/bin/deno", "run", "--allow-net", "--allow-env", "--cached-only", "--no-prompt", "/app/impostor_app.js"]`,
    "",
  ].join("\n");
  const context = createTar([
    { type: "file", name: "Dockerfile", data: new TextEncoder().encode(dockerfile) },
    { type: "file", name: "impostor_app.js", data: js },
  ]);
  return await engine.imageBuild(context, [tag], () => {});
}

Deno.test({
  name:
    "deploy() never routes to a same-named new app that is not healthy, and converges after a kill",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const project = `t${crypto.randomUUID().slice(0, 8)}`;
    const repo = `${project}-app`;
    const node = await withEngine((engine) => engine.imageInspect("swift-deploy-1-node:latest"));
    assert.ok(node, "the app image is built");
    let impostorId = "";
    const stack = await makeStack({ project, image: `${repo}:latest` });
    try {
      await withEngine((engine) => engine.imageTag(node.Id, repo, "latest"));
      assertOk(await stack.run(["deploy"]), "first deploy");
      const first = await oneOfEach(project);
      const served = await getJson(stack.url("/healthz"));

      // Same image name, another image: same container name, so the new one warms up under
      // a "-next" name off the project network; it listens but never becomes healthy.
      impostorId = await withEngine((engine) => buildImpostor(engine, `${repo}:latest`));
      const failing = stack.run(["deploy", "--timeout", "6"]);
      const seen = await trafficSeenBy(stack.url("/"), failing);
      const r = await failing;
      assert.equal(r.code, 1, output(r));
      assert.match(output(r), /did not become healthy/);
      const back = await oneOfEach(project);
      assert.equal(back.app.id, first.app.id);
      assert.equal(back.app.name, first.app.name, "the old app kept its name");
      const afterFailure = await probe(stack.url("/healthz"));
      assert.equal(
        afterFailure.status,
        200,
        `right after the failed deploy: ${afterFailure.error}`,
      );
      assert.equal(afterFailure.body.instance, served.body.instance);
      assert.equal((await eventNames(stack)).at(-1), "deploy_failed");

      // Killed while the new app warms up under its "-next" name.
      const killedRun = spawnStackCli(stack, ["deploy", "--timeout", "30"]);
      const parked = await waitUntil(
        async () => (await containersOf(project)).some((c) => c.name.endsWith("-next")),
        60_000,
      );
      await sleep(200);
      killedRun.kill("SIGKILL");
      await killedRun.output();
      assert.ok(parked, "the new app warmed up under another name");
      console.log(
        `deploy killed on the same-name path left: ${
          (await containersOf(project)).map((c) => `${c.name} (${c.state})`)
        }`,
      );

      await withEngine((engine) => engine.imageTag(node.Id, repo, "latest"));
      const again = await stack.run(["deploy"]);
      assertOk(again, "deploy with the real image again");
      assert.match(again.stderr, /took over the lock/);
      await assertConverged(stack, "stable");
      assert.doesNotMatch(output(again), /[Cc]onflict|already in use/);

      // Checked last so that the steps above are checked even when these fail.
      console.log(
        `traffic during the failed same-name deploy: ${JSON.stringify([...seen.counts])}, ` +
          `${seen.impostor} answered by the never-healthy container`,
      );
      assert.equal(seen.impostor, 0, "requests reached the container that never became healthy");
      assert.deepEqual(
        [...seen.counts.keys()],
        [200],
        `the old app must serve every request: ${JSON.stringify([...seen.counts])}`,
      );
    } finally {
      await stack.cleanup();
      await withEngine(async (engine) => {
        await engine.imageRemove(`${repo}:latest`).catch(() => {});
        if (impostorId) await engine.imageRemove(impostorId).catch(() => {});
      });
    }
  },
});

// --- 11. review findings and issue 11 cases 7, 8 -------------------------------------

Deno.test({
  name:
    "deploy() refuses bad input before it writes anything, then acts only on the manifest it reads under the lock",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const stack = await makeStack();
    const lockFile = join(stack.dir, ".swiftdeploy", "lock.json");
    await Deno.mkdir(join(stack.dir, ".swiftdeploy"), { recursive: true });
    const holder = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(HOME, "cli", "lock", "_lock_worker.ts"), "hold", lockFile],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const reader = holder.stdout.getReader();
      assert.match(new TextDecoder().decode((await reader.read()).value), /ready/);
      reader.releaseLock();
      // Bad input is refused first (exit 2), whoever holds the lock.
      const valid = await Deno.readTextFile(stack.manifestPath);
      await Deno.writeTextFile(stack.manifestPath, valid.replace("port: 3000", "port: [oops"));
      const bad = await stack.run(["deploy"]);
      assert.equal(bad.code, 2, output(bad));
      // The holder's change lands while it holds the lock: deploy waits its turn (exit 4)...
      await Deno.writeTextFile(
        stack.manifestPath,
        valid.replace(`version: "1.0.0"`, `version: "2.0.0"`),
      );
      const r = await stack.run(["deploy"]);
      assert.equal(r.code, 4, output(r));
      holder.kill("SIGKILL");
      await holder.status;
      // ...and once the holder ended, acts on what the manifest says now.
      const after = await stack.run(["deploy"]);
      assertOk(after, "deploy once the holder ended");
      assert.equal((await getJson(stack.url("/healthz"))).body.version, "2.0.0");
    } finally {
      try {
        holder.kill("SIGKILL");
      } catch { /* gone */ }
      await holder.status;
      await holder.stdout.cancel().catch(() => {});
      await stack.cleanup();
    }
  },
});

Deno.test({
  name:
    "deploy() replaces a paused app with an unchanged spec by the zero-downtime path and serves again",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      assertOk(await stack.run(["deploy"]), "first deploy");
      const before = await oneOfEach(stack.project);
      // A frozen app, as after SIGSTOP: the engine API's pause is the faithful stand-in.
      await withEngine((engine) => engine.containerPause(before.app.id));
      const stuck = await probe(stack.url("/healthz"));
      assert.notEqual(stuck.status, 200, "the paused app must not answer");
      const r = await stack.run(["deploy", "--timeout", "30"]);
      assertOk(r, "deploy over a paused app");
      assert.match(r.stdout, /it is paused/);
      const after = await oneOfEach(stack.project);
      assert.notEqual(after.app.id, before.app.id, "a new app container serves");
      assert.equal(after.app.name, before.app.name, "it took the old one's name");
      assert.equal(after.nginx.id, before.nginx.id);
      const h = await getJson(stack.url("/healthz"));
      assert.equal(h.status, 200);
      assert.equal(h.body.instance, after.app.id.slice(0, 12));
    });
  },
});

Deno.test({
  name: "deploy() brings the old nginx back when its replacement cannot start, and it serves again",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const stack = await makeStack();
    const brokenRepo = `${stack.project}-nginx-broken`;
    try {
      assertOk(await stack.run(["deploy"]), "first deploy");
      const before = await oneOfEach(stack.project);
      const served = await getJson(stack.url("/healthz"));
      // The OPA image has no nginx: the new nginx container cannot run.
      await withEngine(async (engine) => {
        const opa = await engine.imageInspect("openpolicyagent/opa:latest-static");
        assert.ok(opa);
        await engine.imageTag(opa.Id, brokenRepo, "latest");
      });
      await editManifest(stack, "image: nginx:latest", `image: ${brokenRepo}:latest`);
      const r = await stack.run(["deploy", "--timeout", "8"]);
      assert.equal(r.code, 1, output(r));
      assert.match(output(r), /undo: start/);
      const after = await oneOfEach(stack.project);
      assert.equal(after.nginx.id, before.nginx.id, "the old nginx is back");
      assert.equal(after.nginx.name, before.nginx.name, "under its own name");
      assert.equal(after.nginx.state, "running");
      const ok = await waitUntil(
        async () => (await probe(stack.url("/healthz"))).status === 200,
        15_000,
      );
      assert.ok(ok, "the old nginx serves again");
      assert.equal((await getJson(stack.url("/healthz"))).body.instance, served.body.instance);
    } finally {
      await stack.cleanup();
      await withEngine((engine) => engine.imageRemove(`${brokenRepo}:latest`)).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "nginx never sends a request to another container on the network while the app is down, and finds the app again at once",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      assertOk(await stack.run(["deploy"]), "deploy");
      const { app } = await oneOfEach(stack.project);
      const real = app.id.slice(0, 12);
      await withEngine(async (engine) => {
        await engine.containerStop(app.id, 5);
        // A stranger on the project network, serving the same API on the same port.
        const stranger = await engine.containerCreate(`${stack.project}-stranger`, {
          Image: "swift-deploy-1-node:latest",
          Env: ["MODE=stable", "APP_VERSION=1.0.0", "APP_PORT=3000"],
          User: "10001:10001",
          Labels: { [LABEL_PROJECT]: stack.project, [LABEL_ROLE]: "stranger" },
          ExposedPorts: { "3000/tcp": {} },
          Healthcheck: { Test: ["NONE"], Interval: 0, Timeout: 0, Retries: 0 },
          HostConfig: {
            CapDrop: ["ALL"],
            SecurityOpt: [],
            ReadonlyRootfs: false,
            RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
            NetworkMode: `${stack.project}-net`,
            LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
            Memory: 256 * 2 ** 20,
            MemorySwap: 256 * 2 ** 20,
            NanoCpus: 1e9,
            PidsLimit: 128,
          },
        });
        await engine.containerStart(stranger);
      });
      await sleep(1500);
      const seen: string[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        const p = await probe(stack.url("/healthz"));
        const ms = performance.now() - t0;
        if (p.status === 200) seen.push(String(p.body.instance));
        assert.ok(ms < 5000, `a request waited ${Math.round(ms)} ms instead of failing fast`);
      }
      assert.deepEqual(seen.filter((id) => id !== real), [], "served by the stranger");
      // The engine starts the app again: same container, same static address.
      await withEngine((engine) => engine.containerStart(app.id));
      const t0 = performance.now();
      const back = await waitUntil(async () => {
        const p = await probe(stack.url("/healthz"));
        return p.status === 200 && p.body.instance === real;
      }, 15_000);
      console.log(`app served again ${Math.round(performance.now() - t0)} ms after its start`);
      assert.ok(back, "the real app serves again without a 30 s wait");
    });
  },
});
