/**
 * The Engine API request bodies a plan holds (fields common to API 1.40–1.52): only the fields the
 * plan sets. Durations are nanoseconds, as the Engine API expects.
 */

export type Labels = Record<string, string>;

/** `Healthcheck` of POST /containers/create. */
export interface HealthcheckBody {
  Test: string[];
  /** Nanoseconds. */
  Interval: number;
  /** Nanoseconds. */
  Timeout: number;
  Retries: number;
  /** Nanoseconds; absent means the engine default (0). */
  StartPeriod?: number;
}

export interface PortBindingBody {
  HostIp: string;
  HostPort: string;
}

export interface RestartPolicyBody {
  Name: string;
  MaximumRetryCount: number;
}

/** `HostConfig` of POST /containers/create. */
export interface HostConfigBody {
  Binds?: string[];
  /** Keyed by `<port>/tcp`. */
  PortBindings?: Record<string, PortBindingBody[]>;
  CapDrop: string[];
  SecurityOpt: string[];
  ReadonlyRootfs: boolean;
  /** Mount point to mount options. */
  Tmpfs?: Record<string, string>;
  RestartPolicy: RestartPolicyBody;
  NetworkMode: string;
  /** The container's stdout/stderr log: driver and its options (`max-size`, `max-file`). */
  LogConfig: LogConfigBody;
  /** Memory cap, bytes. */
  Memory: number;
  /** Memory plus swap, bytes: equal to `Memory`, so the container never swaps. */
  MemorySwap: number;
  /** CPU cap in billionths of a CPU. */
  NanoCpus: number;
  /** Most processes and threads in the container's cgroup. */
  PidsLimit: number;
}

/** `LogConfig` of a HostConfig. */
export interface LogConfigBody {
  Type: string;
  Config: Record<string, string>;
}

export interface EndpointSettingsBody {
  Aliases: string[];
  /** A static address on a network with a configured subnet. */
  IPAMConfig?: { IPv4Address: string };
}

/** Body of POST /containers/create (the name goes in the `name` query parameter). */
export interface ContainerCreateBody {
  Image: string;
  Cmd?: string[];
  Env?: string[];
  User: string;
  Labels: Labels;
  /** Keyed by `<port>/tcp`; values are always `{}`. */
  ExposedPorts: Record<string, Record<string, never>>;
  Healthcheck: HealthcheckBody;
  HostConfig: HostConfigBody;
  NetworkingConfig?: {
    EndpointsConfig: Record<string, EndpointSettingsBody>;
  };
}

/** `IPAM` of POST /networks/create: one IPv4 pool. */
export interface IpamBody {
  Driver: "default";
  Config: { Subnet: string; IPRange: string; Gateway: string }[];
}

/** Body of POST /networks/create. */
export interface NetworkCreateBody {
  Name: string;
  Driver: string;
  CheckDuplicate: boolean;
  IPAM?: IpamBody;
  Labels: Labels;
}

/** Body of POST /volumes/create. */
export interface VolumeCreateBody {
  Name: string;
  Driver: string;
  Labels: Labels;
}
