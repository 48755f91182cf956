/**
 * The stack on a swarm as data (issue 14): the overlay network, the configs
 * (nginx.conf, policy_data.json and the Rego policies, each named after its
 * content hash) and the three services, as exact Engine API bodies. Pure.
 *
 * | service           | network          | published                        | placement            |
 * | ----------------- | ---------------- | -------------------------------- | -------------------- |
 * | `<project>-opa`   | none of ours     | never; a unix socket in a folder | the CLI's manager    |
 * |                   |                  | of the manager host              |                      |
 * | `<project>-app`   | `<project>-net`  | never (`dnsrr`, no VIP)          | manifest             |
 * | `<project>-nginx` | `<project>-net`  | `nginx.port`, host mode          | the CLI's manager    |
 *
 * OPA's API is reachable from the manager host only: OPA listens on
 * 127.0.0.1 inside its own container (for its healthcheck) and on a unix
 * socket in a bind-mounted folder of the manager (`opaSocketDir`, 0700),
 * and on nothing else. Swarm cannot publish on a loopback address (a
 * published port binds every address of the node), so OPA publishes
 * nothing: no network path leads to it, from nginx, the app or another
 * node; only a process on the manager host that can open the folder can.
 */
import { canonicalJson, sha256Hex } from "../digest/mod.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { hardeningSpec } from "../manifest/hardening.ts";
import type { HardeningSpec, ResolvedManifest } from "../manifest/types.ts";
import {
  APP_SHUTDOWN_TIMEOUT_SECONDS,
  CONTAINER_USERS,
  LABEL_CONFIG_HASH,
  LABEL_PROJECT,
  LABEL_ROLE,
  LABEL_VERSION,
  NGINX_ADMIN_DIR,
  NGINX_CONFIG_FILE,
  NGINX_HEALTH_PORT,
  OPA_CONTAINER_PORT,
  OPA_DATA_DIR,
  OPA_POLICIES_DIR,
  POLICY_DATA_FILE,
} from "../plan/mod.ts";
import type { ServiceSpec, UpdateConfig } from "./_api.ts";
import { appServiceName } from "./_nginx_conf.ts";

/** On every object of a swarm stack: which target made it. */
export const LABEL_TARGET = "io.swiftdeploy.target";
/** On a config: the file it holds (`nginx.conf`, `policy_data.json`, `policies/x.rego`). */
export const LABEL_FILE = "io.swiftdeploy.file";
/** Folder of OPA's unix socket inside its container. */
export const OPA_SOCKET_DIR = "/run/opa";
/** OPA's unix socket file name, in `OPA_SOCKET_DIR` and in the host folder. */
export const OPA_SOCKET_NAME = "opa.sock";

const SECOND_NS = 1_000_000_000;
const TMPFS_BYTES = 16 * 1024 * 1024;

export type SwarmRole = "opa" | "app" | "nginx";

/** One Swarm config: a file a service reads, named `<project>-<file>-<hash12>`. */
export interface ConfigPlan {
  name: string;
  /** The file as the service sees it, relative (`nginx.conf`, `policies/canary.rego`). */
  file: string;
  data: string;
  labels: Record<string, string>;
}

export interface ServicePlan {
  role: SwarmRole;
  name: string;
  /** sha256 of the spec without this label (config ids are not in it: names carry the content). */
  configHash: string;
  /** `ConfigID`s are empty: the driver fills them from the configs it created or found. */
  spec: ServiceSpec;
}

export interface SwarmPlan {
  project: string;
  network: {
    name: string;
    body: {
      Name: string;
      Driver: "overlay";
      Attachable: false;
      CheckDuplicate: true;
      Labels: Record<string, string>;
    };
  };
  configs: ConfigPlan[];
  /** In creation order: opa, app, nginx. */
  services: ServicePlan[];
  /** The host folder on the manager that holds OPA's socket (create it 0700, owned by OPA's user). */
  opaSocketDir: string;
  /** The host folder on the manager bound on nginx's NGINX_ADMIN_DIR (its edge counters' socket; 0700, nginx's user). */
  nginxAdminDir: string;
}

export interface SwarmPlanInput {
  manifest: ResolvedManifest;
  /** The manager node the CLI talks to (`GET /info` Swarm.NodeID): OPA and nginx run there. */
  managerNodeId: string;
  /** Image references by role, as the nodes pull them (by digest when known). */
  images: Record<SwarmRole, string>;
  /** nginx.conf for the swarm (`renderSwarmNginxConf`). */
  nginxConf: string;
  /** policy_data.json as rendered for the manifest. */
  policyData: string;
  /** The Rego policies OPA loads (non-test files), relative path and text. */
  policies: { path: string; content: string }[];
  /** Absolute host folder on the manager for OPA's socket. */
  opaSocketDir: string;
  /** Absolute host folder on the manager for nginx's admin socket (`<state dir>/nginx-admin`). */
  nginxAdminDir: string;
}

/** `<project>-<file with "/" as "-">-<first 12 hex of its sha256>`: a change is a new name. */
export function configName(project: string, file: string, data: string): string {
  return `${project}-${file.replaceAll("/", "-")}-${sha256Hex(data).slice(0, 12)}`;
}

function labels(project: string, role: string): Record<string, string> {
  return { [LABEL_PROJECT]: project, [LABEL_ROLE]: role, [LABEL_TARGET]: "swarm" };
}

function hashed(role: SwarmRole, spec: ServiceSpec): ServicePlan {
  const { [LABEL_VERSION]: _v, ...stable } = spec.Labels;
  const configHash = sha256Hex(canonicalJson({ ...spec, Labels: stable }));
  const container = spec.TaskTemplate.ContainerSpec;
  return {
    role,
    name: spec.Name,
    configHash,
    spec: {
      ...spec,
      Labels: { ...spec.Labels, [LABEL_CONFIG_HASH]: configHash },
      // On every task too: a task of the new spec is told from an old one by it.
      TaskTemplate: {
        ...spec.TaskTemplate,
        ContainerSpec: {
          ...container,
          Labels: { ...container.Labels, [LABEL_CONFIG_HASH]: configHash },
        },
      },
    },
  };
}

function health(url: string, startPeriodSeconds: number): NonNullable<
  ServiceSpec["TaskTemplate"]["ContainerSpec"]["Healthcheck"]
> {
  return {
    Test: ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", url],
    Interval: 1 * SECOND_NS,
    Timeout: 2 * SECOND_NS,
    // Three misses in a row after the start period: a never-healthy task
    // fails fast enough for Swarm's monitor to roll the update back.
    Retries: 3,
    StartPeriod: startPeriodSeconds * SECOND_NS,
  };
}

const TMP = { Type: "tmpfs" as const, Target: "/tmp", TmpfsOptions: { SizeBytes: TMPFS_BYTES } };

function restartCondition(policy: ResolvedManifest["services"]["restart_policy"]) {
  return policy === "no"
    ? "none" as const
    : policy === "on-failure"
    ? "on-failure" as const
    : "any" as const;
}

/** The resolved swarm settings; `parseManifest` always sets them. */
function swarmSpec(manifest: ResolvedManifest): NonNullable<ResolvedManifest["swarm"]> {
  if (manifest.swarm === undefined) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot plan project "${manifest.project}" on a swarm: its manifest has no resolved swarm settings`,
    );
  }
  return manifest.swarm;
}

/**
 * A task's caps from the resolved hardening (issue 17), as the engine
 * target's HostConfig gets them (cli/plan's `hardenedHost`): the log driver
 * with `logs.containers`' `max-size`/`max-file`, and `resources.<role>`'s
 * memory (bytes), CPU (billionths) and process limits as Swarm's
 * `Resources.Limits`. Swarm's API has no memory+swap setting (the engine
 * target sets MemorySwap to the memory): where the host has swap, a task
 * may swap by the engine's default allowance. Fresh objects each call.
 */
export function taskCaps(
  hardening: HardeningSpec,
  role: SwarmRole,
): Pick<ServiceSpec["TaskTemplate"], "Resources" | "LogDriver"> {
  const logs = hardening.container_logs;
  const caps = hardening.resources[role];
  return {
    Resources: {
      Limits: { MemoryBytes: caps.memory_bytes, NanoCPUs: caps.nano_cpus, Pids: caps.pids },
    },
    LogDriver: {
      Name: logs.driver,
      Options: { "max-size": logs.max_size, "max-file": String(logs.max_files) },
    },
  };
}

/** The manifest's update settings as Swarm's UpdateConfig (nanoseconds). */
export function updateConfig(manifest: ResolvedManifest): UpdateConfig {
  const u = swarmSpec(manifest).update;
  return {
    Parallelism: u.parallelism,
    Delay: u.delay_seconds * SECOND_NS,
    FailureAction: u.failure_action,
    Monitor: u.monitor_seconds * SECOND_NS,
    MaxFailureRatio: 0,
    Order: u.order,
  };
}

/** One task at a time, stopped before its replacement starts: for services bound to one node's port or socket. */
const ONE_AT_A_TIME: UpdateConfig = {
  Parallelism: 1,
  Delay: 0,
  FailureAction: "rollback",
  Monitor: 5 * SECOND_NS,
  MaxFailureRatio: 0,
  Order: "stop-first",
};

/** Plans the swarm stack of a manifest. */
export function planSwarm(input: SwarmPlanInput): SwarmPlan {
  const m = input.manifest;
  const { project } = m;
  const swarm = swarmSpec(m);
  const hardening = hardeningSpec(m);
  const version = m.services.version;
  const onManager = [`node.role == manager`, `node.id == ${input.managerNodeId}`];

  const config = (file: string, data: string): ConfigPlan => ({
    name: configName(project, file, data),
    file,
    data,
    labels: { ...labels(project, "config"), [LABEL_FILE]: file },
  });
  const nginxConf = config("nginx.conf", input.nginxConf);
  const policyData = config(POLICY_DATA_FILE, input.policyData);
  const policies = input.policies.toSorted((a, b) => a.path.localeCompare(b.path)).map((p) =>
    config(`policies/${p.path}`, p.content)
  );
  const mount = (c: ConfigPlan, target: string, user: string) => {
    const [uid = "0", gid = "0"] = user.split(":");
    return {
      File: { Name: target, UID: uid, GID: gid, Mode: 0o444 },
      ConfigID: "",
      ConfigName: c.name,
    };
  };

  const opa = hashed("opa", {
    Name: `${project}-opa`,
    Labels: { ...labels(project, "opa"), [LABEL_VERSION]: version },
    TaskTemplate: {
      ContainerSpec: {
        Image: input.images.opa,
        Labels: labels(project, "opa"),
        Args: [
          "run",
          "--server",
          // Its own loopback (the healthcheck) and the socket: no other listener.
          `--addr=127.0.0.1:${OPA_CONTAINER_PORT}`,
          `--addr=unix://${OPA_SOCKET_DIR}/${OPA_SOCKET_NAME}`,
          "--unix-socket-perm=700",
          "--log-level=error",
          OPA_POLICIES_DIR,
          `${OPA_DATA_DIR}/${POLICY_DATA_FILE}`,
        ],
        User: CONTAINER_USERS.opa,
        ReadOnly: true,
        CapabilityDrop: ["ALL"],
        Mounts: [
          { Type: "bind", Source: input.opaSocketDir, Target: OPA_SOCKET_DIR },
          { ...TMP, TmpfsOptions: { ...TMP.TmpfsOptions } },
        ],
        Healthcheck: {
          Test: [
            "CMD",
            "/opa",
            "eval",
            "--fail",
            `http.send({"method": "get", "url": "http://127.0.0.1:${OPA_CONTAINER_PORT}/health", "timeout": "2s"}).status_code == 200`,
          ],
          Interval: 1 * SECOND_NS,
          Timeout: 3 * SECOND_NS,
          Retries: 3,
          StartPeriod: 10 * SECOND_NS,
        },
        Configs: [
          mount(policyData, `${OPA_DATA_DIR}/${POLICY_DATA_FILE}`, CONTAINER_USERS.opa),
          ...policies.map((p) =>
            mount(p, `${OPA_POLICIES_DIR}/${p.file.slice("policies/".length)}`, CONTAINER_USERS.opa)
          ),
        ],
      },
      RestartPolicy: { Condition: "any", Delay: 1 * SECOND_NS },
      Placement: { Constraints: onManager },
      ...taskCaps(hardening, "opa"),
    },
    Mode: { Replicated: { Replicas: 1 } },
    // One socket path on one host: the old OPA stops before the new one binds it.
    UpdateConfig: { ...ONE_AT_A_TIME },
    RollbackConfig: { ...ONE_AT_A_TIME, FailureAction: "pause" },
    EndpointSpec: { Mode: "dnsrr" },
  });

  const network = m.network.name;
  const appPort = m.services.port;
  const update = updateConfig(m);
  const app = hashed("app", {
    Name: appServiceName(project),
    Labels: { ...labels(project, "app"), [LABEL_VERSION]: version },
    TaskTemplate: {
      ContainerSpec: {
        Image: input.images.app,
        Labels: { ...labels(project, "app"), [LABEL_VERSION]: version },
        Env: [
          `MODE=${m.services.mode}`,
          `APP_VERSION=${version}`,
          `APP_PORT=${appPort}`,
          `SHUTDOWN_TIMEOUT_SECONDS=${APP_SHUTDOWN_TIMEOUT_SECONDS}`,
        ],
        User: CONTAINER_USERS.app,
        ReadOnly: true,
        CapabilityDrop: ["ALL"],
        Mounts: [{ ...TMP, TmpfsOptions: { ...TMP.TmpfsOptions } }],
        // In-flight requests drain on SIGTERM, then a margin before SIGKILL.
        StopGracePeriod: (APP_SHUTDOWN_TIMEOUT_SECONDS + 5) * SECOND_NS,
        Healthcheck: health(`http://127.0.0.1:${appPort}/healthz`, 10),
      },
      RestartPolicy: { Condition: restartCondition(m.services.restart_policy), Delay: SECOND_NS },
      Placement: {
        Constraints: [...swarm.placement.constraints],
        ...(swarm.placement.spread === null
          ? {}
          : { Preferences: [{ Spread: { SpreadDescriptor: swarm.placement.spread } }] }),
      },
      Networks: [{ Target: network }],
      ...taskCaps(hardening, "app"),
    },
    Mode: { Replicated: { Replicas: swarm.replicas } },
    UpdateConfig: update,
    // A rollback goes back the same way, and stops where it fails.
    RollbackConfig: { ...update, FailureAction: "pause" },
    // No VIP: nginx resolves tasks.<project>-app (works without IPVS).
    EndpointSpec: { Mode: "dnsrr" },
  });

  const nginxPort = m.nginx.port;
  const nginx = hashed("nginx", {
    Name: `${project}-nginx`,
    Labels: { ...labels(project, "nginx"), [LABEL_VERSION]: version },
    TaskTemplate: {
      ContainerSpec: {
        Image: input.images.nginx,
        Labels: labels(project, "nginx"),
        Args: ["nginx", "-c", NGINX_CONFIG_FILE, "-e", "stderr", "-g", "daemon off;"],
        User: CONTAINER_USERS.nginx,
        ReadOnly: true,
        CapabilityDrop: ["ALL"],
        Mounts: [
          // The admin socket (edge counters), for the CLI on the manager only.
          { Type: "bind", Source: input.nginxAdminDir, Target: NGINX_ADMIN_DIR },
          { ...TMP, TmpfsOptions: { ...TMP.TmpfsOptions } },
        ],
        StopGracePeriod: 5 * SECOND_NS,
        Healthcheck: health(`http://127.0.0.1:${NGINX_HEALTH_PORT}/nginx-health`, 5),
        Configs: [mount(nginxConf, NGINX_CONFIG_FILE, CONTAINER_USERS.nginx)],
      },
      RestartPolicy: { Condition: "any", Delay: SECOND_NS },
      Placement: { Constraints: onManager },
      Networks: [{ Target: network }],
      ...taskCaps(hardening, "nginx"),
    },
    Mode: { Replicated: { Replicas: 1 } },
    // A host-mode port admits one task per node: start-first would deadlock.
    UpdateConfig: { ...ONE_AT_A_TIME },
    RollbackConfig: { ...ONE_AT_A_TIME, FailureAction: "pause" },
    EndpointSpec: {
      Mode: "dnsrr",
      Ports: [{
        Protocol: "tcp",
        TargetPort: nginxPort,
        PublishedPort: nginxPort,
        PublishMode: "host",
      }],
    },
  });

  return {
    project,
    network: {
      name: network,
      body: {
        Name: network,
        Driver: "overlay",
        Attachable: false,
        CheckDuplicate: true,
        Labels: labels(project, "network"),
      },
    },
    configs: [nginxConf, policyData, ...policies],
    services: [opa, app, nginx],
    opaSocketDir: input.opaSocketDir,
    nginxAdminDir: input.nginxAdminDir,
  };
}
