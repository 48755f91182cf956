/**
 * The manifest as the rest of the code sees it: every field resolved, every
 * default applied. `parseManifest` in this folder turns what the user wrote
 * into this shape (two passes: shape, then cross-field rules).
 */

export type Mode = "stable" | "canary";
export type RestartPolicy = "no" | "always" | "on-failure" | "unless-stopped";
export type NetworkDriver = "bridge";
/** Where the stack runs: one Docker Engine (containers) or a Docker Swarm (services). */
export type Target = "engine" | "swarm";
export type UpdateFailureAction = "rollback" | "pause";
export type UpdateOrder = "start-first" | "stop-first";

/**
 * How the app runs on `target: swarm` (issue 14): `services.replicas`,
 * `services.placement` and `services.update` as resolved.
 */
export interface SwarmSpec {
  /** Tasks of the app service, at least 1 (more than 1 only on a swarm). */
  replicas: number;
  placement: {
    /** Swarm constraints as written, e.g. "node.role == worker"; empty: any node. */
    constraints: string[];
    /** A node attribute to spread the tasks over ("node.hostname"), or null. */
    spread: string | null;
  };
  /** Swarm's UpdateConfig of the app; the same values roll it back. */
  update: {
    /** Tasks updated at once, at least 1. */
    parallelism: number;
    /** Seconds between batches. */
    delay_seconds: number;
    /** Seconds each new task is watched for a failure after it is updated. */
    monitor_seconds: number;
    failure_action: UpdateFailureAction;
    order: UpdateOrder;
  };
}

/**
 * Where `swiftdeploy build` pushes the images when they must reach many nodes
 * (issue 14): the `registry` section as resolved. Credentials are never held
 * here, only where to find them: the password is read from `password_env` or
 * `password_file` at push time and goes to the engine alone.
 */
/**
 * `services.source` (issue 16): the git repository the app image is built
 * from by `deploy --ref` and by webhook deploys (`swiftdeploy serve`).
 */
export interface SourceSpec {
  /** A git URL, or the path (relative: to the manifest's folder) of a local repository. */
  repo: string;
  /** The branch whose pushes the webhook deploys (default "main"). */
  branch: string;
  /** The service's entry point inside the repository, bundled by `deno bundle` (default "service/main.ts"). */
  entry: string;
  /** Name of the environment variable holding the webhook's HMAC secret. */
  secret_env: string | null;
  /** File holding the webhook's HMAC secret (relative: to the manifest's folder). */
  secret_file: string | null;
}

export interface RegistrySpec {
  /** `host[:port]` of a Distribution v2 registry; null: the lab's (`swiftdeploy lab up`). */
  address: string | null;
  /** Speak plain HTTP to it (the engine must list it as insecure too; 127.0.0.0/8 always is). */
  insecure: boolean;
  /** User name for the registry's basic or token auth; null: anonymous. */
  username: string | null;
  /** Name of an environment variable that holds the password. */
  password_env: string | null;
  /** Path of a file that holds the password (relative: to the manifest's folder). */
  password_file: string | null;
}

export interface ResolvedManifest {
  /** Prefix and label value of every container, network and volume. */
  project: string;
  /**
   * Always set by `parseManifest` ("engine" when not written). Optional in
   * the type only so that manifests built by hand for the engine target
   * (tests) need not name it: absent means "engine".
   */
  target?: Target;
  /**
   * Always set by `parseManifest` (see `defaultSwarm`); absent means the
   * defaults. Read it through `swarmSpec(manifest)`.
   */
  swarm?: SwarmSpec;
  /**
   * Always set by `parseManifest` (see `defaultRegistry`); absent means the
   * defaults. Read it through `registrySpec(manifest)`.
   */
  registry?: RegistrySpec;
  /**
   * Always set by `parseManifest` (issue 17: `nginx.private_sources`,
   * `logs.containers`, `logs.nginx`, `resources`); absent means the
   * defaults. Read it through `hardeningSpec(manifest)`.
   */
  hardening?: HardeningSpec;
  services: {
    image: string;
    port: number;
    mode: Mode;
    version: string;
    restart_policy: RestartPolicy;
    /** Where the app's source lives (issue 16): absent when not written. */
    source?: SourceSpec | null;
  };
  nginx: {
    image: string;
    port: number;
    /** Seconds. */
    proxy_timeout: number;
    contact: string;
  };
  opa: {
    image: string;
    port: number;
    decision_timeout_seconds: number;
  };
  network: {
    name: string;
    driver_type: NetworkDriver;
  };
  logs: {
    volume_name: string;
  };
  policy_limits: {
    infrastructure: {
      min_disk_free_gb: number;
      max_cpu_load: number;
      min_mem_free_percent: number;
    };
    canary: {
      max_error_rate_percent: number;
      max_p99_latency_ms: number;
      window_seconds: number;
      min_requests: number;
    };
  };
  audit: {
    history_file: string;
    report_file: string;
  };
  /** How a changed app spec reaches users (issue 13). */
  rollout: RolloutSpec;
  /**
   * The declared environments in promotion order (issue 15), each its own
   * stack; absent when the manifest declares none (it then behaves as
   * before). See cli/manifest/_environments.ts.
   */
  environments?: EnvironmentSpec[];
  /**
   * The environment these values are for (`-e/--env`): set by
   * `selectEnvironment`, which overlays the environment's own values on the
   * shared ones. Absent for a manifest without environments.
   */
  environment?: string;
  /** Supply-chain rules of environment promotion; absent when not written. */
  promotion?: PromotionSpec;
  /** The optional Prometheus of the stack (issue 13 step 2). */
  prometheus: {
    enabled: boolean;
    image: string;
    /** Published on 127.0.0.1 only. */
    port: number;
    /** Seconds between scrapes. */
    scrape_interval_seconds: number;
  };
  /**
   * Release retention (issue 15): the last `retain` good releases' images
   * are never removed by SwiftDeploy (`releases prune` removes older ones).
   * Absent when not written: 5 (`DEFAULTS.releases`), so resolved manifests
   * of earlier releases and their goldens stay as they were.
   */
  releases?: { retain: number };
}

/** A declared change freeze of an environment: no promotion reaches it from `start` to `end`. */
export interface FreezeSpec {
  /** RFC 3339 in UTC as written, e.g. "2026-12-24T00:00:00Z". */
  start: string;
  end: string;
  /** The same instants as Unix seconds (the policy compares these). */
  start_s: number;
  end_s: number;
  reason: string;
}

/**
 * One environment of `environments`, resolved: the values it declares
 * itself, the shared ones (or their defaults) for the rest.
 */
export interface EnvironmentSpec {
  /** e.g. "dev", "staging", "prod"; its files live in `environments/<name>/`. */
  name: string;
  /** Project name of its stack (default `<project>-<name>`). */
  project: string;
  target: Target;
  nginx_port: number;
  opa_port: number;
  prometheus_port: number;
  /** `<project>-net` and `<project>-logs` of its own project. */
  network_name: string;
  volume_name: string;
  policy_limits: ResolvedManifest["policy_limits"];
  /** How long a release must run healthy here before it may go to the next environment, s. */
  soak_seconds: number;
  /** Production: images must be pinned by digest, never `:latest` (default: the last environment). */
  production: boolean;
  freezes: FreezeSpec[];
}

/** The `promotion` section: supply-chain rules every environment promotion is judged by. */
export interface PromotionSpec {
  /** Registries images may come from (`docker.io` for names without one). */
  allowed_registries: string[];
}

/** One step of a canary rollout, in Argo Rollouts' vocabulary. */
export type RolloutStep =
  /** Percent of traffic (0–100) sent to the new version from this step on. */
  | { weight: number }
  /** Wait this many seconds before the next step. */
  | { pause_seconds: number }
  /** Judge the canary against stable over a window (`window_seconds` overrides the default). */
  | { analysis: { window_seconds?: number } };

export type RolloutStrategy = "switch" | "canary";
export type AnalysisSource = "edge" | "prometheus";

export interface RolloutSpec {
  /** `switch` (default): health-gated full switch. `canary`: walk `steps`. */
  strategy: RolloutStrategy;
  /** Ordered; 100 % is implied after the last one. Empty for `switch`. */
  steps: RolloutStep[];
  analysis: {
    /** Where per-variant figures come from: nginx's edge counters (default) or Prometheus. */
    source: AnalysisSource;
    /** Default window of an analysis step, seconds. */
    window_seconds: number;
    /** Fewer requests than this for a variant in the window: inconclusive (hold). */
    min_requests: number;
    /** Absolute limits on the canary. */
    max_error_rate_percent: number;
    max_p99_latency_ms: number;
    /** Relative to stable: canary error rate at most stable's plus this many points. */
    max_error_rate_increase_points: number;
    /** Relative to stable: canary P99 at most this many times stable's. */
    max_p99_ratio: number;
    /**
     * The ratio is judged only for a canary P99 above this, ms: at a few
     * milliseconds the buckets are coarse and a fresh process's first
     * requests dominate (measured: a healthy new container's 5 ms against
     * stable's 1 ms).
     */
    p99_ratio_floor_ms: number;
    /** Failed analyses tolerated before a rollback (Argo's failureLimit). */
    failure_limit: number;
    /** Inconclusive analyses tolerated before a rollback (Argo's inconclusiveLimit). */
    inconclusive_limit: number;
  };
  routing: {
    /** A request with this header set to `always`/`canary` goes to the canary, `never`/`stable` to stable. */
    header: string;
    /** When set, a cookie of this name keeps one client on one variant while the weight holds. */
    sticky_cookie: string | null;
  };
}

/** A manifest read from disk: the resolved values plus what is needed to edit it safely. */
export interface LoadedManifest {
  /** Absolute path of the manifest file. */
  path: string;
  /** Absolute directory holding the manifest; generated files live here. */
  dir: string;
  /** The exact text that was parsed. */
  text: string;
  /** sha256 hex of `text`. */
  hash: string;
  manifest: ResolvedManifest;
  /** The environment selected (`-e/--env`); `dir` is then `environments/<name>/` beside the manifest. */
  environment?: string;
}

/** The containers `resources` caps (issue 17). */
export type ResourceRole = "app" | "nginx" | "opa" | "prometheus";

/** One container's caps: the Engine API's HostConfig Memory, NanoCpus and PidsLimit. */
export interface ContainerResources {
  /** As written, e.g. "256m". */
  memory: string;
  /** Bytes (binary units); also the memory+swap cap, so the container never swaps. */
  memory_bytes: number;
  /** Billionths of a CPU. */
  nano_cpus: number;
  /** Processes and threads in the container's cgroup. */
  pids: number;
}

/** Issue 17's settings as resolved (see cli/manifest/hardening.ts). */
export interface HardeningSpec {
  /** IPv4 addresses or CIDRs that may reach /chaos and /metrics through nginx besides the host. */
  private_sources: string[];
  /** Every container's log driver and its caps (Docker's `max-size`, `max-file`). */
  container_logs: { driver: "json-file" | "local"; max_size: string; max_files: number };
  /** nginx's access.log and error.log on the logs volume: rotated below the size, files kept. */
  nginx_logs: { max_size: string; max_size_bytes: number; max_files: number };
  resources: Record<ResourceRole, ContainerResources>;
}
