/**
 * Defaults applied to every key the manifest leaves out.
 *
 * Required (no default): services.image, services.port, nginx.image, nginx.port.
 *
 * | key                                          | default                               |
 * |----------------------------------------------|---------------------------------------|
 * | project                                      | "swiftdeploy"                         |
 * | target                                       | "engine"                              |
 * | services.replicas                            | 1 (more only with target swarm)       |
 * | services.placement.constraints               | [] (any node)                         |
 * | services.placement.spread                    | none                                  |
 * | services.update.parallelism                  | 1                                     |
 * | services.update.delay                        | 0s                                    |
 * | services.update.monitor                      | 5s                                    |
 * | services.update.failure_action               | "rollback"                            |
 * | services.update.order                        | "start-first"                         |
 * | services.mode                                | "stable"                              |
 * | services.version                             | "1.0.0"                               |
 * | services.restart_policy                      | "unless-stopped"                      |
 * | nginx.proxy_timeout                          | 30 (seconds)                          |
 * | nginx.contact                                | "ops@swiftdeploy.local"               |
 * | opa.image                                    | "openpolicyagent/opa:latest-static"   |
 * | opa.port                                     | 8181                                  |
 * | opa.decision_timeout_seconds                 | 5                                     |
 * | network.name                                 | "<project>-net"                       |
 * | network.driver_type                          | "bridge"                              |
 * | logs.volume_name                             | "<project>-logs" (or the legacy       |
 * |                                              | services.log_volume when given)       |
 * | policy_limits.infrastructure.min_disk_free_gb| 10                                    |
 * | policy_limits.infrastructure.max_cpu_load    | 8.0                                   |
 * | policy_limits.infrastructure.min_mem_free_percent | 10                               |
 * | policy_limits.canary.max_error_rate_percent  | 1.0                                   |
 * | policy_limits.canary.max_p99_latency_ms      | 500                                   |
 * | policy_limits.canary.window_seconds          | 30                                    |
 * | policy_limits.canary.min_requests            | 20                                    |
 * | audit.history_file                           | "history.jsonl"                       |
 * | audit.report_file                            | "audit_report.md"                     |
 * | rollout.strategy                             | "switch"                              |
 * | rollout.steps                                | [] (see EXAMPLE_CANARY_STEPS)         |
 * | rollout.analysis.source                      | "edge"                                |
 * | rollout.analysis.window                      | 30s                                   |
 * | rollout.analysis.min_requests                | 20 (per variant)                      |
 * | rollout.analysis.max_error_rate_percent      | 5                                     |
 * | rollout.analysis.max_error_rate_increase_points | 1.0                                 |
 * | rollout.analysis.max_p99_latency_ms          | 1000                                  |
 * | rollout.analysis.max_p99_ratio               | 2.0                                   |
 * | rollout.analysis.p99_ratio_floor_ms          | 50 (ms)                               |
 * | rollout.analysis.failure_limit               | 0                                     |
 * | rollout.analysis.inconclusive_limit          | 2                                     |
 * | rollout.routing.header                       | "X-Canary"                            |
 * | rollout.routing.sticky_cookie                | null (no sticky cookie)               |
 * | prometheus.enabled                           | false                                 |
 * | prometheus.image                             | "prom/prometheus:latest"              |
 * | prometheus.port                              | 9090                                  |
 * | prometheus.scrape_interval                   | 5s                                    |
 * | registry.address                             | null (the lab's registry on swarm)    |
 * | registry.insecure                            | false                                 |
 * | registry.username                            | null (anonymous)                      |
 * | registry.password_env, registry.password_file | null                                 |
 * | releases.retain                              | 5 (good releases whose images are kept) |
 *
 * The policy limits and the rest match the shipped manifest.yaml.
 */

import type {
  RegistrySpec,
  ResolvedManifest,
  RolloutSpec,
  RolloutStep,
  SwarmSpec,
  Target,
} from "./types.ts";

export const DEFAULT_PROJECT = "swiftdeploy";

export const DEFAULTS = {
  target: "engine" as Target,
  swarm: {
    replicas: 1,
    update: {
      parallelism: 1,
      delay_seconds: 0,
      monitor_seconds: 5,
      failure_action: "rollback",
      order: "start-first",
    },
  },
  services: {
    mode: "stable",
    version: "1.0.0",
    restart_policy: "unless-stopped",
  },
  nginx: {
    proxy_timeout: 30,
    contact: "ops@swiftdeploy.local",
  },
  opa: {
    image: "openpolicyagent/opa:latest-static",
    port: 8181,
    decision_timeout_seconds: 5,
  },
  network: {
    driver_type: "bridge",
  },
  policy_limits: {
    infrastructure: {
      min_disk_free_gb: 10,
      max_cpu_load: 8.0,
      min_mem_free_percent: 10,
    },
    canary: {
      max_error_rate_percent: 1.0,
      max_p99_latency_ms: 500,
      window_seconds: 30,
      min_requests: 20,
    },
  },
  audit: {
    history_file: "history.jsonl",
    report_file: "audit_report.md",
  },
  rollout: {
    strategy: "switch",
    analysis: {
      source: "edge",
      window_seconds: 30,
      min_requests: 20,
      max_error_rate_percent: 5,
      max_error_rate_increase_points: 1.0,
      max_p99_latency_ms: 1000,
      max_p99_ratio: 2.0,
      p99_ratio_floor_ms: 50,
      failure_limit: 0,
      inconclusive_limit: 2,
    },
    routing: {
      header: "X-Canary",
      sticky_cookie: null,
    },
  },
  prometheus: {
    enabled: false,
    // Upstream's name, built locally by `swiftdeploy build` like nginx:latest.
    image: "prom/prometheus:latest",
    port: 9090,
    scrape_interval_seconds: 5,
  },
  releases: {
    // Good releases whose images SwiftDeploy never removes (cli/release DEFAULT_RETAIN).
    retain: 5,
  },
} as const;

/**
 * The step list the shipped manifest documents for `strategy: canary`:
 * 10 %, wait, judge, 50 %, wait, judge, then 100 % (implied).
 */
export const EXAMPLE_CANARY_STEPS: readonly RolloutStep[] = [
  { weight: 10 },
  { pause_seconds: 30 },
  { analysis: {} },
  { weight: 50 },
  { pause_seconds: 30 },
  { analysis: {} },
];

/** The resolved `rollout` section of a manifest that leaves it out (a fresh copy). */
export function defaultRollout(): RolloutSpec {
  const d = DEFAULTS.rollout;
  return {
    strategy: d.strategy,
    steps: [],
    analysis: { ...d.analysis },
    routing: { ...d.routing },
  };
}

/** The resolved `prometheus` section of a manifest that leaves it out (a fresh copy). */
export function defaultPrometheus(): ResolvedManifest["prometheus"] {
  return { ...DEFAULTS.prometheus };
}

/** The resolved swarm settings of a manifest that leaves them out (a fresh copy). */
export function defaultSwarm(): SwarmSpec {
  const d = DEFAULTS.swarm;
  return {
    replicas: d.replicas,
    placement: { constraints: [], spread: null },
    update: { ...d.update },
  };
}

/** The resolved `registry` section of a manifest that leaves it out (a fresh copy). */
export function defaultRegistry(): RegistrySpec {
  return {
    address: null,
    insecure: false,
    username: null,
    password_env: null,
    password_file: null,
  };
}

/** The registry settings of a resolved manifest, the defaults when absent (a hand-built manifest). */
export function registrySpec(manifest: ResolvedManifest): RegistrySpec {
  return manifest.registry ?? defaultRegistry();
}

/** Where a resolved manifest runs: its `target`, "engine" when absent (a hand-built manifest). */
export function targetOf(manifest: ResolvedManifest): Target {
  return manifest.target ?? DEFAULTS.target;
}

/** The swarm settings of a resolved manifest, the defaults when absent (a hand-built manifest). */
export function swarmSpec(manifest: ResolvedManifest): SwarmSpec {
  return manifest.swarm ?? defaultSwarm();
}

/** Default network name of a project. */
export function defaultNetworkName(project: string): string {
  return `${project}-net`;
}

/** Default log volume name of a project. */
export function defaultVolumeName(project: string): string {
  return `${project}-logs`;
}
