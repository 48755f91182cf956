/**
 * The swarm driver: converge a planned swarm stack, wait for it, take it
 * down, and read what runs where. Shell (Engine API calls only, no `docker`
 * CLI).
 */
import { type EngineClient, EngineConflictError } from "../engine/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { LABEL_CONFIG_HASH, LABEL_PROJECT, NGINX_ADMIN_SOCKET } from "../plan/mod.ts";
import { unixHttpClient } from "../net/mod.ts";
import { basename, join } from "node:path";
import {
  configCreate,
  configList,
  configRemove,
  networkList,
  nodes,
  secretList,
  secretRemove,
  type Service,
  serviceCreate,
  serviceInspect,
  serviceList,
  serviceRemove,
  type ServiceSpec,
  serviceUpdate,
  swarmInfo,
  type SwarmNode,
  type Task,
  taskList,
} from "./_api.ts";
import type { ServicePlan, SwarmPlan } from "./_plan.ts";
import { halted, type SwarmObserved } from "./_diff.ts";
import { LABEL_TARGET } from "./_plan.ts";
import { type ServiceProgress, serviceProgress } from "./_progress.ts";
import { comparePeers, parsePeers, runningTaskAddresses } from "./_peers.ts";

/** The engine is not a manager of an active swarm: nothing can be deployed there. */
export function notAManager(endpoint: string, state: string): SwiftDeployError {
  return new SwiftDeployError(
    "SWARM_UNAVAILABLE",
    `Cannot deploy to a swarm through "${endpoint}": that engine is not a swarm manager (swarm state "${state}")`,
    {
      exitCode: ExitCode.failure,
      hint:
        "set DOCKER_HOST to a manager of the swarm (`swiftdeploy lab up` prints one), or use target engine",
    },
  );
}

/** The manager's node id, after checking the engine is an active swarm manager. */
export async function managerNodeId(engine: EngineClient): Promise<string> {
  const info = await swarmInfo(engine);
  if (info.LocalNodeState !== "active" || !info.ControlAvailable || !info.NodeID) {
    throw notAManager(engine.endpoint.label, info.LocalNodeState);
  }
  return info.NodeID;
}

/** What a convergence did to one service. */
export interface ServiceChange {
  role: ServicePlan["role"];
  name: string;
  action: "created" | "updated" | "kept";
}

/**
 * Makes the swarm hold the plan: the overlay network (refused when another
 * project owns one of that name), every config that is missing (configs
 * never change: a new content is a new name), then each service created or
 * updated when its config hash differs. Nothing is removed here (see
 * `removeStaleConfigs`, after the new spec converged).
 *
 * @throws SwiftDeployError SWARM_CONFLICT when the network or a service
 *   name belongs to another project
 */
export async function applySwarm(
  engine: EngineClient,
  plan: SwarmPlan,
  log: (line: string) => void,
): Promise<ServiceChange[]> {
  const networks = await engine.networkInspect(plan.network.name);
  if (networks === undefined) {
    await engine.networkCreate(plan.network.body as never);
    log(`network "${plan.network.name}" created (overlay)`);
  } else if (networks.Labels?.[LABEL_PROJECT] !== plan.project) {
    throw swarmConflict(`network "${plan.network.name}"`, networks.Labels?.[LABEL_PROJECT]);
  }

  const ids = new Map<string, string>();
  for (const c of await configList(engine, [`${LABEL_PROJECT}=${plan.project}`])) {
    ids.set(c.Spec.Name, c.ID);
  }
  for (const c of plan.configs) {
    if (ids.has(c.name)) continue;
    try {
      ids.set(c.name, await configCreate(engine, c.name, c.data, c.labels));
      log(`config "${c.name}" created`);
    } catch (error) {
      if (!(error instanceof EngineConflictError)) throw error;
      throw swarmConflict(`config "${c.name}"`, undefined);
    }
  }

  const changes: ServiceChange[] = [];
  for (const s of plan.services) {
    const spec = withConfigIds(s.spec, ids);
    const current = await serviceInspect(engine, s.name);
    if (current === undefined) {
      await serviceCreate(engine, spec);
      changes.push({ role: s.role, name: s.name, action: "created" });
      log(`service "${s.name}" created`);
      continue;
    }
    if (current.Spec.Labels?.[LABEL_PROJECT] !== plan.project) {
      throw swarmConflict(`service "${s.name}"`, current.Spec.Labels?.[LABEL_PROJECT]);
    }
    if (current.Spec.Labels?.[LABEL_CONFIG_HASH] === s.configHash && !halted(current)) {
      changes.push({ role: s.role, name: s.name, action: "kept" });
      continue;
    }
    await serviceUpdate(engine, current, spec);
    changes.push({ role: s.role, name: s.name, action: "updated" });
    log(`service "${s.name}" updated (${describeUpdate(spec)})`);
  }
  return changes;
}

function describeUpdate(spec: ServiceSpec): string {
  const u = spec.UpdateConfig;
  return u ? `${u.Order}, ${u.Parallelism} at a time, on failure ${u.FailureAction}` : "default";
}

function withConfigIds(spec: ServiceSpec, ids: Map<string, string>): ServiceSpec {
  const configs = spec.TaskTemplate.ContainerSpec.Configs;
  if (!configs) return spec;
  return {
    ...spec,
    TaskTemplate: {
      ...spec.TaskTemplate,
      ContainerSpec: {
        ...spec.TaskTemplate.ContainerSpec,
        Configs: configs.map((c) => ({ ...c, ConfigID: ids.get(c.ConfigName) ?? "" })),
      },
    },
  };
}

/**
 * What the manager holds of `plan`'s objects, for `diffSwarm` (the dry
 * run): the network of its name and its owner, the project's configs, the
 * planned services that exist. Reads only.
 */
export async function observeForPlan(
  engine: EngineClient,
  plan: SwarmPlan,
): Promise<SwarmObserved> {
  const network = await engine.networkInspect(plan.network.name);
  const configs = (await configList(engine, [`${LABEL_PROJECT}=${plan.project}`]))
    .map((c) => c.Spec.Name);
  const services = new Map<string, Service>();
  for (const s of plan.services) {
    const current = await serviceInspect(engine, s.name);
    if (current) services.set(s.name, current);
  }
  return {
    network: network === undefined ? undefined : { project: network.Labels?.[LABEL_PROJECT] },
    configs,
    services,
  };
}

/**
 * SWARM_CONFLICT (exit 1): `what` (e.g. `network "x-net"`) exists and
 * belongs to another project (`owner`) or to none.
 */
export function swarmConflict(what: string, owner: string | undefined): SwiftDeployError {
  return new SwiftDeployError(
    "SWARM_CONFLICT",
    `Cannot deploy: ${what} already exists and belongs to ${
      owner ? `project "${owner}"` : "no SwiftDeploy project"
    }`,
    {
      exitCode: ExitCode.failure,
      hint: "choose another project or network name in the manifest, or remove that object",
    },
  );
}

/** Swarm rolled an update back on its own (or paused it): the deploy failed. */
export class SwarmRollbackError extends SwiftDeployError {
  readonly service: string;
  readonly state: string;
  constructor(service: string, state: string, message: string) {
    super(
      "SWARM_ROLLED_BACK",
      `Swarm ${
        state.startsWith("rollback") ? "rolled back" : "paused"
      } the update of "${service}" (${state}): ${message || "no message"}`,
      {
        exitCode: ExitCode.failure,
        hint:
          "the previous tasks keep serving; see `swiftdeploy status` and the tasks' errors, fix the image or spec, then deploy again",
      },
    );
    this.service = service;
    this.state = state;
  }
}

/**
 * Waits until every service of the plan runs its planned spec: all
 * `replicas` tasks of that spec running (Swarm reports a task with a
 * healthcheck as running only once healthy) and no task of another spec
 * left running, with its update (when there was one) completed. `progress`
 * gets one line per poll ("app 2/3 running [sd-node1: 1/1 running, …]; nginx …").
 *
 * @throws SwarmRollbackError when Swarm rolls an update back or pauses it
 * @throws SwiftDeployError SWARM_TIMEOUT after `timeoutMs`
 */
export async function waitConverged(
  engine: EngineClient,
  plan: SwarmPlan,
  opts: { timeoutMs: number; progress: (line: string) => void; pollMs?: number },
): Promise<ServiceProgress[]> {
  const deadline = Date.now() + opts.timeoutMs;
  const pollMs = opts.pollMs ?? 500;
  for (;;) {
    const names = await nodeNames(engine);
    const all: ServiceProgress[] = [];
    for (const s of plan.services) {
      const service = await serviceInspect(engine, s.name);
      if (service === undefined) {
        throw new SwiftDeployError(
          "SWARM_FAILED",
          `Service "${s.name}" disappeared while deploying`,
        );
      }
      const state = service.UpdateStatus?.State ?? "";
      const message = service.UpdateStatus?.Message ?? "";
      // After a rollback the service's spec is the previous one again.
      const ours = service.Spec.Labels?.[LABEL_CONFIG_HASH] === s.configHash;
      if (
        (state === "paused" && ours) ||
        (state.startsWith("rollback_") && state !== "rollback_started" && !ours)
      ) {
        throw new SwarmRollbackError(s.name, state, message);
      }
      const tasks = await taskList(engine, { service: [s.name] });
      const p = serviceProgress(s, tasks, names, state);
      if (state === "rollback_started") {
        all.push({
          ...p,
          done: false,
          line: `${s.role} being rolled back by Swarm (${message})`,
        });
      } else {
        all.push(p);
      }
    }
    opts.progress(all.map((p) => p.line).join("; "));
    if (all.every((p) => p.done)) return all;
    if (Date.now() > deadline) {
      throw new SwiftDeployError(
        "SWARM_TIMEOUT",
        `The swarm did not converge within ${Math.round(opts.timeoutMs / 1000)} s: ${
          all.filter((p) => !p.done).map((p) => p.line).join("; ")
        }`,
        {
          exitCode: ExitCode.failure,
          hint: "see `swiftdeploy status` for the tasks and their errors",
        },
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Longest wait, after Swarm converged, for every nginx worker to list the app's tasks, ms. */
export const PEERS_WAIT_MS = 10_000;

/** The outcome of `waitPeersListed`. */
export interface PeersWait {
  /** Every nginx worker listed exactly the app's running tasks before the deadline. */
  listed: boolean;
  /** From the call to the last check, ms. */
  waitedMs: number;
  /** The last comparison (`comparePeers`'s line), or why `/peers` could not be read. */
  line: string;
}

/**
 * Waits, after `waitConverged`, until every nginx worker's list of the
 * app's task addresses (`/peers` on nginx's admin socket in
 * `plan.nginxAdminDir`) equals the addresses of the app's running tasks on
 * the project's overlay network (`comparePeers`): Swarm reports a task
 * running before Docker's DNS and nginx's once-a-second query have it.
 * Bounded by `timeoutMs` ({@link PEERS_WAIT_MS}); never throws for a
 * lagging or unreadable nginx (the deploy itself succeeded): the caller
 * warns when `listed` is false. `progress` gets the comparison's line on
 * each poll.
 */
export async function waitPeersListed(
  engine: EngineClient,
  plan: SwarmPlan,
  opts: { timeoutMs?: number; progress: (line: string) => void; pollMs?: number },
): Promise<PeersWait> {
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? PEERS_WAIT_MS);
  const pollMs = opts.pollMs ?? 200;
  const app = plan.services.find((s) => s.role === "app")!.name;
  const client = unixHttpClient(join(plan.nginxAdminDir, basename(NGINX_ADMIN_SOCKET)));
  for (;;) {
    let line: string;
    let done = false;
    try {
      const expected = runningTaskAddresses(
        await taskList(engine, { service: [app] }),
        plan.network.name,
      );
      const res = await fetch("http://nginx-admin/peers", {
        client,
        signal: AbortSignal.timeout(2000),
      } as RequestInit);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`nginx's /peers answered HTTP ${res.status}`);
      const agreement = comparePeers(parsePeers(text), expected);
      line = agreement.line;
      done = agreement.done;
    } catch (error) {
      line = `cannot read nginx's /peers: ${(error as Error).message}`;
    }
    opts.progress(line);
    if (done || Date.now() >= deadline) {
      return { listed: done, waitedMs: Date.now() - started, line };
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function nodeNames(engine: EngineClient): Promise<Map<string, string>> {
  return new Map((await nodes(engine)).map((n: SwarmNode) => [n.ID, n.Description.Hostname]));
}

/**
 * Removes the project's configs that no service uses any more (a change
 * makes a new config; the old one goes once the new spec converged). A
 * config still held by a shutting-down task is left for the next deploy.
 * Returns the names removed.
 */
export async function removeStaleConfigs(engine: EngineClient, project: string): Promise<string[]> {
  const used = new Set<string>();
  for (const s of await serviceList(engine, [`${LABEL_PROJECT}=${project}`])) {
    for (const spec of [s.Spec, s.PreviousSpec]) {
      for (const c of spec?.TaskTemplate.ContainerSpec.Configs ?? []) used.add(c.ConfigName);
    }
  }
  const removed: string[] = [];
  for (const c of await configList(engine, [`${LABEL_PROJECT}=${project}`])) {
    if (used.has(c.Spec.Name)) continue;
    try {
      await configRemove(engine, c.ID);
      removed.push(c.Spec.Name);
    } catch { /* in use by a task still shutting down: the next deploy removes it */ }
  }
  return removed;
}

/**
 * Removes every service, config, secret and network labelled with the
 * project on this swarm, and nothing else: services first, then (once
 * their tasks are gone, which frees the network and the configs) the rest.
 * Returns what was removed, as "service x", "config y"…
 */
export async function removeSwarmStack(
  engine: EngineClient,
  project: string,
  log: (line: string) => void,
  timeoutMs = 60_000,
): Promise<string[]> {
  const label = [`${LABEL_PROJECT}=${project}`];
  const removed: string[] = [];
  const services = await serviceList(engine, label);
  for (const s of services) {
    await serviceRemove(engine, s.ID);
    removed.push(`service ${s.Spec.Name}`);
    log(`service "${s.Spec.Name}" removed`);
  }
  // The tasks' containers go asynchronously, on every node; the network and
  // configs can only go after them.
  const deadline = Date.now() + timeoutMs;
  const ids = new Set(services.map((s) => s.ID));
  while (services.length > 0 && Date.now() < deadline) {
    const left = (await taskList(engine, {})).filter((t) => ids.has(t.ServiceID));
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const retry = async (what: string, fn: () => Promise<void>) => {
    for (;;) {
      try {
        return await fn();
      } catch (error) {
        if (Date.now() > deadline) {
          throw new SwiftDeployError(
            "SWARM_FAILED",
            `Cannot remove ${what}: ${(error as Error).message}`,
            { exitCode: ExitCode.failure, hint: "run `swiftdeploy teardown` again" },
          );
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  for (const c of await configList(engine, label)) {
    await retry(`config "${c.Spec.Name}"`, () => configRemove(engine, c.ID));
    removed.push(`config ${c.Spec.Name}`);
  }
  for (const s of await secretList(engine, label)) {
    await retry(`secret "${s.Spec.Name}"`, () => secretRemove(engine, s.ID));
    removed.push(`secret ${s.Spec.Name}`);
  }
  for (const n of await networkList(engine, label)) {
    if (n.Labels?.[LABEL_TARGET] !== "swarm" && n.Driver !== "overlay") continue;
    await retry(`network "${n.Name}"`, () => engine.networkRemove(n.Id));
    removed.push(`network ${n.Name}`);
    log(`network "${n.Name}" removed`);
  }
  return removed;
}

/** The project's services and all their tasks, for `status` (read only). */
export async function observeSwarm(
  engine: EngineClient,
  project: string,
): Promise<{ services: Service[]; tasks: Task[]; nodes: SwarmNode[] }> {
  const services = await serviceList(engine, [`${LABEL_PROJECT}=${project}`]);
  const tasks = (await Promise.all(services.map((s) => taskList(engine, { service: [s.ID] }))))
    .flat();
  return { services, tasks, nodes: await nodes(engine) };
}
