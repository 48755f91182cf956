/**
 * The Engine API shapes this project reads, as served from API 1.40 to 1.52
 * (fields an engine may leave out in that range are optional). The create bodies it
 * writes are the plan's (cli/plan), so what is planned is what is sent.
 */
export type { ContainerCreateBody, NetworkCreateBody, VolumeCreateBody } from "../plan/mod.ts";

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  State: string;
  Status: string;
  Labels: Record<string, string>;
}

export interface HealthLog {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    ExitCode: number;
    Error: string;
    StartedAt: string;
    /** The last exit (ISO 8601; "0001-01-01T00:00:00Z" when it never exited). */
    FinishedAt?: string;
    /** The last exit was the memory cgroup's OOM kill (Docker keeps it after a restart). */
    OOMKilled?: boolean;
    Health?: { Status: string; FailingStreak: number; Log: HealthLog[] | null };
  };
  /** Restarts by the restart policy. */
  RestartCount?: number;
  Config: { Labels: Record<string, string>; Image: string; User: string; Env: string[] };
  HostConfig: {
    CapDrop: string[] | null;
    SecurityOpt: string[] | null;
    ReadonlyRootfs: boolean;
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null;
    /** Memory cap, bytes (0: none). */
    Memory?: number;
  };
  NetworkSettings: {
    Networks: Record<string, { IPAddress: string; Aliases: string[] | null }>;
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
  };
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[] | null;
  Size: number;
  /** From API 1.52 the engine omits unset fields (`User`, `Labels`…). */
  Config?: { User?: string; Labels?: Record<string, string> | null };
}

export interface NetworkSummary {
  Id: string;
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Containers?: Record<string, { Name: string }>;
  /** The address pools; `Config` is empty or null for a network without one. */
  IPAM?: { Config?: { Subnet?: string; IPRange?: string; Gateway?: string }[] | null };
}

export interface VolumeSummary {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string> | null;
}

/** One node of `GET /nodes` (the fields read here). */
export interface SwarmNode {
  ID: string;
  Spec: { Role: "manager" | "worker"; Availability: "active" | "pause" | "drain" };
  Description: { Hostname: string };
  Status: { State: "unknown" | "down" | "ready" | "disconnected"; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
}
