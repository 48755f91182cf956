/**
 * Applies a stack plan to the engine, Kamal-style: start the new container,
 * wait until it is healthy, switch traffic (nginx graceful reload), then
 * drain and stop the old one. On any failure the new container is removed
 * and the old one keeps serving. Converges from whatever a crashed run left:
 * stale containers of the project are found by label and cleaned up.
 */
import { join } from "node:path";
import { SwiftDeployError } from "../errors.ts";
import {
  type ContainerInspect,
  type ContainerSummary,
  type EngineClient,
  EngineConflictError,
} from "../engine/mod.ts";
import {
  type ContainerPlan,
  LABEL_CONFIG_HASH,
  LABEL_PROJECT,
  LABEL_ROLE,
  POLICY_DATA_FILE,
  type StackPlan,
} from "../plan/mod.ts";
import { atomicWrite, readIfExists } from "../fsutil.ts";

export interface ApplyOptions {
  /** Per-container health wait. */
  timeoutMs: number;
  nginxPort: number;
  /** Rendered files the containers read. */
  nginxConf: string;
  policyData: string;
  /** What /healthz through nginx must report once traffic is switched. */
  expect: { mode: string; version: string };
  log: (line: string) => void;
  progress: (line: string) => void;
}

export interface ApplyResult {
  changed: boolean;
  created: string[];
  removed: string[];
  kept: string[];
  reloaded: boolean;
  /** The /healthz document seen through nginx at the end. */
  health: Record<string, unknown>;
}

/** The policy data without its `_generated` note, for comparison. */
function policyDataOf(text: string): string {
  try {
    const { _generated: _note, ...data } = JSON.parse(text) as Record<string, unknown>;
    return JSON.stringify(data);
  } catch {
    return text;
  }
}

function nginxBody(text: string): string {
  return text.split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nameOf = (c: ContainerSummary) => (c.Names[0] ?? "").replace(/^\//, "");

interface Undo {
  label: string;
  run: () => Promise<void>;
}

/** Waits for a container's healthcheck; throws with its logs and health output on failure. */
export async function waitHealthy(
  engine: EngineClient,
  id: string,
  name: string,
  timeoutMs: number,
  progress: (line: string) => void,
): Promise<void> {
  const start = Date.now();
  let last: ContainerInspect | undefined;
  while (Date.now() - start < timeoutMs) {
    last = await engine.containerInspect(id);
    if (!last) {
      throw new SwiftDeployError("DEPLOY_FAILED", `Container "${name}" disappeared while starting`);
    }
    const health = last.State.Health?.Status ?? (last.State.Running ? "healthy" : "none");
    if (!last.State.Running && last.State.Status !== "created") break;
    if (health === "healthy") {
      progress(`${name}: healthy after ${((Date.now() - start) / 1000).toFixed(1)} s`);
      return;
    }
    if (health === "unhealthy") break;
    progress(`${name}: ${health} (${Math.round((Date.now() - start) / 1000)} s)`);
    await sleep(250);
  }
  const logs = (await engine.containerLogs(id, 15).catch(() => "")).trimEnd();
  const healthLog =
    last?.State.Health?.Log?.slice(-3).map((h) => `exit ${h.ExitCode}: ${h.Output.trim()}`) ?? [];
  const state = last?.State.Running
    ? `health "${last.State.Health?.Status ?? "none"}"`
    : `exited with code ${last?.State.ExitCode ?? "?"}`;
  const why = last?.State.Running && Date.now() - start >= timeoutMs
    ? `not healthy after ${timeoutMs / 1000} s (${state})`
    : state;
  throw new SwiftDeployError(
    "DEPLOY_FAILED",
    `Container "${name}" did not become healthy: ${why}` +
      (logs ? `\n--- last log lines ---\n${logs}` : "") +
      (healthLog.length ? `\n--- health checks ---\n${healthLog.join("\n")}` : ""),
    { hint: "the previous containers keep serving; fix the cause and deploy again" },
  );
}

/** GET /healthz through nginx until it reports the expected mode and version (and instance). */
async function confirmThroughNginx(
  port: number,
  expect: { mode: string; version: string; instance?: string },
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const start = Date.now();
  let lastProblem = "no answer";
  while (Date.now() - start < timeoutMs) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, {
        signal: AbortSignal.timeout(3000),
      });
      const text = await res.text();
      if (res.status === 200) {
        const body = JSON.parse(text) as Record<string, unknown>;
        const instanceOk = !expect.instance || !body.instance || body.instance === expect.instance;
        if (
          body.status === "ok" && body.mode === expect.mode && body.version === expect.version &&
          instanceOk
        ) {
          return body;
        }
        lastProblem = `reports mode "${body.mode}", version "${body.version}"` +
          (body.instance ? `, instance "${body.instance}"` : "");
      } else {
        lastProblem = `HTTP ${res.status}`;
      }
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    await sleep(200);
  }
  throw new SwiftDeployError(
    "DEPLOY_FAILED",
    `Cannot confirm the switch through nginx on port ${port}: /healthz ${lastProblem}` +
      ` (expected mode "${expect.mode}", version "${expect.version}")`,
  );
}

async function imageId(engine: EngineClient, ref: string): Promise<string> {
  const image = await engine.imageInspect(ref);
  if (!image) {
    throw new SwiftDeployError(
      "DEPLOY_FAILED",
      `Cannot deploy: image "${ref}" does not exist locally`,
      {
        hint: "run `./swiftdeploy build` (no registry is needed)",
      },
    );
  }
  return image.Id;
}

function matches(c: ContainerSummary, plan: ContainerPlan, image: string): boolean {
  return c.State === "running" && c.Labels[LABEL_CONFIG_HASH] === plan.configHash &&
    c.ImageID === image;
}

async function stopAndRemove(
  engine: EngineClient,
  c: { Id: string },
  graceSeconds: number,
): Promise<void> {
  await engine.containerStop(c.Id, graceSeconds).catch(() => {});
  await engine.containerRemove(c.Id, { force: true });
}

async function ensureNetworkAndVolume(
  engine: EngineClient,
  plan: StackPlan,
  created: string[],
): Promise<void> {
  const net = await engine.networkInspect(plan.network.name);
  if (!net) {
    await engine.networkCreate(plan.network.body);
    created.push(`network ${plan.network.name}`);
  } else if (net.Labels?.[LABEL_PROJECT] !== plan.project) {
    throw new EngineConflictError(
      `Cannot use network "${plan.network.name}": it exists and does not belong to project "${plan.project}"`,
    );
  }
  const vol = await engine.volumeInspect(plan.volume.name);
  if (!vol) {
    await engine.volumeCreate(plan.volume.body);
    created.push(`volume ${plan.volume.name}`);
  } else if (vol.Labels?.[LABEL_PROJECT] !== plan.project) {
    throw new EngineConflictError(
      `Cannot use volume "${plan.volume.name}": it exists and does not belong to project "${plan.project}"`,
    );
  }
}

export async function applyStack(
  engine: EngineClient,
  plan: StackPlan,
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const created: string[] = [];
  const removed: string[] = [];
  const kept: string[] = [];
  const undo: Undo[] = [];
  let reloaded = false;
  const existing = await engine.containerList([`${LABEL_PROJECT}=${plan.project}`]);
  const byRole = (role: string) => existing.filter((c) => c.Labels[LABEL_ROLE] === role);

  try {
    await ensureNetworkAndVolume(engine, plan, created);

    // Files the containers read: written atomically into directories they bind.
    await Deno.mkdir(plan.hostDirs.nginxConfigDir, { recursive: true });
    await Deno.mkdir(plan.hostDirs.opaDataDir, { recursive: true });
    const dataPath = join(plan.hostDirs.opaDataDir, POLICY_DATA_FILE);
    const oldData = await readIfExists(dataPath);
    // `_generated` carries the manifest's hash, which every manifest edit changes:
    // only a change of the policy data itself needs OPA to reload it.
    const dataChanged = oldData === undefined ||
      policyDataOf(oldData) !== policyDataOf(opts.policyData);
    if (oldData !== opts.policyData) {
      await atomicWrite(dataPath, opts.policyData);
      if (oldData !== undefined) {
        undo.push({
          label: "policy data",
          run: () => atomicWrite(dataPath, oldData),
        });
      }
    }

    // --- OPA: fixed host port, so replaced in place ---------------------------------
    const opaPlan = plan.containers.find((c) => c.role === "opa")!;
    const opaImage = await imageId(engine, opaPlan.body.Image);
    const opaCurrent = byRole("opa").find((c) =>
      matches(c, opaPlan, opaImage) && nameOf(c) === opaPlan.name
    );
    if (opaCurrent) {
      kept.push(opaPlan.name);
      if (dataChanged) {
        opts.log(`restarting ${opaPlan.name}: policy data changed`);
        await engine.containerRestart(opaCurrent.Id, 5);
        await waitHealthy(engine, opaCurrent.Id, opaPlan.name, opts.timeoutMs, opts.progress);
      }
    } else {
      for (const c of byRole("opa")) {
        await stopAndRemove(engine, c, 5);
        removed.push(nameOf(c));
      }
      const id = await engine.containerCreate(opaPlan.name, opaPlan.body);
      created.push(opaPlan.name);
      undo.push({ label: opaPlan.name, run: () => engine.containerRemove(id, { force: true }) });
      await engine.containerStart(id);
      opts.log(`started ${opaPlan.name}`);
      await waitHealthy(engine, id, opaPlan.name, opts.timeoutMs, opts.progress);
    }

    // --- app: the new one starts beside the old one, out of nginx's sight ------------
    const appPlan = plan.containers.find((c) => c.role === "app")!;
    const appImage = await imageId(engine, appPlan.body.Image);
    let appId: string;
    let appName = appPlan.name;
    const oldApps: ContainerSummary[] = [];
    const sameName = byRole("app").find((c) => nameOf(c) === appPlan.name);
    if (sameName && matches(sameName, appPlan, appImage)) {
      appId = sameName.Id;
      kept.push(appPlan.name);
      await waitHealthy(engine, appId, appPlan.name, opts.timeoutMs, opts.progress);
      // A run killed while it warmed up left it off the project network.
      if (await joinProjectNetwork(engine, plan, appPlan, appId)) {
        opts.log(`${appPlan.name} joined ${plan.network.name} (left off it by an interrupted run)`);
      }
    } else {
      if (sameName && sameName.State !== "running") {
        await engine.containerRemove(sameName.Id, { force: true });
        removed.push(appPlan.name);
      }
      // The running one keeps its name until it is drained; the new one waits under another.
      if (sameName?.State === "running") appName = `${appPlan.name}-next-${Date.now()}`;
      appId = await startStaged(engine, plan, appPlan, appName, undo, opts);
      created.push(appPlan.name);
    }
    for (const c of byRole("app")) if (c.Id !== appId) oldApps.push(c);

    // --- nginx: switch traffic with a graceful reload --------------------------------
    const nginxPlan = plan.containers.find((c) => c.role === "nginx")!;
    const nginxImage = await imageId(engine, nginxPlan.body.Image);
    const confPath = join(plan.hostDirs.nginxConfigDir, "nginx.conf");
    const oldConf = await readIfExists(confPath);
    // Comment lines (the header with the manifest's hash) do not need a reload.
    const confChanged = oldConf === undefined || nginxBody(oldConf) !== nginxBody(opts.nginxConf);
    const nginxCurrent = byRole("nginx").find((c) =>
      matches(c, nginxPlan, nginxImage) && nameOf(c) === nginxPlan.name
    );
    if (oldConf !== opts.nginxConf) await atomicWrite(confPath, opts.nginxConf);
    if (confChanged) {
      if (oldConf !== undefined) {
        undo.push({
          label: "nginx.conf",
          run: async () => {
            await atomicWrite(confPath, oldConf);
            if (nginxCurrent) await engine.containerKill(nginxCurrent.Id, "HUP").catch(() => {});
          },
        });
      }
    }
    if (nginxCurrent) {
      kept.push(nginxPlan.name);
      if (confChanged) {
        await engine.containerKill(nginxCurrent.Id, "HUP");
        reloaded = true;
        opts.log(`reloaded ${nginxPlan.name} gracefully (new configuration)`);
      }
    } else {
      for (const c of byRole("nginx")) {
        await stopAndRemove(engine, c, 5);
        removed.push(nameOf(c));
      }
      const id = await engine.containerCreate(nginxPlan.name, nginxPlan.body);
      created.push(nginxPlan.name);
      undo.push({ label: nginxPlan.name, run: () => engine.containerRemove(id, { force: true }) });
      await engine.containerStart(id);
      opts.log(`started ${nginxPlan.name} on port ${opts.nginxPort}`);
      await waitHealthy(engine, id, nginxPlan.name, opts.timeoutMs, opts.progress);
    }

    const currentNginxId = async () =>
      (await engine.containerList(
        [`${LABEL_PROJECT}=${plan.project}`, `${LABEL_ROLE}=nginx`],
        false,
      ))[0]?.Id;
    // Same name, new container: nginx's pool still holds the running app's address
    // until it is drained and nginx reloads, so only then can the instance be checked.
    const swapSameName = appName !== appPlan.name;
    const confirmMs = Math.min(opts.timeoutMs, 20_000);
    const instance = appId.slice(0, 12);
    let health = await confirmThroughNginx(
      opts.nginxPort,
      swapSameName ? opts.expect : { ...opts.expect, instance },
      confirmMs,
    );

    // --- drain and stop what is no longer served ------------------------------------
    undo.length = 0; // past the point of no return: the new stack serves
    if (oldApps.length > 0) {
      // Let the old nginx workers finish their in-flight requests to the old app.
      if (reloaded) await sleep(1000);
      for (const c of oldApps) {
        opts.log(`draining and stopping ${nameOf(c)}`);
        await stopAndRemove(engine, c, 15);
        removed.push(nameOf(c));
      }
      const nginxId = await currentNginxId();
      if (swapSameName) {
        // The old address is gone: a graceful reload looks the name up again.
        if (nginxId) await engine.containerKill(nginxId, "HUP");
        await engine.containerRename(appId, appPlan.name);
        reloaded = true;
        health = await confirmThroughNginx(opts.nginxPort, { ...opts.expect, instance }, confirmMs);
      }
    }
    const changed = created.length > 0 || removed.length > 0 || reloaded || dataChanged ||
      confChanged;
    return { changed, created, removed, kept, reloaded, health };
  } catch (error) {
    for (const step of undo.reverse()) {
      await step.run().catch((e) =>
        opts.log(`undo of ${step.label} failed: ${(e as Error).message}`)
      );
    }
    throw error;
  }
}

/**
 * Creates and starts an app container on the default bridge only, so that
 * nothing routes to it while it warms up; once healthy it joins the project
 * network under the plan's alias and leaves the bridge. Returns its id.
 */
async function startStaged(
  engine: EngineClient,
  plan: StackPlan,
  appPlan: ContainerPlan,
  name: string,
  undo: Undo[],
  opts: ApplyOptions,
): Promise<string> {
  const { NetworkingConfig: networking, ...body } = appPlan.body;
  const staged = { ...body, HostConfig: { ...body.HostConfig, NetworkMode: "bridge" } };
  const id = await engine.containerCreate(name, staged);
  undo.push({ label: name, run: () => engine.containerRemove(id, { force: true }) });
  await engine.containerStart(id);
  opts.log(`started ${name}; warming up off the network until healthy`);
  await waitHealthy(engine, id, name, opts.timeoutMs, opts.progress);
  await joinProjectNetwork(engine, plan, appPlan, id);
  const alias = networking?.EndpointsConfig?.[plan.network.name]?.Aliases?.[0] ?? name;
  opts.log(`${name} joined ${plan.network.name} as "${alias}"`);
  return id;
}

/** Puts an app container on the project network (with the plan's alias) and off the bridge; false if it already was. */
async function joinProjectNetwork(
  engine: EngineClient,
  plan: StackPlan,
  appPlan: ContainerPlan,
  id: string,
): Promise<boolean> {
  const networks = (await engine.containerInspect(id))?.NetworkSettings.Networks ?? {};
  if (plan.network.name in networks && !("bridge" in networks)) return false;
  if (!(plan.network.name in networks)) {
    const endpoint: { Aliases?: string[] } =
      appPlan.body.NetworkingConfig?.EndpointsConfig?.[plan.network.name] ?? {};
    await engine.networkConnect(plan.network.name, id, endpoint);
  }
  if ("bridge" in networks) await engine.networkDisconnect("bridge", id);
  return true;
}

/** Everything this project owns on the engine, found by label. */
export async function removeStack(
  engine: EngineClient,
  project: string,
  log: (line: string) => void,
): Promise<string[]> {
  const removed: string[] = [];
  const label = [`${LABEL_PROJECT}=${project}`];
  const containers = await engine.containerList(label);
  // nginx first so no request reaches an app that is going away.
  const order = ["nginx", "app", "opa"];
  containers.sort((a, b) =>
    order.indexOf(a.Labels[LABEL_ROLE] ?? "") - order.indexOf(b.Labels[LABEL_ROLE] ?? "")
  );
  for (const c of containers) {
    log(`removing container ${nameOf(c)}`);
    await stopAndRemove(engine, c, 10);
    removed.push(nameOf(c));
  }
  for (const n of await engine.networkList(label)) {
    log(`removing network ${n.Name}`);
    await engine.networkRemove(n.Id);
    removed.push(`network ${n.Name}`);
  }
  for (const v of await engine.volumeList(label)) {
    log(`removing volume ${v.Name}`);
    await engine.volumeRemove(v.Name);
    removed.push(`volume ${v.Name}`);
  }
  return removed;
}
