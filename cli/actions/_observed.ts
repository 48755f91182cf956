/**
 * What the engine and the host folders hold for one project, as plain data
 * read once (by cli/deploy's observer) before anything is decided.
 */

import type { Routes } from "../routing/mod.ts";

/** One container of the project, as `GET /containers/json` and `…/json` describe it. */
export interface ObservedContainer {
  id: string;
  /** Without the leading "/". */
  name: string;
  /** The `io.swiftdeploy.role` label ("app", "nginx", "opa"; "" if missing). */
  role: string;
  /** Engine state: "running", "paused", "exited", "created", "restarting", "dead". */
  state: string;
  /** Healthcheck status: "healthy", "unhealthy", "starting", or "none" without a check. */
  health: string;
  /** The `io.swiftdeploy.config-hash` label. */
  configHash: string | undefined;
  /** Image id (`sha256:…`) the container runs. */
  imageId: string;
  /** Network name → the container's IPv4 address on it ("" while it has none). */
  networks: Record<string, string>;
}

/** A network or volume found under the plan's name. */
export interface ObservedObject {
  name: string;
  /** Its `io.swiftdeploy.project` label; undefined when it has none. */
  project: string | undefined;
  /** Networks only: the IPv4 subnet of its IPAM config, when it has one. */
  subnet?: string;
  /** Networks only: the dynamic range (`IPRange`) of that IPAM config, when it has one. */
  ipRange?: string;
}

export interface ObservedState {
  network: ObservedObject | undefined;
  volume: ObservedObject | undefined;
  /** Every container labelled with the project, in any state. */
  containers: ObservedContainer[];
  /** Image reference (as the plan names it) → local image id; undefined when absent. */
  imageIds: Record<string, string | undefined>;
  /** Absolute path → content of the files the containers read; undefined when absent. */
  files: Record<string, string | undefined>;
  /**
   * The routing table persisted beside nginx.conf (`file`) and the one nginx
   * holds now (`nginx`, absent when nginx does not run or cannot be read).
   */
  routes?: { file?: Routes; nginx?: Routes };
  /** IPv4 subnets of the engine's other networks (the project network's is not among them). */
  takenSubnets: string[];
}

/** Running, not paused, and not failing its healthcheck: a container that can serve. */
export function canServe(c: ObservedContainer): boolean {
  return c.state === "running" && c.health !== "unhealthy";
}
