import YAML from "yaml";
import { SwiftDeployError } from "../errors/mod.ts";
import {
  CONTAINER_USERS,
  type ContainerPlan,
  type HealthcheckBody,
  NGINX_ADMIN_DIR,
  NGINX_CONFIG_DIR,
  NGINX_LOG_DIR,
  OPA_DATA_DIR,
  OPA_POLICIES_DIR,
  PROMETHEUS_CONFIG_DIR,
  type StackPlan,
  STATE_DIR_NAME,
} from "../plan/mod.ts";

const SECOND_NS = 1_000_000_000;

/**
 * The docker-compose.yml document (compose spec format, accepted by
 * docker-compose 1.29) built field by field from the plan's Engine API
 * bodies, so the two cannot drift. `$` is doubled everywhere, since compose
 * would interpolate it. Only the mounts differ: where the engine path binds
 * `.swiftdeploy/nginx/` and `.swiftdeploy/opa/`, compose binds the folder
 * the compose file is in (where `init` writes nginx.conf and
 * policy_data.json), and the policies through `relPoliciesDir`, relative to
 * the compose file. Every bind is a folder, never a single file: `init`
 * replaces files by rename, and a file bind keeps showing the old inode
 * (issue 11 case 10). nginx's admin folder is a tmpfs of its own here: a
 * stack run by hand has no CLI reading its edge counters. Prometheus (when
 * enabled) reads `.swiftdeploy/prometheus/` beside this file, where the CLI
 * keeps prometheus.yml and its target lists.
 */
export function composeDocument(plan: StackPlan, relPoliciesDir: string): Record<string, unknown> {
  const policies = composeRelativePath(relPoliciesDir);
  const services: Record<string, unknown> = {};
  for (const container of plan.containers) {
    services[container.role] = composeService(plan, container, policies);
  }
  const document = {
    services,
    networks: {
      [plan.network.name]: {
        name: plan.network.body.Name,
        driver: plan.network.body.Driver,
        ...(plan.network.body.IPAM
          ? {
            ipam: {
              driver: plan.network.body.IPAM.Driver,
              config: plan.network.body.IPAM.Config.map((c) => ({
                subnet: c.Subnet,
                ip_range: c.IPRange,
                gateway: c.Gateway,
              })),
            },
          }
          : {}),
        labels: plan.network.body.Labels,
      },
    },
    volumes: {
      [plan.volume.name]: {
        name: plan.volume.body.Name,
        driver: plan.volume.body.Driver,
        labels: plan.volume.body.Labels,
      },
    },
  };
  return escapeDollars(document) as Record<string, unknown>;
}

/** The document as YAML: every string double-quoted, so no value is read as another type. */
export function composeYaml(document: Record<string, unknown>): string {
  // YAML 1.1 rules for what needs quoting: docker-compose reads with PyYAML,
  // for which a bare `no`, `on` or `yes` key would be a boolean.
  return new YAML.Document(document, { version: "1.1" }).toString({
    defaultStringType: "QUOTE_DOUBLE",
    defaultKeyType: "PLAIN",
    lineWidth: 0,
  });
}

function composeService(
  plan: StackPlan,
  container: ContainerPlan,
  policies: string,
): Record<string, unknown> {
  const { body } = container;
  const host = body.HostConfig;
  const service: Record<string, unknown> = {
    image: body.Image,
    container_name: container.name,
  };
  if (body.Cmd) service.command = body.Cmd;
  service.user = body.User;
  if (body.Env && body.Env.length > 0) service.environment = body.Env;
  service.expose = Object.keys(body.ExposedPorts).map(containerPort);
  const ports = Object.entries(host.PortBindings ?? {}).flatMap(([port, bindings]) =>
    bindings.map((b) => `${b.HostIp}:${b.HostPort}:${containerPort(port)}`)
  );
  if (ports.length > 0) service.ports = ports;
  const mounts = (host.Binds ?? []).map((bind) => composeMount(plan, bind, policies));
  const volumes = mounts.flatMap((m) => "volume" in m ? [m.volume] : []);
  if (volumes.length > 0) service.volumes = volumes;
  const tmpfs = [
    ...Object.entries(host.Tmpfs ?? {}).map(([target, options]) => `${target}:${options}`),
    ...mounts.flatMap((m) => "tmpfs" in m ? [m.tmpfs] : []),
  ];
  if (tmpfs.length > 0) service.tmpfs = tmpfs;
  service.cap_drop = host.CapDrop;
  service.security_opt = host.SecurityOpt;
  service.read_only = host.ReadonlyRootfs;
  service.restart = host.RestartPolicy.Name;
  // The same caps as the Engine API body (issue 17): logs, memory (no swap), CPU, processes.
  service.logging = { driver: host.LogConfig.Type, options: { ...host.LogConfig.Config } };
  service.mem_limit = host.Memory;
  service.memswap_limit = host.MemorySwap;
  service.cpus = host.NanoCpus / 1e9;
  service.pids_limit = host.PidsLimit;
  service.healthcheck = composeHealthcheck(body.Healthcheck);
  if (host.NetworkMode === plan.network.name) {
    const endpoint = body.NetworkingConfig?.EndpointsConfig[plan.network.name];
    service.networks = {
      [plan.network.name]: {
        aliases: endpoint?.Aliases ?? [],
        ...(endpoint?.IPAMConfig ? { ipv4_address: endpoint.IPAMConfig.IPv4Address } : {}),
      },
    };
  } else {
    service.network_mode = host.NetworkMode;
  }
  if (container.dependsOn.length > 0) {
    service.depends_on = Object.fromEntries(
      container.dependsOn.map((role) => [role, { condition: "service_healthy" }]),
    );
  }
  service.labels = body.Labels;
  return service;
}

/**
 * Compose counterpart of an Engine API bind, chosen by its target in the
 * container: a volume entry (`source:target[:ro]`, the source a folder) or
 * a tmpfs entry (`target:options`).
 */
function composeMount(
  plan: StackPlan,
  bind: string,
  policies: string,
): { volume: string } | { tmpfs: string } {
  const [source, target] = bind.split(":");
  if (target === NGINX_LOG_DIR && source === plan.volume.name) return { volume: bind };
  // nginx.conf and policy_data.json are where `init` writes them: beside this file.
  if (target === NGINX_CONFIG_DIR) return { volume: `.:${NGINX_CONFIG_DIR}:ro` };
  if (target === OPA_POLICIES_DIR) return { volume: `${policies}:${OPA_POLICIES_DIR}:ro` };
  if (target === OPA_DATA_DIR) return { volume: `.:${OPA_DATA_DIR}:ro` };
  if (target === PROMETHEUS_CONFIG_DIR) {
    return { volume: `./${STATE_DIR_NAME}/prometheus:${PROMETHEUS_CONFIG_DIR}:ro` };
  }
  if (target === NGINX_ADMIN_DIR) {
    const [uid, gid] = CONTAINER_USERS.nginx.split(":");
    return {
      tmpfs: `${NGINX_ADMIN_DIR}:rw,noexec,nosuid,size=64k,uid=${uid},gid=${gid},mode=0700`,
    };
  }
  throw new SwiftDeployError(
    "INTERNAL",
    `Cannot render docker-compose.yml: no compose counterpart for the bind "${bind}"`,
  );
}

function composeHealthcheck(check: HealthcheckBody): Record<string, unknown> {
  const seconds = (ns: number) => `${ns / SECOND_NS}s`;
  const out: Record<string, unknown> = {
    test: check.Test,
    interval: seconds(check.Interval),
    timeout: seconds(check.Timeout),
    retries: check.Retries,
  };
  if (check.StartPeriod !== undefined) out.start_period = seconds(check.StartPeriod);
  return out;
}

function containerPort(enginePort: string): string {
  return enginePort.replace(/\/tcp$/, "");
}

/** A path compose reads as a bind (not a volume name): `./` added when relative. */
function composeRelativePath(path: string): string {
  if (path === "" || path.includes(":") || path.includes("\n")) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot render docker-compose.yml: policies path "${path}" cannot be a compose bind source`,
    );
  }
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  return /^(\/|\.\/|\.\.\/|\.$|\.\.$)/.test(trimmed) ? trimmed : `./${trimmed}`;
}

function escapeDollars(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll("$", () => "$$");
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)]));
  }
  return value;
}
