/** The Engine API v1.41 shapes this project uses (only the fields it reads or writes). */

export interface HealthConfig {
  Test: string[];
  /** Nanoseconds. */
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

export interface ContainerCreateBody {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  User?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  Healthcheck?: HealthConfig;
  StopSignal?: string;
  StopTimeout?: number;
  HostConfig?: {
    Binds?: string[];
    PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
    CapDrop?: string[];
    SecurityOpt?: string[];
    ReadonlyRootfs?: boolean;
    Tmpfs?: Record<string, string>;
    RestartPolicy?: { Name: string; MaximumRetryCount?: number };
    NetworkMode?: string;
    Mounts?: { Type: string; Source: string; Target: string; ReadOnly?: boolean }[];
  };
  NetworkingConfig?: {
    EndpointsConfig?: Record<string, { Aliases?: string[] }>;
  };
}

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
    Health?: { Status: string; FailingStreak: number; Log: HealthLog[] | null };
  };
  Config: { Labels: Record<string, string>; Image: string; User: string; Env: string[] };
  HostConfig: {
    CapDrop: string[] | null;
    SecurityOpt: string[] | null;
    ReadonlyRootfs: boolean;
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null;
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
  Config: { User: string; Labels: Record<string, string> | null };
}

export interface NetworkCreateBody {
  Name: string;
  Driver: string;
  CheckDuplicate?: boolean;
  Labels?: Record<string, string>;
  Attachable?: boolean;
}

export interface NetworkSummary {
  Id: string;
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Containers?: Record<string, { Name: string }>;
}

export interface VolumeCreateBody {
  Name: string;
  Driver?: string;
  Labels?: Record<string, string>;
}

export interface VolumeSummary {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string> | null;
}
