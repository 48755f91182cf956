/**
 * The Swarm part of the Engine API (`/swarm`, `/nodes`, `/services`,
 * `/tasks`, `/configs`, `/secrets`, overlay `/networks`), as typed calls on
 * `EngineClient.request` (its errors: not found, conflict, engine error).
 * Shapes are those of API 1.41 (Docker 20.10), the fields read here only.
 * Shell.
 */
import { type EngineClient, EngineNotFoundError, type NetworkSummary } from "../engine/mod.ts";

/** `GET /info`'s swarm part. */
export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  /** "inactive", "pending", "active", "error", "locked". */
  LocalNodeState: string;
  /** True on a manager. */
  ControlAvailable: boolean;
}

export interface SwarmNode {
  ID: string;
  Version: { Index: number };
  Spec: {
    Role: "manager" | "worker";
    Availability: "active" | "pause" | "drain";
    Labels?: Record<string, string>;
    Name?: string;
  };
  Description: { Hostname: string };
  Status: { State: string; Addr?: string };
}

/** A service spec as sent to `POST /services/create` and `…/update` (API 1.41). */
export interface ServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Labels?: Record<string, string>;
      Command?: string[];
      Args?: string[];
      Env?: string[];
      User?: string;
      ReadOnly?: boolean;
      CapabilityDrop?: string[];
      Mounts?: {
        Type: "bind" | "tmpfs" | "volume";
        Source?: string;
        Target: string;
        ReadOnly?: boolean;
        TmpfsOptions?: { SizeBytes?: number; Mode?: number };
      }[];
      StopGracePeriod?: number;
      Healthcheck?: {
        Test: string[];
        Interval: number;
        Timeout: number;
        Retries: number;
        StartPeriod?: number;
      };
      Configs?: {
        File: { Name: string; UID: string; GID: string; Mode: number };
        ConfigID: string;
        ConfigName: string;
      }[];
      Init?: boolean;
    };
    RestartPolicy?: { Condition: "none" | "on-failure" | "any"; Delay?: number };
    Placement?: {
      Constraints?: string[];
      Preferences?: { Spread: { SpreadDescriptor: string } }[];
    };
    Networks?: { Target: string; Aliases?: string[] }[];
    /** Each task's caps (API 1.41: `Pids` is new in it); the engine target's Memory/NanoCpus/PidsLimit. */
    Resources?: { Limits: { MemoryBytes: number; NanoCPUs: number; Pids: number } };
    /** Each task's log driver and its options (`max-size`, `max-file`). */
    LogDriver?: { Name: string; Options: Record<string, string> };
    /** Raised by a forced update. */
    ForceUpdate?: number;
  };
  Mode: { Replicated: { Replicas: number } };
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  EndpointSpec?: {
    Mode: "vip" | "dnsrr";
    Ports?: {
      Protocol: "tcp";
      TargetPort: number;
      PublishedPort: number;
      PublishMode: "host" | "ingress";
    }[];
  };
}

export interface UpdateConfig {
  Parallelism: number;
  /** Nanoseconds. */
  Delay: number;
  FailureAction: "continue" | "pause" | "rollback";
  /** Nanoseconds. */
  Monitor: number;
  MaxFailureRatio: number;
  Order: "stop-first" | "start-first";
}

export interface Service {
  ID: string;
  Version: { Index: number };
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  /** Absent until the first update. */
  UpdateStatus?: {
    /** updating, paused, completed, rollback_started, rollback_paused, rollback_completed */
    State: string;
    Message?: string;
    StartedAt?: string;
    CompletedAt?: string;
  };
}

export interface Task {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  Spec: ServiceSpec["TaskTemplate"];
  /** "running", "shutdown", … */
  DesiredState: string;
  Status: {
    Timestamp: string;
    /** new, pending, assigned, accepted, preparing, starting, running, complete, failed, shutdown, rejected, orphaned, remove */
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
  NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses?: string[] }[];
}

export interface SwarmConfig {
  ID: string;
  Spec: { Name: string; Labels?: Record<string, string> };
}

export interface SwarmSecret {
  ID: string;
  Spec: { Name: string; Labels?: Record<string, string> };
}

async function json<T>(engine: EngineClient, method: string, path: string, opts = {}): Promise<T> {
  const res = await engine.request(method, path, opts);
  if (res.status === 204 || res.status === 304) {
    await res.body?.cancel();
    return undefined as T;
  }
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

function labelFilter(labels: string[]): { filters: string } {
  return { filters: JSON.stringify({ label: labels }) };
}

/** Ignores "not found": removing what is already gone is done. */
async function removing(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof EngineNotFoundError)) throw error;
  }
}

/** The swarm state of the engine `GET /info` describes. */
export async function swarmInfo(engine: EngineClient): Promise<SwarmInfo> {
  const info = await json<{ Swarm?: Partial<SwarmInfo> }>(engine, "GET", "/info");
  const s = info.Swarm ?? {};
  return {
    NodeID: s.NodeID ?? "",
    NodeAddr: s.NodeAddr ?? "",
    LocalNodeState: s.LocalNodeState ?? "inactive",
    ControlAvailable: s.ControlAvailable ?? false,
  };
}

export function nodes(engine: EngineClient): Promise<SwarmNode[]> {
  return json(engine, "GET", "/nodes");
}

/** `POST /nodes/{id}/update`: the whole spec, at the node's current version. */
export async function nodeUpdate(
  engine: EngineClient,
  node: SwarmNode,
  spec: SwarmNode["Spec"],
): Promise<void> {
  await json(engine, "POST", `/nodes/${encodeURIComponent(node.ID)}/update`, {
    query: { version: node.Version.Index },
    json: spec,
  });
}

export function serviceList(engine: EngineClient, labels: string[]): Promise<Service[]> {
  return json(engine, "GET", "/services", { query: labelFilter(labels) });
}

export async function serviceInspect(
  engine: EngineClient,
  name: string,
): Promise<Service | undefined> {
  try {
    return await json<Service>(engine, "GET", `/services/${encodeURIComponent(name)}`);
  } catch (error) {
    if (error instanceof EngineNotFoundError) return undefined;
    throw error;
  }
}

export async function serviceCreate(engine: EngineClient, spec: ServiceSpec): Promise<string> {
  return (await json<{ ID: string }>(engine, "POST", "/services/create", { json: spec })).ID;
}

/** Replaces the spec of `service` (at the version it was read at: a concurrent change is a conflict). */
export async function serviceUpdate(
  engine: EngineClient,
  service: Service,
  spec: ServiceSpec,
): Promise<void> {
  await json(engine, "POST", `/services/${encodeURIComponent(service.ID)}/update`, {
    query: { version: service.Version.Index },
    json: spec,
  });
}

export function serviceRemove(engine: EngineClient, id: string): Promise<void> {
  return removing(json(engine, "DELETE", `/services/${encodeURIComponent(id)}`));
}

export function taskList(
  engine: EngineClient,
  filters: { service?: string[]; label?: string[]; "desired-state"?: string[]; node?: string[] },
): Promise<Task[]> {
  return json(engine, "GET", "/tasks", { query: { filters: JSON.stringify(filters) } });
}

export function configList(engine: EngineClient, labels: string[]): Promise<SwarmConfig[]> {
  return json(engine, "GET", "/configs", { query: labelFilter(labels) });
}

/** Creates a config; its data is sent base64-encoded, as the API wants. */
export async function configCreate(
  engine: EngineClient,
  name: string,
  data: string,
  labels: Record<string, string>,
): Promise<string> {
  const bytes = new TextEncoder().encode(data);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const body = { Name: name, Labels: labels, Data: btoa(binary) };
  return (await json<{ ID: string }>(engine, "POST", "/configs/create", { json: body })).ID;
}

export function configRemove(engine: EngineClient, id: string): Promise<void> {
  return removing(json(engine, "DELETE", `/configs/${encodeURIComponent(id)}`));
}

export function secretList(engine: EngineClient, labels: string[]): Promise<SwarmSecret[]> {
  return json(engine, "GET", "/secrets", { query: labelFilter(labels) });
}

export function secretRemove(engine: EngineClient, id: string): Promise<void> {
  return removing(json(engine, "DELETE", `/secrets/${encodeURIComponent(id)}`));
}

export function networkList(engine: EngineClient, labels: string[]): Promise<NetworkSummary[]> {
  return engine.networkList(labels);
}
