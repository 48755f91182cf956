/**
 * The shell around cli/actions: observe what the engine holds for a project
 * (read only), and perform one action against the engine and the host
 * folders. Deciding is cli/actions' `diffStack`; running steps with their
 * undos is its `execute`. Also: removing a stack (teardown).
 */
import { dirname } from "node:path";
import {
  type Action,
  appScrapeTargets,
  changesSomething,
  describeAction,
  type DesiredStack,
  diffStack,
  execute,
  ExecutionFailure,
  nginxConfPath,
  type ObservedState,
  policyDataPath,
  type RouteTable,
  type Step,
} from "../actions/mod.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { type ContainerInspect, type EngineClient } from "../engine/mod.ts";
import {
  appTargetsJson,
  LABEL_CONFIG_HASH,
  LABEL_PROJECT,
  LABEL_ROLE,
  type StackPlan,
} from "../plan/mod.ts";
import { atomicWrite, ensureDir, readIfExists } from "../fs/mod.ts";
import { applyRoutes, readRoutes } from "../routing/mod.ts";

export interface ApplyOptions {
  /** Per-container health wait, ms. */
  timeoutMs: number;
  /** nginx's published port on the host, for the confirmation through it. */
  nginxPort: number;
  log: (line: string) => void;
  progress: (line: string) => void;
}

/** What performing one action needs: the apply options and the plan being applied. */
export interface PerformOptions extends ApplyOptions {
  /** Where the routes file and nginx's admin socket are. */
  plan: StackPlan;
}

export interface ApplyResult {
  /** False when the steps only kept, waited and confirmed. */
  changed: boolean;
  steps: Step[];
  /**
   * Set when a step after the commit failed (draining or removing an old
   * container, a rename): the new stack serves; the next deploy tidies up.
   */
  cleanupError?: string;
}

/**
 * Everything the diff needs, read from the engine and the host folders:
 * the project's containers (any state, with health and addresses), the
 * network and volume under the plan's names, the plan's image ids, the
 * files its containers read, and the subnets of all other networks.
 */
export async function observeStack(engine: EngineClient, plan: StackPlan): Promise<ObservedState> {
  const summaries = await engine.containerList([`${LABEL_PROJECT}=${plan.project}`]);
  const containers = [];
  for (const c of summaries) {
    const i = await engine.containerInspect(c.Id);
    if (!i) continue;
    containers.push({
      id: c.Id,
      name: i.Name.replace(/^\//, ""),
      role: c.Labels[LABEL_ROLE] ?? "",
      state: i.State.Paused ? "paused" : i.State.Status,
      health: i.State.Health?.Status ?? "none",
      configHash: c.Labels[LABEL_CONFIG_HASH],
      imageId: c.ImageID,
      networks: Object.fromEntries(
        Object.entries(i.NetworkSettings.Networks ?? {}).map(([n, e]) => [n, e.IPAddress]),
      ),
    });
  }
  const net = await engine.networkInspect(plan.network.name);
  const vol = await engine.volumeInspect(plan.volume.name);
  const subnetOf = (n: { IPAM?: { Config?: { Subnet?: string }[] | null } }) =>
    (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => !!s);
  const others = (await engine.networkList([])).filter((n) => n.Name !== plan.network.name);
  const imageIds: Record<string, string | undefined> = {};
  for (const c of plan.containers) {
    imageIds[c.body.Image] = (await engine.imageInspect(c.body.Image))?.Id;
  }
  const files: Record<string, string | undefined> = {};
  const prometheus = plan.prometheus
    ? [
      plan.prometheus.config.path,
      plan.prometheus.nginxTargets.path,
      plan.prometheus.appTargetsPath,
    ]
    : [];
  for (const path of [nginxConfPath(plan), policyDataPath(plan), ...prometheus]) {
    files[path] = await readIfExists(path);
  }
  const routes = await readRoutes(plan);
  const subnet = net ? subnetOf(net)[0] : undefined;
  const ipRange = (net?.IPAM?.Config ?? []).find((c) => c.Subnet === subnet)?.IPRange;
  return {
    network: net
      ? {
        name: net.Name,
        project: net.Labels?.[LABEL_PROJECT],
        ...(subnet ? { subnet } : {}),
        ...(ipRange ? { ipRange } : {}),
      }
      : undefined,
    volume: vol ? { name: vol.Name, project: vol.Labels?.[LABEL_PROJECT] } : undefined,
    containers,
    imageIds,
    files,
    routes,
    takenSubnets: others.flatMap(subnetOf),
  };
}

/**
 * Observes, diffs and executes: makes the engine run `desired`. On a
 * failure the completed steps are undone in reverse and the original error
 * is thrown (a SwiftDeployError as raised, anything else as DEPLOY_FAILED).
 */
export async function applyStack(
  engine: EngineClient,
  desired: DesiredStack,
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const steps = diffStack(desired, await observeStack(engine, desired.plan));
  try {
    await execute(steps, {
      perform: (a) => perform(engine, a, { ...opts, plan: desired.plan }),
      log: (line) => opts.log(line),
    });
  } catch (error) {
    if (error instanceof ExecutionFailure && error.committed) {
      // Past the commit the switch stands: a failed tidy-up is not a failed change.
      const cleanupError = `${describeAction(error.failed)}: ${error.message}`;
      return { changed: true, steps, cleanupError };
    }
    const cause = error instanceof ExecutionFailure ? error.cause : error;
    if (cause instanceof SwiftDeployError) throw cause;
    throw new SwiftDeployError("DEPLOY_FAILED", `Cannot deploy: ${(cause as Error).message}`, {
      cause,
    });
  }
  return { changed: changesSomething(steps), steps };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Writes a file into Prometheus's folder (`hostDirs.prometheusConfigDir`):
 * the folder is created 0755 when missing, the file replaced atomically
 * (a temp file renamed in the same folder, so Prometheus's file_sd watch
 * never reads half a list) with mode 0644, readable by its uid 10004.
 */
async function writePrometheusFile(path: string, content: string): Promise<void> {
  await ensureDir(dirname(path), 0o755);
  await atomicWrite(path, content, { mode: 0o644 });
}

/**
 * Puts a routing table into effect at nginx (`applyRoutes`) and, when the
 * plan has Prometheus, makes its apps.json list the table's variants (only
 * rewritten when they changed; Prometheus picks the rename up without a
 * reload). Every route change goes through here: the diff's `route` action
 * and the rollout's transitions alike.
 *
 * `ms` is applyRoutes' decision-to-effect time at nginx (the list is
 * written after it). Throws as `applyRoutes` does, or the file system's error.
 */
export async function routeTable(plan: StackPlan, table: RouteTable): Promise<{ ms: number }> {
  const { ms } = await applyRoutes(plan, table);
  if (plan.prometheus) {
    const path = plan.prometheus.appTargetsPath;
    const content = appTargetsJson(appScrapeTargets(table));
    if ((await readIfExists(path)) !== content) await writePrometheusFile(path, content);
  }
  return { ms };
}

/** Stops a container, unpausing it first (a frozen one cannot take SIGTERM). */
async function stopContainer(engine: EngineClient, name: string, seconds: number): Promise<void> {
  const c = await engine.containerInspect(name);
  if (!c) return;
  if (c.State.Paused) await engine.containerUnpause(name);
  await engine.containerStop(name, seconds);
}

/** Does what one action says, against the engine and the host folders. */
export async function perform(
  engine: EngineClient,
  a: Action,
  opts: PerformOptions,
): Promise<void> {
  switch (a.kind) {
    case "create-network":
      await engine.networkCreate(a.body);
      return;
    case "remove-network":
      await engine.networkRemove(a.name);
      return;
    case "create-volume":
      await engine.volumeCreate(a.body);
      return;
    case "remove-volume":
      await engine.volumeRemove(a.name);
      return;
    case "write-file":
      if (a.content === undefined) await Deno.remove(a.path).catch(() => {});
      else if (opts.plan.hostDirs.prometheusConfigDir === dirname(a.path)) {
        await writePrometheusFile(a.path, a.content);
      } else await atomicWrite(a.path, a.content);
      if (a.notify && (await engine.containerInspect(a.notify.container))?.State.Running) {
        if (a.notify.how === "hup") await engine.containerKill(a.notify.container, "HUP");
        else await engine.containerRestart(a.notify.container, 5);
      }
      return;
    case "keep":
    case "commit":
      return;
    case "create":
      await engine.containerCreate(a.container, a.body);
      return;
    case "start":
      await engine.containerStart(a.container);
      return;
    case "stop":
      await stopContainer(engine, a.container, 5);
      return;
    case "rename":
      await engine.containerRename(a.container, a.to);
      return;
    case "wait-healthy":
      await waitHealthy(engine, a.container, a.container, opts.timeoutMs, opts.progress);
      return;
    case "join-network":
      await joinNetwork(engine, a);
      return;
    case "reload":
      await engine.containerKill(a.container, "HUP");
      return;
    case "route": {
      const { ms } = await routeTable(opts.plan, a.table);
      opts.progress(`routes in effect after ${ms.toFixed(1)} ms`);
      return;
    }
    case "restart":
      await engine.containerRestart(a.container, 5);
      await waitHealthy(engine, a.container, a.container, opts.timeoutMs, opts.progress);
      return;
    case "confirm": {
      const app = await engine.containerInspect(a.instanceOf);
      if (!app) {
        throw new SwiftDeployError("DEPLOY_FAILED", `Container "${a.instanceOf}" disappeared`);
      }
      await confirmThroughNginx(
        opts.nginxPort,
        { mode: a.mode, version: a.version, instance: app.Id.slice(0, 12) },
        Math.min(opts.timeoutMs, 20_000),
        a.pin,
      );
      return;
    }
    case "settle":
      await sleep(a.ms);
      return;
    case "drain":
      await stopContainer(engine, a.container, a.graceSeconds).catch(() => {});
      await engine.containerRemove(a.container, { force: true });
      return;
    case "remove":
      await engine.containerRemove(a.container, { force: true });
      return;
  }
}

/**
 * Puts a container on the project network with its alias and static
 * address, and takes it off the default bridge. A container on the network
 * at another address is disconnected first.
 */
async function joinNetwork(
  engine: EngineClient,
  a: Extract<Action, { kind: "join-network" }>,
): Promise<void> {
  const c: ContainerInspect | undefined = await engine.containerInspect(a.container);
  const networks = c?.NetworkSettings.Networks ?? {};
  const on = networks[a.network];
  if (on && a.address !== undefined && on.IPAddress !== a.address) {
    await engine.networkDisconnect(a.network, a.container);
  }
  if (!on || (a.address !== undefined && on.IPAddress !== a.address)) {
    await engine.networkConnect(a.network, a.container, {
      Aliases: [a.alias],
      ...(a.address ? { IPAMConfig: { IPv4Address: a.address } } : {}),
    });
  }
  if ("bridge" in networks) await engine.networkDisconnect("bridge", a.container);
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
export async function confirmThroughNginx(
  port: number,
  expect: { mode: string; version: string; instance?: string },
  timeoutMs: number,
  pin?: { header: string; value: string },
): Promise<Record<string, unknown>> {
  const start = Date.now();
  let lastProblem = "no answer";
  while (Date.now() - start < timeoutMs) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, {
        signal: AbortSignal.timeout(3000),
        ...(pin ? { headers: { [pin.header]: pin.value } } : {}),
      });
      const text = await res.text();
      if (res.status === 200) {
        const body = JSON.parse(text) as Record<string, unknown>;
        // An answer without the instance id cannot prove the new container served it.
        const instanceOk = !expect.instance || body.instance === expect.instance;
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

const nameOf = (c: { Names: string[] }) => (c.Names[0] ?? "").replace(/^\//, "");

async function stopAndRemove(engine: EngineClient, c: { Id: string }, seconds: number) {
  await stopContainer(engine, c.Id, seconds).catch(() => {});
  await engine.containerRemove(c.Id, { force: true });
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
  // nginx first so no request reaches an app that is going away (Prometheus before it).
  const order = ["prometheus", "nginx", "app", "opa"];
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
