/**
 * The manifest as the rest of the code sees it: every field resolved, every
 * default applied. `parseManifest` in this folder turns what the user wrote
 * into this shape (two passes: shape, then cross-field rules).
 */

export type Mode = "stable" | "canary";
export type RestartPolicy = "no" | "always" | "on-failure" | "unless-stopped";
export type NetworkDriver = "bridge";

export interface ResolvedManifest {
  /** Prefix and label value of every container, network and volume. */
  project: string;
  services: {
    image: string;
    port: number;
    mode: Mode;
    version: string;
    restart_policy: RestartPolicy;
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
}
