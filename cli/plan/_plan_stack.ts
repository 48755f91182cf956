import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import type { HardeningSpec, ResolvedManifest, ResourceRole } from "../manifest/types.ts";
import { hardeningSpec } from "../manifest/hardening.ts";
import { type Addressing, defaultAddressing } from "./_addressing.ts";
import { canonicalJson, sha256Hex } from "../digest/mod.ts";
import {
  LABEL_PROMETHEUS_CONFIG,
  nginxStaticAddress,
  nginxTargetsJson,
  PROMETHEUS_APPS_FILE_NAME,
  PROMETHEUS_CONFIG_DIR,
  PROMETHEUS_CONFIG_FILE_NAME,
  PROMETHEUS_CONTAINER_PORT,
  PROMETHEUS_DATA_DIR,
  PROMETHEUS_NGINX_FILE_NAME,
  PROMETHEUS_RETENTION,
  PROMETHEUS_TSDB_TMPFS,
  PROMETHEUS_UID,
  prometheusAddress,
  prometheusConfig,
  prometheusConfigHash,
} from "./_prometheus.ts";
import type {
  ContainerCreateBody,
  HealthcheckBody,
  HostConfigBody,
  Labels,
  NetworkCreateBody,
  VolumeCreateBody,
} from "./_engine_bodies.ts";

/** The containers of a stack, named after what they do. */
export type ContainerRole = "opa" | "app" | "nginx" | "prometheus";
/** The `io.swiftdeploy.role` label of every object a stack owns. */
export type ObjectRole = ContainerRole | "network" | "logs";

export const LABEL_PROJECT = "io.swiftdeploy.project";
export const LABEL_ROLE = "io.swiftdeploy.role";
export const LABEL_CONFIG_HASH = "io.swiftdeploy.config-hash";
export const LABEL_VERSION = "io.swiftdeploy.version";
/** On OPA: sha256 of its policy sources (policies/*.rego), so a policy change replaces it. */
export const LABEL_POLICIES = "io.swiftdeploy.policies";

/** `user:group` each container runs as (the images are built with these ids). */
export const CONTAINER_USERS: Readonly<Record<ContainerRole, string>> = {
  app: "10001:10001",
  nginx: "10002:10002",
  opa: "10003:10003",
  prometheus: `${PROMETHEUS_UID}:${PROMETHEUS_UID}`,
};

/** Folder beside the manifest holding what the engine driver bind-mounts. */
export const STATE_DIR_NAME = ".swiftdeploy";
/** Where nginx reads its config in the container (a directory bind, so renames are seen). */
export const NGINX_CONFIG_DIR = "/etc/nginx/swiftdeploy";
export const NGINX_CONFIG_FILE = `${NGINX_CONFIG_DIR}/nginx.conf`;
/** Mount point of the logs volume in the nginx container. */
export const NGINX_LOG_DIR = "/var/log/nginx";
/** Port of nginx's loopback-only health server inside its container. */
export const NGINX_HEALTH_PORT = 8099;
/**
 * nginx's admin folder in its container: its unix socket `NGINX_ADMIN_SOCKET`
 * serves the edge counters (see cli/edge/) and is reachable from the host
 * only, through the bind of `<manifest dir>/.swiftdeploy/NGINX_ADMIN_DIR_NAME`.
 */
export const NGINX_ADMIN_DIR = "/run/nginx-admin";
export const NGINX_ADMIN_DIR_NAME = "nginx-admin";
export const NGINX_ADMIN_SOCKET = `${NGINX_ADMIN_DIR}/edge.sock`;
export const OPA_POLICIES_DIR = "/policies";
export const OPA_DATA_DIR = "/data";
export const POLICY_DATA_FILE = "policy_data.json";
/** Port OPA listens on inside its container; the host side is `opa.port`. */
export const OPA_CONTAINER_PORT = 8181;
/** Seconds the app drains in-flight requests after SIGTERM. */
export const APP_SHUTDOWN_TIMEOUT_SECONDS = 10;

export interface PlanContext {
  /** Absolute directory of the manifest; `.swiftdeploy/` is created there. */
  manifestDir: string;
  /** Absolute directory of the installation (holds `policies/`). */
  installDir: string;
  /**
   * The project network's subnet and the app's static address on it, as
   * chosen from the engine's state (cli/deploy); `defaultAddressing(project)`
   * when absent (`init`, `--dry-run` without an engine).
   */
  addressing?: Addressing;
  /**
   * sha256 of the policy sources OPA loads (see `policiesHash`), labelled on
   * the OPA container so that a policy change counts as a change of its spec.
   */
  policiesHash?: string;
}

/** Absolute host directories the engine driver must fill before creating containers. */
export interface HostDirs {
  /** Holds `nginx.conf`; bound read-only on NGINX_CONFIG_DIR. */
  nginxConfigDir: string;
  /** Holds `policy_data.json`; bound read-only on OPA_DATA_DIR. */
  opaDataDir: string;
  /** The installation's Rego policies; bound read-only on OPA_POLICIES_DIR. */
  policiesDir: string;
  /**
   * Only when `prometheus.enabled`: holds prometheus.yml and the file_sd
   * lists (apps.json, nginx.json); bound read-only on PROMETHEUS_CONFIG_DIR.
   */
  prometheusConfigDir?: string;
}

export interface ContainerPlan {
  role: ContainerRole;
  /** Container name (the `name` query parameter of POST /containers/create). */
  name: string;
  /** Also in `body.Labels[LABEL_CONFIG_HASH]`. */
  configHash: string;
  /** Roles that must be healthy before this container starts. */
  dependsOn: ContainerRole[];
  body: ContainerCreateBody;
}

export interface NetworkPlan {
  name: string;
  configHash: string;
  body: NetworkCreateBody;
}

export interface VolumePlan {
  name: string;
  configHash: string;
  body: VolumeCreateBody;
}

/** A file the engine driver writes on the host (atomically, 0644) for a container to read. */
export interface HostFile {
  /** Absolute host path. */
  path: string;
  content: string;
}

/**
 * What the engine driver writes into `hostDirs.prometheusConfigDir` (a
 * folder 0755 with files 0644, which Prometheus's uid 10004 reads).
 */
export interface PrometheusFiles {
  /** prometheus.yml (`prometheusConfig`): a change replaces the container (its label). */
  config: HostFile;
  /** nginx.json (`nginxTargetsJson` of nginx's static address): Prometheus re-reads it. */
  nginxTargets: HostFile;
  /**
   * Where apps.json goes. Its content follows the routing table (the
   * variants and their addresses), so the `route` action writes it.
   */
  appTargetsPath: string;
  /** Prometheus's static address (nginx's listener allows it alone). */
  address: string;
  /** nginx's static address (the target of nginx.json). */
  nginxAddress: string;
}

export interface StackPlan {
  project: string;
  network: NetworkPlan;
  volume: VolumePlan;
  /** In creation order: opa, app, nginx, then prometheus when enabled. */
  containers: ContainerPlan[];
  hostDirs: HostDirs;
  /** Only when `prometheus.enabled`: the files its folder holds. */
  prometheus?: PrometheusFiles;
}

const SECOND_NS = 1_000_000_000;

const HARDENING = {
  CapDrop: ["ALL"],
  SecurityOpt: ["no-new-privileges:true"],
  ReadonlyRootfs: true,
} as const;

const TMPFS: Record<string, string> = { "/tmp": "rw,noexec,nosuid,size=16m" };

/**
 * Name of the app container: `<project>-app-<hash8>`, where hash8 is taken
 * from the app's spec (image, port, mode, version, restart policy), so a
 * change of spec gives a new container that can start beside the old one.
 */
export function appContainerName(manifest: ResolvedManifest): string {
  const { image, port, mode, version, restart_policy } = manifest.services;
  const hash = sha256Hex(canonicalJson({ image, port, mode, version, restart_policy }));
  return `${manifest.project}-app-${hash.slice(0, 8)}`;
}

/** Turns a resolved manifest into the exact Engine API objects of the stack. */
export function planStack(manifest: ResolvedManifest, ctx: PlanContext): StackPlan {
  const manifestDir = checkedDir("manifest", ctx.manifestDir);
  const installDir = checkedDir("installation", ctx.installDir);
  const hostDirs: HostDirs = {
    nginxConfigDir: `${manifestDir}/${STATE_DIR_NAME}/nginx`,
    opaDataDir: `${manifestDir}/${STATE_DIR_NAME}/opa`,
    policiesDir: `${installDir}/policies`,
  };
  const { project } = manifest;
  const networkName = manifest.network.name;
  const volumeName = manifest.logs.volume_name;

  const addressing = ctx.addressing ?? defaultAddressing(project);
  const hardening = hardeningSpec(manifest);
  const network = withHash(
    {
      Name: networkName,
      Driver: manifest.network.driver_type,
      CheckDuplicate: true,
      // An explicit subnet whose dynamic range leaves out the app's reserved slots.
      IPAM: {
        Driver: "default",
        Config: [{
          Subnet: addressing.subnet,
          IPRange: addressing.ipRange,
          Gateway: addressing.gateway,
        }],
      },
      Labels: objectLabels(project, "network"),
    } satisfies NetworkCreateBody,
  );
  const volume = withHash(
    {
      Name: volumeName,
      Driver: "local",
      Labels: objectLabels(project, "logs"),
    } satisfies VolumeCreateBody,
  );

  const restart = {
    Name: manifest.services.restart_policy,
    MaximumRetryCount: 0,
  };
  const version = manifest.services.version;
  const onNetwork = (alias: string) => ({
    EndpointsConfig: { [networkName]: { Aliases: [alias] } },
  });

  const opaName = `${project}-opa`;
  const opa: ContainerCreateBody = {
    Image: manifest.opa.image,
    Cmd: [
      "run",
      "--server",
      `--addr=0.0.0.0:${OPA_CONTAINER_PORT}`,
      "--log-level=error",
      OPA_POLICIES_DIR,
      `${OPA_DATA_DIR}/${POLICY_DATA_FILE}`,
    ],
    User: CONTAINER_USERS.opa,
    Labels: {
      ...containerLabels(project, "opa", version),
      ...(ctx.policiesHash ? { [LABEL_POLICIES]: ctx.policiesHash } : {}),
    },
    ExposedPorts: { [`${OPA_CONTAINER_PORT}/tcp`]: {} },
    Healthcheck: healthcheck([
      "CMD",
      "/opa",
      "eval",
      "--fail",
      `http.send({"method": "get", "url": "http://127.0.0.1:${OPA_CONTAINER_PORT}/health", "timeout": "2s"}).status_code == 200`,
    ]),
    HostConfig: {
      Binds: [
        `${hostDirs.policiesDir}:${OPA_POLICIES_DIR}:ro`,
        `${hostDirs.opaDataDir}:${OPA_DATA_DIR}:ro`,
      ],
      PortBindings: {
        [`${OPA_CONTAINER_PORT}/tcp`]: [{
          HostIp: "127.0.0.1",
          HostPort: String(manifest.opa.port),
        }],
      },
      // The default bridge only: nginx and the app have no route to OPA.
      ...hardenedHost(restart, "bridge", hardening, "opa"),
    } satisfies HostConfigBody,
  };

  const appName = appContainerName(manifest);
  const appPort = manifest.services.port;
  const app: ContainerCreateBody = {
    Image: manifest.services.image,
    Env: [
      `MODE=${manifest.services.mode}`,
      `APP_VERSION=${version}`,
      `APP_PORT=${appPort}`,
      `SHUTDOWN_TIMEOUT_SECONDS=${APP_SHUTDOWN_TIMEOUT_SECONDS}`,
    ],
    User: CONTAINER_USERS.app,
    Labels: containerLabels(project, "app", version),
    ExposedPorts: { [`${appPort}/tcp`]: {} },
    // busybox's wget, not a second Deno process: a check every second costs
    // milliseconds instead of a runtime start (about 12 % of a core).
    Healthcheck: healthcheck(wgetCheck(`http://127.0.0.1:${appPort}/healthz`), 10),
    HostConfig: {
      ...hardenedHost(restart, networkName, hardening, "app"),
      Tmpfs: { ...TMPFS },
    },
    NetworkingConfig: {
      EndpointsConfig: {
        [networkName]: { Aliases: [appName], IPAMConfig: { IPv4Address: addressing.appAddress } },
      },
    },
  };

  const nginxName = `${project}-nginx`;
  const nginxPort = manifest.nginx.port;
  // With Prometheus, nginx's listener is a scrape target: a static address
  // (outside the config hash, as every IPAMConfig). Without, as before.
  const nginxAddress = manifest.prometheus.enabled
    ? nginxStaticAddress(addressing.subnet)
    : undefined;
  const nginx: ContainerCreateBody = {
    Image: manifest.nginx.image,
    Cmd: ["nginx", "-c", NGINX_CONFIG_FILE, "-g", "daemon off;"],
    User: CONTAINER_USERS.nginx,
    Labels: containerLabels(project, "nginx", version),
    ExposedPorts: { [`${nginxPort}/tcp`]: {} },
    Healthcheck: healthcheck(wgetCheck(`http://127.0.0.1:${NGINX_HEALTH_PORT}/nginx-health`)),
    HostConfig: {
      Binds: [
        `${volumeName}:${NGINX_LOG_DIR}`,
        `${hostDirs.nginxConfigDir}:${NGINX_CONFIG_DIR}:ro`,
        `${manifestDir}/${STATE_DIR_NAME}/${NGINX_ADMIN_DIR_NAME}:${NGINX_ADMIN_DIR}`,
      ],
      PortBindings: {
        [`${nginxPort}/tcp`]: [{ HostIp: "0.0.0.0", HostPort: String(nginxPort) }],
      },
      ...hardenedHost(restart, networkName, hardening, "nginx"),
      Tmpfs: { ...TMPFS },
    },
    NetworkingConfig: nginxAddress === undefined ? onNetwork(nginxName) : {
      EndpointsConfig: {
        [networkName]: { Aliases: [nginxName], IPAMConfig: { IPv4Address: nginxAddress } },
      },
    },
  };

  const containers = [
    containerPlan("opa", opaName, [], opa),
    containerPlan("app", appName, [], app),
    containerPlan("nginx", nginxName, ["app"], nginx),
  ];
  let prometheusFiles: PrometheusFiles | undefined;
  if (manifest.prometheus.enabled && nginxAddress !== undefined) {
    const dir = `${manifestDir}/${STATE_DIR_NAME}/prometheus`;
    hostDirs.prometheusConfigDir = dir;
    const address = prometheusAddress(addressing.subnet);
    prometheusFiles = {
      config: {
        path: `${dir}/${PROMETHEUS_CONFIG_FILE_NAME}`,
        content: prometheusConfig(manifest),
      },
      nginxTargets: {
        path: `${dir}/${PROMETHEUS_NGINX_FILE_NAME}`,
        content: nginxTargetsJson(nginxAddress),
      },
      appTargetsPath: `${dir}/${PROMETHEUS_APPS_FILE_NAME}`,
      address,
      nginxAddress,
    };
    const name = `${project}-prometheus`;
    const prometheus: ContainerCreateBody = {
      Image: manifest.prometheus.image,
      // Flags only: the image's entrypoint is the prometheus binary (ours and prom/prometheus).
      Cmd: [
        `--config.file=${PROMETHEUS_CONFIG_DIR}/${PROMETHEUS_CONFIG_FILE_NAME}`,
        `--storage.tsdb.path=${PROMETHEUS_DATA_DIR}`,
        `--storage.tsdb.retention.time=${PROMETHEUS_RETENTION}`,
        `--web.listen-address=0.0.0.0:${PROMETHEUS_CONTAINER_PORT}`,
        "--log.level=warn",
      ],
      User: CONTAINER_USERS.prometheus,
      Labels: {
        ...containerLabels(project, "prometheus", version),
        [LABEL_PROMETHEUS_CONFIG]: prometheusConfigHash(manifest),
      },
      ExposedPorts: { [`${PROMETHEUS_CONTAINER_PORT}/tcp`]: {} },
      Healthcheck: healthcheck(
        wgetCheck(`http://127.0.0.1:${PROMETHEUS_CONTAINER_PORT}/-/ready`),
        10,
      ),
      HostConfig: {
        Binds: [`${dir}:${PROMETHEUS_CONFIG_DIR}:ro`],
        PortBindings: {
          [`${PROMETHEUS_CONTAINER_PORT}/tcp`]: [{
            HostIp: "127.0.0.1",
            HostPort: String(manifest.prometheus.port),
          }],
        },
        ...hardenedHost(restart, networkName, hardening, "prometheus"),
        Tmpfs: { ...TMPFS, [PROMETHEUS_DATA_DIR]: PROMETHEUS_TSDB_TMPFS },
      },
      NetworkingConfig: {
        EndpointsConfig: {
          [networkName]: {
            Aliases: [name],
            // Static, outside the dynamic range: nginx's listener allows this address only.
            IPAMConfig: { IPv4Address: address },
          },
        },
      },
    };
    containers.push(containerPlan("prometheus", name, [], prometheus));
  }

  return {
    project,
    network: { name: networkName, ...network },
    volume: { name: volumeName, ...volume },
    containers,
    hostDirs,
    ...(prometheusFiles ? { prometheus: prometheusFiles } : {}),
  };
}

/**
 * The hardening every container gets, with its restart policy and network,
 * its log caps (`logs.containers`) and its resource caps (`resources.<role>`,
 * issue 17): fresh arrays and objects each call, so no two plans share
 * mutable parts.
 */
function hardenedHost(
  restart: { Name: string; MaximumRetryCount: number },
  networkMode: string,
  hardening: HardeningSpec,
  role: ResourceRole,
) {
  const logs = hardening.container_logs;
  const caps = hardening.resources[role];
  return {
    ...HARDENING,
    CapDrop: [...HARDENING.CapDrop],
    SecurityOpt: [...HARDENING.SecurityOpt],
    RestartPolicy: { ...restart },
    NetworkMode: networkMode,
    LogConfig: {
      Type: logs.driver,
      Config: { "max-size": logs.max_size, "max-file": String(logs.max_files) },
    },
    Memory: caps.memory_bytes,
    MemorySwap: caps.memory_bytes,
    NanoCpus: caps.nano_cpus,
    PidsLimit: caps.pids,
  };
}

/** A health check by busybox's wget inside the container. */
function wgetCheck(url: string): string[] {
  return ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", url];
}

function healthcheck(test: string[], startPeriodSeconds?: number): HealthcheckBody {
  const check: HealthcheckBody = {
    Test: test,
    Interval: 1 * SECOND_NS,
    Timeout: 3 * SECOND_NS,
    Retries: 30,
  };
  if (startPeriodSeconds !== undefined) check.StartPeriod = startPeriodSeconds * SECOND_NS;
  return check;
}

function objectLabels(project: string, role: ObjectRole): Labels {
  return { [LABEL_PROJECT]: project, [LABEL_ROLE]: role };
}

function containerLabels(project: string, role: ContainerRole, version: string): Labels {
  return { ...objectLabels(project, role), [LABEL_VERSION]: version };
}

/**
 * Adds the config-hash label: sha256 of the canonical body without that
 * label, without the version label, so a new app version does not count
 * as a change of nginx or OPA (the app's version is in its environment),
 * and without static addresses (`IPAMConfig`), which the deploy picks from
 * the slots free at the time: the same app on another slot is the same app.
 */
function withHash<B extends { Labels: Labels; NetworkingConfig?: unknown }>(
  body: B,
): { configHash: string; body: B } {
  const { [LABEL_CONFIG_HASH]: _ignored, ...labels } = body.Labels;
  const { [LABEL_VERSION]: _version, ...hashedLabels } = labels;
  const unhashed = { ...body, Labels: labels };
  const hashed: Record<string, unknown> = { ...body, Labels: hashedLabels };
  if (body.NetworkingConfig) {
    hashed.NetworkingConfig = JSON.parse(
      JSON.stringify(body.NetworkingConfig, (k, v) => (k === "IPAMConfig" ? undefined : v)),
    );
  }
  const configHash = sha256Hex(canonicalJson(hashed));
  return {
    configHash,
    body: { ...unhashed, Labels: { ...labels, [LABEL_CONFIG_HASH]: configHash } },
  };
}

function containerPlan(
  role: ContainerRole,
  name: string,
  dependsOn: ContainerRole[],
  body: ContainerCreateBody,
): ContainerPlan {
  return { role, name, dependsOn, ...withHash(body) };
}

/** Absolute, without a trailing slash, and usable in a `source:target` bind. */
function checkedDir(what: string, dir: string): string {
  if (!dir.startsWith("/")) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot plan the stack: the ${what} directory "${dir}" is not an absolute path`,
    );
  }
  if (dir.includes(":") || dir.includes("\n")) {
    throw new SwiftDeployError(
      "USAGE",
      `Cannot plan the stack: the ${what} directory "${dir}" contains ":" or a line break, which a bind mount cannot hold`,
      {
        exitCode: ExitCode.invalid,
        hint: `move the ${what} to a directory whose path has neither and run the command again`,
      },
    );
  }
  // "/" becomes "", so joins like `${dir}/policies` stay single-slashed.
  return dir.replace(/\/+$/, "");
}
