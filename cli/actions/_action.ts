/**
 * A change to the engine as data: named actions, each with the action that
 * undoes it. Containers are named, never referred to by id (ids exist only
 * once created), so a list can be computed, printed and compared before
 * anything runs.
 */
import type { ContainerCreateBody, NetworkCreateBody, VolumeCreateBody } from "../plan/mod.ts";
import type { Routes } from "../routing/mod.ts";

/** A routing table as an action carries it: the revision is drawn when it is applied. */
export type RouteTable = Omit<Routes, "revision">;

/** What a kept or written-to container is told after a file it reads changed. */
export type Notify = { container: string; how: "hup" | "restart" };

export type Action =
  /** Creates the project network (undo: remove it). */
  | { kind: "create-network"; name: string; body: NetworkCreateBody }
  | { kind: "remove-network"; name: string }
  /** Creates the logs volume (undo: remove it). */
  | { kind: "create-volume"; name: string; body: VolumeCreateBody }
  | { kind: "remove-volume"; name: string }
  /**
   * Writes a file atomically (undefined `content`: deletes it). The undo
   * writes the previous content back and then notifies the container.
   */
  | { kind: "write-file"; path: string; content: string | undefined; notify?: Notify }
  /** Leaves a running container as it is. */
  | { kind: "keep"; container: string; reason: string }
  /** Creates a container (undo: remove it, forced). */
  | { kind: "create"; container: string; body: ContainerCreateBody; reason: string }
  | { kind: "start"; container: string }
  /** Stops a container (a paused one is unpaused first); undo: start it again. */
  | { kind: "stop"; container: string; reason: string }
  /** Renames a container (undo: rename it back). */
  | { kind: "rename"; container: string; to: string }
  /** Waits until the container's healthcheck passes (within the deploy timeout). */
  | { kind: "wait-healthy"; container: string }
  /**
   * Connects a container to the project network with its endpoint (alias,
   * static address) and disconnects it from the default bridge.
   */
  | {
    kind: "join-network";
    container: string;
    network: string;
    alias: string;
    address: string | undefined;
  }
  /** Sends nginx SIGHUP: a graceful reload of its configuration. */
  | { kind: "reload"; container: string; reason: string }
  /**
   * Sets what nginx sends where (stable, canary and its weight) through its
   * admin socket, without a reload, and persists it beside nginx.conf so a
   * restarted nginx reads it back (cli/routing).
   */
  | { kind: "route"; table: RouteTable; reason: string }
  /** Restarts a kept container (OPA after its policy data changed). */
  | { kind: "restart"; container: string; reason: string }
  /**
   * GET /healthz through nginx until it reports this mode and version and
   * (when given) the instance id of the named app container.
   */
  | {
    kind: "confirm";
    mode: string;
    version: string;
    instanceOf: string;
    /** A request header pinning the request to a variant (the canary, while it has no weight). */
    pin?: { header: string; value: string };
  }
  /** The new stack serves: from here on nothing is undone. */
  | { kind: "commit" }
  /** Waits, e.g. for the old nginx workers to finish their requests. */
  | { kind: "settle"; ms: number; reason: string }
  /** Stops with SIGTERM (in-flight requests finish within `graceSeconds`) and removes. */
  | { kind: "drain"; container: string; graceSeconds: number }
  /** Removes a container that serves nothing (stopped, crashed, left by a killed run). */
  | { kind: "remove"; container: string; reason: string };

export type ActionKind = Action["kind"];

/** An action with the action that reverses it (absent: nothing to undo). */
export interface Step {
  action: Action;
  undo?: Action;
}

/** Kinds that change nothing on the engine or disk: a list of only these is a no-op. */
const READ_ONLY: ReadonlySet<ActionKind> = new Set(["keep", "wait-healthy", "confirm", "commit"]);

/** True when running `steps` would change the engine or a file. */
export function changesSomething(steps: readonly Step[]): boolean {
  return steps.some((s) => !READ_ONLY.has(s.action.kind));
}

/** One line per action, as `deploy --dry-run` prints it (no trailing newline). */
export function describeAction(a: Action): string {
  switch (a.kind) {
    case "create-network":
      return `create network "${a.name}"`;
    case "remove-network":
      return `remove network "${a.name}"`;
    case "create-volume":
      return `create volume "${a.name}"`;
    case "remove-volume":
      return `remove volume "${a.name}"`;
    case "write-file":
      return (a.content === undefined ? `delete ${a.path}` : `write ${a.path}`) +
        (a.notify ? ` (then ${a.notify.how} "${a.notify.container}")` : "");
    case "keep":
      return `keep "${a.container}": ${a.reason}`;
    case "create":
      return `create "${a.container}": ${a.reason}`;
    case "start":
      return `start "${a.container}"`;
    case "stop":
      return `stop "${a.container}": ${a.reason}`;
    case "rename":
      return `rename "${a.container}" to "${a.to}"`;
    case "wait-healthy":
      return `wait until "${a.container}" is healthy`;
    case "join-network":
      return `join "${a.container}" to network "${a.network}" as "${a.alias}"` +
        (a.address ? ` at ${a.address}` : "") + `, leave the default bridge`;
    case "reload":
      return `reload "${a.container}" gracefully: ${a.reason}`;
    case "route":
      return `route ${describeTable(a.table)} (no reload): ${a.reason}`;
    case "restart":
      return `restart "${a.container}": ${a.reason}`;
    case "confirm":
      return `confirm through nginx${
        a.pin ? ` with ${a.pin.header}: ${a.pin.value}` : ""
      }: /healthz reports mode "${a.mode}", version "${a.version}", instance of "${a.instanceOf}"`;
    case "commit":
      return "commit: the new stack serves, nothing below is undone";
    case "settle":
      return `wait ${a.ms} ms: ${a.reason}`;
    case "drain":
      return `drain "${a.container}": SIGTERM, up to ${a.graceSeconds} s for in-flight requests, then remove`;
    case "remove":
      return `remove "${a.container}": ${a.reason}`;
  }
}

/** `stable "<container>" (90 %), canary "<container>" (10 %)`: a table in one phrase. */
export function describeTable(t: RouteTable): string {
  if (!t.canary) return `all traffic to "${t.stable.container}" (${t.stable.address})`;
  return `stable "${t.stable.container}" (${
    100 - t.canary.weight
  } %), canary "${t.canary.container}" (${t.canary.weight} %)`;
}

/** The numbered list `--dry-run` prints, each undo beside its action. Ends with a newline. */
export function describeSteps(steps: readonly Step[]): string {
  if (!changesSomething(steps)) {
    return [
      "Nothing to do: the running stack already matches the manifest",
      ...steps.map((s, i) => `  ${i + 1}. ${describeAction(s.action)}`),
    ].join("\n") + "\n";
  }
  const lines = [`${steps.length} actions, in order (undone in reverse on failure):`];
  steps.forEach((s, i) => {
    lines.push(`  ${String(i + 1).padStart(2)}. ${describeAction(s.action)}`);
    if (s.undo) lines.push(`      undo: ${describeAction(s.undo)}`);
  });
  return lines.join("\n") + "\n";
}
