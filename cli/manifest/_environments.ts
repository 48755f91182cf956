/**
 * Environments (issue 15): a manifest may declare an ordered list of
 * environments (dev → staging → prod), each its own stack on this host or
 * its own target. An environment declares only what differs (project name,
 * published ports, policy limits, target, soak time, production, freezes);
 * everything else is shared. Pure: the manifest check hands in what it
 * parsed through `EnvironmentReader`.
 *
 * Files: an environment's generated files, state, history, report and lock
 * live in `environments/<name>/` beside the manifest (see
 * `environmentDir`), so two environments never share one.
 */

import { defaultNetworkName, defaultVolumeName } from "./_defaults.ts";
import type { EnvironmentSpec, FreezeSpec, ResolvedManifest, Target } from "./types.ts";

/** Folder (relative to the manifest's) that holds the environments' folders. */
export const ENVIRONMENTS_DIR = "environments";

/** `environments/<name>`: where an environment's files live, relative to the manifest's folder. */
export function environmentDir(name: string): string {
  return `${ENVIRONMENTS_DIR}/${name}`;
}

/** What the manifest check knows about the parsed keys (a view on its private state). */
export interface EnvironmentReader {
  /** The value of a leaf that passed the shape pass, or `fallback`. */
  get<T>(path: string, fallback: T): T;
  /** The leaf was written and passed the shape pass. */
  has(path: string): boolean;
  /** A duration leaf in seconds, or `fallback`. */
  seconds(path: string, fallback: number): number;
  /** Items of a list as written (0 when absent). */
  length(path: string): number;
  /** The list or section was written. */
  written(path: string): boolean;
  /** Neither the key nor a section above it had a shape problem. */
  clean(path: string): boolean;
  /** Offset of the key's value (or of the section/list) in the text. */
  offsetOf(path: string): number;
  report(offset: number, path: string, message: string): void;
}

/**
 * The environments as written, each resolved against the shared values of
 * `m`; undefined when the manifest declares none. `production` defaults to
 * true for the last environment only.
 */
export function resolveEnvironments(
  r: EnvironmentReader,
  m: ResolvedManifest,
): EnvironmentSpec[] | undefined {
  if (!r.written("environments")) return undefined;
  const count = r.length("environments");
  const out: EnvironmentSpec[] = [];
  for (let i = 0; i < count; i++) {
    const at = (key: string) => `environments[${i}].${key}`;
    const name = r.get<string>(at("name"), `env${i}`);
    const project = r.get(at("project"), `${m.project}-${name}`.slice(0, 31));
    const limit = <T extends Record<string, number>>(section: string, shared: T): T => {
      const values: Record<string, number> = {};
      for (const [key, value] of Object.entries(shared)) {
        values[key] = r.get(at(`policy_limits.${section}.${key}`), value);
      }
      return values as T;
    };
    const freezes: FreezeSpec[] = [];
    for (let f = 0; f < r.length(at("freezes")); f++) {
      const start = r.get<string>(at(`freezes[${f}].start`), "");
      const end = r.get<string>(at(`freezes[${f}].end`), "");
      if (!start || !end) continue;
      freezes.push({
        start,
        end,
        start_s: Math.floor(Date.parse(start) / 1000),
        end_s: Math.floor(Date.parse(end) / 1000),
        reason: r.get(at(`freezes[${f}].reason`), "a declared freeze"),
      });
    }
    out.push({
      name,
      project,
      target: r.get<Target>(at("target"), m.target ?? "engine"),
      nginx_port: r.get(at("nginx.port"), m.nginx.port),
      opa_port: r.get(at("opa.port"), m.opa.port),
      prometheus_port: r.get(at("prometheus.port"), m.prometheus.port),
      network_name: defaultNetworkName(project),
      volume_name: defaultVolumeName(project),
      policy_limits: {
        infrastructure: limit("infrastructure", m.policy_limits.infrastructure),
        canary: limit("canary", m.policy_limits.canary),
      },
      soak_seconds: r.seconds(at("soak"), 0),
      production: r.get(at("production"), i === count - 1),
      freezes,
    });
  }
  return out;
}

/**
 * Rules between environments and the shared keys: at least one
 * environment; names and projects unique; every port published on one
 * host used once (nginx, OPA and, when enabled, Prometheus of every
 * environment on target engine); names of the network and volume not fixed
 * (each stack needs its own); a freeze ending after it starts; and on a
 * swarm environment what a swarm cannot run (canary steps, Prometheus).
 */
export function checkEnvironments(r: EnvironmentReader, m: ResolvedManifest): void {
  const envs = m.environments;
  if (envs === undefined || !r.clean("environments")) return;
  if (envs.length === 0) {
    r.report(
      r.offsetOf("environments"),
      "environments",
      'must hold at least one environment such as "name: dev", or be removed',
    );
    return;
  }
  for (const shared of ["network.name", "logs.volume_name", "services.log_volume"]) {
    if (!r.has(shared)) continue;
    r.report(
      r.offsetOf(shared),
      shared,
      `must not be set when environments are declared: each environment's stack names its own ("<project>-${
        shared === "network.name" ? "net" : "logs"
      }") (got ${JSON.stringify(r.get(shared, ""))})`,
    );
  }
  const at = (i: number, key: string) => `environments[${i}].${key}`;
  /** Where to point for a value an environment may not have written itself. */
  const where = (i: number, key: string) =>
    r.has(at(i, key)) ? at(i, key) : r.has(at(i, "name")) ? at(i, "name") : `environments[${i}]`;
  const seen = new Map<string, number>();
  const projects = new Map<string, number>();
  const ports = new Map<number, string>();
  for (const [i, env] of envs.entries()) {
    if (!r.clean(`environments[${i}]`) || !r.clean(at(i, "name"))) continue;
    const first = seen.get(env.name);
    if (first !== undefined) {
      r.report(
        r.offsetOf(at(i, "name")),
        at(i, "name"),
        `must be unique: environments[${first}] is named "${env.name}" too`,
      );
      continue;
    }
    seen.set(env.name, i);
    const other = projects.get(env.project);
    if (other !== undefined) {
      r.report(
        r.offsetOf(where(i, "project")),
        where(i, "project"),
        `needs a project of its own: "${env.project}" is environments[${other}]'s too (got "${env.project}")`,
      );
    } else {
      projects.set(env.project, i);
    }
    if (env.target === "engine") {
      const published: [string, number][] = [["nginx.port", env.nginx_port], [
        "opa.port",
        env.opa_port,
      ]];
      if (m.prometheus.enabled) published.push(["prometheus.port", env.prometheus_port]);
      for (const [key, port] of published) {
        const holder = ports.get(port);
        if (holder !== undefined) {
          const path = where(i, key);
          r.report(
            r.offsetOf(path),
            path,
            `${
              path === at(i, key) ? "must differ" : `needs its own ${key} to differ`
            } from ${holder}: every environment's stack publishes its ports on this host (got ${port})`,
          );
        } else {
          ports.set(port, at(i, key));
          continue;
        }
        break; // one clash per environment: the next would repeat it
      }
    } else {
      if (m.rollout.strategy === "canary") {
        r.report(
          r.offsetOf(at(i, "target")),
          at(i, "target"),
          'cannot be "swarm" while rollout.strategy is "canary": canary steps run on target "engine" only (got "swarm")',
        );
      }
      if (m.prometheus.enabled) {
        r.report(
          r.offsetOf(at(i, "target")),
          at(i, "target"),
          'cannot be "swarm" while prometheus.enabled is true: the stack\'s Prometheus runs on target "engine" only (got "swarm")',
        );
      }
    }
    for (const [f, freeze] of env.freezes.entries()) {
      if (freeze.end_s > freeze.start_s) continue;
      const path = at(i, `freezes[${f}].end`);
      r.report(
        r.offsetOf(path),
        path,
        `must be after start (${freeze.start}): a freeze lasts a while (got "${freeze.end}")`,
      );
    }
  }
}

/**
 * The manifest as environment `name` runs it: the environment's own values
 * over the shared ones, `environment` set. The caller checked that `name`
 * is declared.
 */
export function selectEnvironment(m: ResolvedManifest, name: string): ResolvedManifest {
  const env = m.environments?.find((e) => e.name === name);
  if (env === undefined) throw new Error(`no environment "${name}" in the manifest`);
  return {
    ...m,
    project: env.project,
    target: env.target,
    nginx: { ...m.nginx, port: env.nginx_port },
    opa: { ...m.opa, port: env.opa_port },
    prometheus: { ...m.prometheus, port: env.prometheus_port },
    network: { ...m.network, name: env.network_name },
    logs: { volume_name: env.volume_name },
    policy_limits: env.policy_limits,
    environment: name,
  };
}

/** The environment before `name` in promotion order, or undefined for the first (or an unknown one). */
export function previousEnvironment(
  m: ResolvedManifest,
  name: string,
): EnvironmentSpec | undefined {
  const envs = m.environments ?? [];
  const index = envs.findIndex((e) => e.name === name);
  return index > 0 ? envs[index - 1] : undefined;
}

/** Registries allowed when `promotion.allowed_registries` is not written: Docker's default. */
export const DEFAULT_ALLOWED_REGISTRIES: readonly string[] = ["docker.io"];
