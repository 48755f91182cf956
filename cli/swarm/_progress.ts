/**
 * Where a service's tasks stand, per node, as data and text: the deploy's
 * progress lines and `status`'s table. Pure.
 */
import { LABEL_CONFIG_HASH, LABEL_ROLE } from "../plan/mod.ts";
import type { Service, SwarmNode, Task } from "./_api.ts";
import type { ServicePlan } from "./_plan.ts";

export interface NodeCount {
  node: string;
  /** Tasks of the planned spec Swarm wants running on this node. */
  wanted: number;
  /** Of those, running (healthy: Swarm reports a task with a healthcheck running only once healthy). */
  running: number;
}

export interface ServiceProgress {
  role: ServicePlan["role"];
  name: string;
  replicas: number;
  /** Tasks of the planned spec that run. */
  running: number;
  /** Tasks of another spec still wanted running (the old ones of a rolling update). */
  old: number;
  perNode: NodeCount[];
  /** The latest error of a task of the planned spec, if any (a failing start). */
  lastError: string | undefined;
  done: boolean;
  /** "app 2/3 running, 1 old [sd-node1: 1/1 running, sd-node2: 1/1 running, sd-node3: 0/1 running]" */
  line: string;
}

function nodeName(names: ReadonlyMap<string, string>, id: string | undefined): string {
  if (!id) return "(unassigned)";
  return names.get(id) ?? id.slice(0, 12);
}

/**
 * The progress of one planned service from its tasks. Done when all
 * `replicas` tasks of the planned spec (its config-hash label) run, no task
 * of another spec is still wanted running, and Swarm's update state (when
 * there is one) is "completed".
 */
export function serviceProgress(
  plan: ServicePlan,
  tasks: readonly Task[],
  names: ReadonlyMap<string, string>,
  updateState = "",
): ServiceProgress {
  const replicas = plan.spec.Mode.Replicated.Replicas;
  const ours = (t: Task) => t.Spec.ContainerSpec?.Labels?.[LABEL_CONFIG_HASH] === plan.configHash;
  const wanted = tasks.filter((t) => t.DesiredState === "running");
  const fresh = wanted.filter(ours);
  const running = fresh.filter((t) => t.Status.State === "running");
  const old = wanted.filter((t) => !ours(t)).length;
  const byNode = new Map<string, NodeCount>();
  for (const t of fresh) {
    const node = nodeName(names, t.NodeID);
    const c = byNode.get(node) ?? { node, wanted: 0, running: 0 };
    c.wanted++;
    if (t.Status.State === "running") c.running++;
    byNode.set(node, c);
  }
  const perNode = [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node));
  const failed = tasks.filter((t) => ours(t) && (t.Status.Err ?? "") !== "")
    .sort((a, b) => b.Status.Timestamp.localeCompare(a.Status.Timestamp));
  const done = running.length === replicas && old === 0 &&
    (updateState === "" || updateState === "completed");
  const nodesText = perNode.map((c) => `${c.node}: ${c.running}/${c.wanted} running`).join(", ");
  return {
    role: plan.role,
    name: plan.name,
    replicas,
    running: running.length,
    old,
    perNode,
    lastError: failed[0]?.Status.Err,
    done,
    line: `${plan.role} ${running.length}/${replicas} running${old ? `, ${old} old` : ""}${
      nodesText ? ` [${nodesText}]` : ""
    }`,
  };
}

/** One row of `status` on a swarm: a task of the project. */
export interface TaskRow {
  service: string;
  role: string;
  node: string;
  slot: number | undefined;
  state: string;
  desired: string;
  /** The image as the task runs it (by digest when it was given so). */
  image: string;
  error: string | undefined;
  since: string;
}

/** `status`'s view of the project on a swarm: services, then their live tasks by node. */
export interface SwarmStatus {
  services: {
    name: string;
    role: string;
    replicas: number;
    running: number;
    update: string | undefined;
    updateMessage: string | undefined;
  }[];
  /** Tasks wanted running, and the failed ones of the last minute, by node then service. */
  tasks: TaskRow[];
  nodes: { name: string; role: string; availability: string; state: string; address: string }[];
}

/**
 * The status of the project's services from what the manager reports.
 * Tasks shown: those Swarm wants running, and any that failed in the last
 * `recentMs` before `now` (so a crash loop is visible).
 */
export function swarmStatus(
  services: readonly Service[],
  tasks: readonly Task[],
  nodes: readonly SwarmNode[],
  now: Date,
  recentMs = 60_000,
): SwarmStatus {
  const names = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
  const byId = new Map(services.map((s) => [s.ID, s]));
  const rows: TaskRow[] = [];
  for (const t of tasks) {
    const s = byId.get(t.ServiceID);
    if (!s) continue;
    const recent = now.getTime() - Date.parse(t.Status.Timestamp) <= recentMs;
    if (t.DesiredState !== "running" && !(recent && t.Status.Err)) continue;
    rows.push({
      service: s.Spec.Name,
      role: s.Spec.Labels?.[LABEL_ROLE] ?? "",
      node: nodeName(names, t.NodeID),
      slot: t.Slot,
      state: t.Status.State,
      desired: t.DesiredState,
      image: t.Spec.ContainerSpec?.Image ?? "",
      error: t.Status.Err || undefined,
      since: t.Status.Timestamp,
    });
  }
  rows.sort((a, b) =>
    a.node.localeCompare(b.node) || a.service.localeCompare(b.service) ||
    (a.slot ?? 0) - (b.slot ?? 0)
  );
  return {
    services: services.map((s) => ({
      name: s.Spec.Name,
      role: s.Spec.Labels?.[LABEL_ROLE] ?? "",
      replicas: s.Spec.Mode.Replicated.Replicas,
      running:
        tasks.filter((t) =>
          t.ServiceID === s.ID && t.DesiredState === "running" && t.Status.State === "running"
        ).length,
      update: s.UpdateStatus?.State,
      updateMessage: s.UpdateStatus?.Message,
    })).sort((a, b) => a.name.localeCompare(b.name)),
    tasks: rows,
    nodes: nodes.map((n) => ({
      name: n.Description.Hostname,
      role: n.Spec.Role,
      availability: n.Spec.Availability,
      state: n.Status.State,
      address: n.Status.Addr ?? "",
    })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** `status` as text: services with running/replicas and update state, then tasks per node. */
export function formatSwarmStatus(status: SwarmStatus): string {
  const out: string[] = [];
  out.push("services");
  for (const s of status.services) {
    const update = s.update
      ? `  update ${s.update}${s.updateMessage ? `: ${s.updateMessage}` : ""}`
      : "";
    out.push(`  ${s.name.padEnd(28)} ${s.running}/${s.replicas} running${update}`);
  }
  for (const n of status.nodes) {
    const tasks = status.tasks.filter((t) => t.node === n.name);
    out.push(
      `${n.name} (${n.role}, ${n.availability}, ${n.state}${n.address ? `, ${n.address}` : ""}): ${
        tasks.filter((t) => t.state === "running").length
      } running`,
    );
    for (const t of tasks) {
      out.push(
        `  ${`${t.service}${t.slot ? `.${t.slot}` : ""}`.padEnd(28)} ${t.state.padEnd(9)}${
          t.error ? ` ${t.error}` : ""
        }`,
      );
    }
  }
  return out.join("\n") + "\n";
}
