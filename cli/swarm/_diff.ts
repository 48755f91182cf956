/**
 * What `deploy` (or `promote`) would change on a swarm, as data: the
 * `--dry-run` of the swarm target. Pure: the plan (`planSwarm`) against what
 * the manager holds (`SwarmObserved`, read by the shell), with the same
 * rules as `applySwarm` and `removeStaleConfigs`, so the dry run names what
 * the real command does.
 */
import { LABEL_CONFIG_HASH, LABEL_PROJECT } from "../plan/mod.ts";
import type { Service, ServiceSpec } from "./_api.ts";
import type { SwarmPlan, SwarmRole } from "./_plan.ts";

/** The project's objects on the swarm, as the manager lists them. */
export interface SwarmObserved {
  /** The overlay network of the plan's name: absent, or its owner's project label (undefined: none). */
  network: { project: string | undefined } | undefined;
  /** Names of the configs labelled with the project. */
  configs: string[];
  /** The planned services that exist, by name (their owner in `Spec.Labels`). */
  services: Map<string, Service>;
}

/** One change the real command would make, in its order. */
export type SwarmAction =
  | { kind: "network"; name: string; action: "create" | "keep" }
  | { kind: "config"; name: string; action: "create" | "keep" | "remove" }
  | {
    kind: "service";
    name: string;
    role: SwarmRole;
    action: "create" | "update" | "keep";
    /** The image the service would run (by digest when `build` pushed it). */
    image: string;
    /** For an update: each changed setting, e.g. `image a@sha256:… → b@sha256:…`. */
    changes: string[];
  };

/** An object of the plan's name that another project (or none) owns: the real command refuses it. */
export interface SwarmConflict {
  what: string;
  owner: string | undefined;
}

/** A service whose last update was paused by a failure: `applySwarm` updates it again. */
export function halted(service: Service): boolean {
  return service.UpdateStatus?.State === "paused" ||
    service.UpdateStatus?.State === "rollback_paused";
}

function envMap(spec: ServiceSpec | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of spec?.TaskTemplate.ContainerSpec.Env ?? []) {
    const i = e.indexOf("=");
    out.set(i < 0 ? e : e.slice(0, i), i < 0 ? "" : e.slice(i + 1));
  }
  return out;
}

function configNames(spec: ServiceSpec | undefined): string[] {
  return (spec?.TaskTemplate.ContainerSpec.Configs ?? []).map((c) => c.ConfigName);
}

/**
 * The settings that differ between a service's current spec and the
 * planned one, named for a person: image, replicas, each environment
 * variable, configs, placement, update order; "other settings" when the
 * spec hash differs elsewhere.
 */
export function specChanges(current: ServiceSpec, next: ServiceSpec): string[] {
  const out: string[] = [];
  const a = current.TaskTemplate.ContainerSpec;
  const b = next.TaskTemplate.ContainerSpec;
  if (a.Image !== b.Image) out.push(`image ${a.Image} → ${b.Image}`);
  const ra = current.Mode.Replicated?.Replicas;
  const rb = next.Mode.Replicated?.Replicas;
  if (ra !== rb) out.push(`replicas ${ra} → ${rb}`);
  const ea = envMap(current);
  const eb = envMap(next);
  for (const k of [...new Set([...ea.keys(), ...eb.keys()])].sort()) {
    if (ea.get(k) === eb.get(k)) continue;
    out.push(
      `env ${k} ${ea.has(k) ? JSON.stringify(ea.get(k)) : "(unset)"} → ${
        eb.has(k) ? JSON.stringify(eb.get(k)) : "(unset)"
      }`,
    );
  }
  const ca = configNames(current);
  const cb = configNames(next);
  const gone = ca.filter((c) => !cb.includes(c));
  const added = cb.filter((c) => !ca.includes(c));
  if (gone.length || added.length) {
    out.push(`configs ${gone.join(", ") || "-"} → ${added.join(", ") || "-"}`);
  }
  const pa = JSON.stringify(current.TaskTemplate.Placement ?? {});
  const pb = JSON.stringify(next.TaskTemplate.Placement ?? {});
  if (pa !== pb) out.push(`placement ${pa} → ${pb}`);
  if (current.UpdateConfig?.Order !== next.UpdateConfig?.Order) {
    out.push(`update order ${current.UpdateConfig?.Order} → ${next.UpdateConfig?.Order}`);
  }
  const caps = (spec: ServiceSpec) => {
    const l = spec.TaskTemplate.Resources?.Limits;
    const d = spec.TaskTemplate.LogDriver;
    return l || d
      ? `memory ${l?.MemoryBytes ?? "-"} B, ${l ? l.NanoCPUs / 1e9 : "-"} CPU, ${
        l?.Pids ?? "-"
      } processes, logs ${
        d ? `${d.Name} ${d.Options["max-size"]} x ${d.Options["max-file"]}` : "-"
      }`
      : "none";
  };
  if (caps(current) !== caps(next)) out.push(`caps ${caps(current)} → ${caps(next)}`);
  if (out.length === 0) out.push("other settings");
  return out;
}

/**
 * The actions `applySwarm` then `removeStaleConfigs` would take for `plan`
 * on a swarm holding `observed`, or the first conflict the real command
 * refuses: the network (create or keep), each planned config (create or
 * keep; configs never change in place), each service (create, update when
 * its config hash differs or its last update was paused, else keep), then
 * the project's configs no service would use any more (neither the new
 * specs nor, for an updated service, the spec Swarm keeps to roll back to).
 */
export function diffSwarm(
  plan: SwarmPlan,
  observed: SwarmObserved,
): { actions: SwarmAction[]; conflict?: SwarmConflict } {
  const actions: SwarmAction[] = [];
  if (observed.network && observed.network.project !== plan.project) {
    return {
      actions,
      conflict: { what: `network "${plan.network.name}"`, owner: observed.network.project },
    };
  }
  actions.push({
    kind: "network",
    name: plan.network.name,
    action: observed.network ? "keep" : "create",
  });
  const existing = new Set(observed.configs);
  for (const c of plan.configs) {
    actions.push({
      kind: "config",
      name: c.name,
      action: existing.has(c.name) ? "keep" : "create",
    });
  }
  const used = new Set(plan.configs.map((c) => c.name));
  for (const s of plan.services) {
    const image = s.spec.TaskTemplate.ContainerSpec.Image;
    const current = observed.services.get(s.name);
    if (!current) {
      actions.push({
        kind: "service",
        name: s.name,
        role: s.role,
        action: "create",
        image,
        changes: [],
      });
      continue;
    }
    const owner = current.Spec.Labels?.[LABEL_PROJECT];
    if (owner !== plan.project) {
      return { actions, conflict: { what: `service "${s.name}"`, owner } };
    }
    if (current.Spec.Labels?.[LABEL_CONFIG_HASH] === s.configHash && !halted(current)) {
      actions.push({
        kind: "service",
        name: s.name,
        role: s.role,
        action: "keep",
        image,
        changes: [],
      });
      for (const c of [...configNames(current.Spec), ...configNames(current.PreviousSpec)]) {
        used.add(c);
      }
      continue;
    }
    const changes = specChanges(current.Spec, s.spec);
    if (halted(current)) changes.push(`its last update was ${current.UpdateStatus?.State}`);
    actions.push({ kind: "service", name: s.name, role: s.role, action: "update", image, changes });
    for (const c of configNames(current.Spec)) used.add(c);
  }
  for (const name of [...existing].sort()) {
    if (!used.has(name)) actions.push({ kind: "config", name, action: "remove" });
  }
  return { actions };
}

/** The dry run's text: one line per action, kept objects summed up in one line. */
export function formatSwarmActions(project: string, actions: SwarmAction[]): string {
  const lines = [`on the swarm, for project "${project}":`];
  const kept: string[] = [];
  for (const a of actions) {
    if (a.action === "keep") {
      kept.push(a.kind === "service" ? `service "${a.name}"` : `${a.kind} "${a.name}"`);
      continue;
    }
    if (a.kind === "network") lines.push(`  create network "${a.name}" (overlay)`);
    else if (a.kind === "config") {
      lines.push(
        a.action === "create"
          ? `  create config "${a.name}"`
          : `  remove config "${a.name}" (once the new specs run: no service uses it)`,
      );
    } else if (a.action === "create") {
      lines.push(`  create service "${a.name}": image ${a.image}`);
    } else {
      lines.push(`  update service "${a.name}" (a rolling update):`);
      for (const c of a.changes) lines.push(`    ${c}`);
    }
  }
  if (kept.length) lines.push(`  unchanged: ${kept.join(", ")}`);
  if (lines.length === 1 || actions.every((a) => a.action === "keep")) {
    lines.push("  nothing to change: the swarm already runs this manifest");
  }
  return lines.join("\n");
}
