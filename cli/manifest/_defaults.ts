/**
 * Defaults applied to every key the manifest leaves out.
 *
 * Required (no default): services.image, services.port, nginx.image, nginx.port.
 *
 * | key                                          | default                               |
 * |----------------------------------------------|---------------------------------------|
 * | project                                      | "swiftdeploy"                         |
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
 *
 * The policy limits and the rest match the shipped manifest.yaml.
 */

export const DEFAULT_PROJECT = "swiftdeploy";

export const DEFAULTS = {
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
} as const;

/** Default network name of a project. */
export function defaultNetworkName(project: string): string {
  return `${project}-net`;
}

/** Default log volume name of a project. */
export function defaultVolumeName(project: string): string {
  return `${project}-logs`;
}
