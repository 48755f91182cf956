/**
 * The diff: from the desired plan and the observed state to the ordered
 * steps that make the engine match, each with its undo. Pure: no I/O, no
 * clock, no randomness; the same inputs always give the same steps.
 *
 * The order follows the stack's dependencies and Kamal's boot:
 *   1. network and volume, created if missing;
 *   2. OPA: kept (restarted when its policy data changed), else replaced;
 *   3. app: kept when it matches and can serve, else a new one starts
 *      beside the old one off the project network, becomes healthy, joins;
 *   4. nginx: its new configuration and a graceful reload, or replaced;
 *   5. Prometheus (when enabled): its files, then kept, or replaced;
 *   6. confirm through nginx, commit;
 *   7. drain the old app, remove what was set aside, take the app's name.
 * nginx and OPA publish fixed host ports, so two cannot run at once: the
 * old one is stopped and set aside (`-old`), the new one started, and the
 * undo starts the old one again under its name.
 */
import { SwiftDeployError } from "../errors/mod.ts";
import {
  type Addressing,
  addressingOf,
  type AppScrapeTarget,
  appSlots,
  appTargetsJson,
  chooseSubnet,
  type ContainerCreateBody,
  type ContainerPlan,
  type ContainerRole,
  NGINX_CONFIG_FILE,
  POLICY_DATA_FILE,
  type StackPlan,
} from "../plan/mod.ts";
import type { RouteTarget } from "../routing/mod.ts";
import type { Action, RouteTable, Step } from "./_action.ts";
import { canServe, type ObservedContainer, type ObservedState } from "./_observed.ts";

/** What the stack should be: the plan and the content of the files its containers read. */
export interface DesiredStack {
  plan: StackPlan;
  /** The rendered nginx.conf. */
  nginxConf: string;
  /** The rendered policy_data.json. */
  policyData: string;
  /** What /healthz through nginx must report once traffic is switched. */
  expect: { mode: string; version: string };
  /** The port the app listens on (its route is `<static address>:<port>`). */
  appPort: number;
  /**
   * How the new app takes traffic. `switch` (the default): all of it once it
   * is healthy, the old app drains. `canary`: it joins beside `stable`, which
   * keeps serving everything (weight 0); the rollout controller moves the
   * weight. Requests carrying `header: always` reach it for the confirmation.
   */
  release?: { kind: "switch" } | { kind: "canary"; stable: RouteTarget; header: string };
}

/** Seconds an old app gets to finish its in-flight requests after SIGTERM. */
export const DRAIN_GRACE_SECONDS = 15;
/** Milliseconds the old nginx workers get to finish their requests after a reload. */
export const RELOAD_SETTLE_MS = 1000;

/** Where the file the OPA container reads lives on the host. */
export function policyDataPath(plan: StackPlan): string {
  return `${plan.hostDirs.opaDataDir}/${POLICY_DATA_FILE}`;
}

/** Where the file nginx reads lives on the host. */
export function nginxConfPath(plan: StackPlan): string {
  const file = NGINX_CONFIG_FILE.slice(NGINX_CONFIG_FILE.lastIndexOf("/") + 1);
  return `${plan.hostDirs.nginxConfigDir}/${file}`;
}

/** The policy data without its `_generated` note (the manifest hash), for comparison. */
function policyDataOf(text: string): string {
  try {
    const { _generated: _note, ...data } = JSON.parse(text) as Record<string, unknown>;
    return JSON.stringify(data);
  } catch {
    return text;
  }
}

/** True when two routing tables send the same traffic to the same containers. */
export function sameTable(a: RouteTable | undefined, b: RouteTable | undefined): boolean {
  if (!a || !b) return a === b;
  const key = (t: RouteTable) =>
    JSON.stringify([
      t.stable.address,
      t.stable.version,
      t.stable.container,
      t.canary?.address,
      t.canary?.version,
      t.canary?.container,
      t.canary?.weight,
    ]);
  return key(a) === key(b);
}

/** nginx.conf without comment lines (the header names the manifest's hash): what a reload changes. */
function nginxBody(text: string): string {
  return text.split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n");
}

/**
 * The app variants a routing table names, as Prometheus's apps.json lists
 * them (stable, and the canary whatever its weight: it serves pinned
 * requests at 0 %). Addresses are the table's `IPv4:port`.
 */
export function appScrapeTargets(table: RouteTable): AppScrapeTarget[] {
  const targets: AppScrapeTarget[] = [
    { address: table.stable.address, variant: "stable", version: table.stable.version },
  ];
  if (table.canary) {
    targets.push({
      address: table.canary.address,
      variant: "canary",
      version: table.canary.version,
    });
  }
  return targets;
}

/** The app's static address on the project network, when the plan gives one. */
export function plannedAddress(plan: StackPlan, body: ContainerCreateBody): string | undefined {
  const endpoint = body.NetworkingConfig?.EndpointsConfig?.[plan.network.name] as
    | { IPAMConfig?: { IPv4Address?: string } }
    | undefined;
  return endpoint?.IPAMConfig?.IPv4Address;
}

/** The app body as it is created: on the default bridge only, where nothing routes to it. */
export function stagedBody(body: ContainerCreateBody): ContainerCreateBody {
  const { NetworkingConfig: _networking, ...rest } = body;
  return { ...rest, HostConfig: { ...rest.HostConfig, NetworkMode: "bridge" } };
}

/**
 * The steps from `observed` to `desired`. Throws ENGINE_CONFLICT when the
 * network or volume belongs to another project, DEPLOY_FAILED when an image
 * is missing.
 */
export function diffStack(desired: DesiredStack, observed: ObservedState): Step[] {
  const { plan } = desired;
  const before: Step[] = [];
  const after: Step[] = [];
  /** Removals of the nginx/OPA set aside: last, once the old app is drained. */
  const asides: Step[] = [];
  const add = (list: Step[], action: Action, undo?: Action) =>
    list.push(undo ? { action, undo } : { action });
  const byName = new Map(observed.containers.map((c) => [c.name, c]));
  const ofRole = (role: ContainerRole) => observed.containers.filter((c) => c.role === role);
  const planOf = (role: ContainerRole) => plan.containers.find((c) => c.role === role)!;
  const imageOf = (p: ContainerPlan) => {
    const id = observed.imageIds[p.body.Image];
    if (!id) {
      throw new SwiftDeployError(
        "DEPLOY_FAILED",
        `Cannot deploy: image "${p.body.Image}" does not exist locally`,
        { hint: "run `./swiftdeploy build` (no registry is needed)" },
      );
    }
    return id;
  };
  /** The named container, when it has the role, matches the plan and can serve. */
  const usable = (name: string, p: ContainerPlan): ObservedContainer | undefined => {
    const c = byName.get(name);
    return c && c.role === p.role && canServe(c) && c.configHash === p.configHash &&
        c.imageId === imageOf(p)
      ? c
      : undefined;
  };
  const mismatch = (c: ObservedContainer, p: ContainerPlan): string => {
    if (c.state !== "running") return `it is ${c.state}`;
    if (c.health === "unhealthy") return "it is unhealthy";
    if (c.imageId !== imageOf(p)) return "its image was rebuilt";
    if (c.configHash !== p.configHash) return "its configuration changed";
    if (!atPlannedAddress(c, p)) return "it is not at its planned address";
    return "its configuration changed";
  };
  /**
   * nginx and Prometheus with a planned static address must hold it: the
   * address is outside the config hash, and a scrape target or an allow
   * rule names it. (The app's slot is chosen from where the kept one is.)
   */
  const atPlannedAddress = (c: ObservedContainer, p: ContainerPlan): boolean => {
    const want = p.role === "app" ? undefined : plannedAddress(plan, p.body);
    return want === undefined || c.networks[plan.network.name] === want;
  };

  // Every image must exist before anything changes.
  for (const p of plan.containers) imageOf(p);

  // 1. network and volume
  for (
    const [kind, found, name] of [
      ["network", observed.network, plan.network.name],
      ["volume", observed.volume, plan.volume.name],
    ] as const
  ) {
    if (found && found.project !== plan.project) {
      throw new SwiftDeployError(
        "ENGINE_CONFLICT",
        `Cannot use ${kind} "${name}": it exists and does not belong to project "${plan.project}"`,
      );
    }
  }
  if (!observed.network) {
    add(
      before,
      { kind: "create-network", name: plan.network.name, body: plan.network.body },
      { kind: "remove-network", name: plan.network.name },
    );
  }
  if (!observed.volume) {
    add(
      before,
      { kind: "create-volume", name: plan.volume.name, body: plan.volume.body },
      { kind: "remove-volume", name: plan.volume.name },
    );
  }

  /**
   * A container with a fixed host port (nginx, OPA) replaced: leftovers of
   * its role are cleared, the running one is stopped and set aside, the new
   * one created under the plan's name; after the commit the old one goes.
   */
  const replaceFixed = (p: ContainerPlan) => {
    const aside = `${p.name}-old`;
    const current = byName.get(p.name);
    for (const c of ofRole(p.role)) {
      if (c === current) continue;
      if (!current && c.name === aside && (c.state === "running" || c.state === "paused")) {
        // A killed run set the serving one aside and never made its successor: it is
        // what serves now. Stop it with an undo that starts it again; remove it after
        // the commit, as a replaced one.
        add(before, { kind: "stop", container: aside, reason: "set aside by an interrupted run" }, {
          kind: "start",
          container: aside,
        });
        add(asides, { kind: "remove", container: aside, reason: "replaced" });
        continue;
      }
      // A leftover (an "-old" one a killed run set aside): it may hold the port.
      if (c.state === "running" || c.state === "paused" || c.state === "restarting") {
        add(before, { kind: "stop", container: c.name, reason: "left by an interrupted run" });
      }
      add(before, { kind: "remove", container: c.name, reason: "left by an interrupted run" });
    }
    if (current) {
      const why = mismatch(current, p);
      if (current.state === "exited" || current.state === "created" || current.state === "dead") {
        add(before, { kind: "remove", container: p.name, reason: why });
      } else {
        add(before, { kind: "stop", container: p.name, reason: `${why}; replaced` }, {
          kind: "start",
          container: p.name,
        });
        add(before, { kind: "rename", container: p.name, to: aside }, {
          kind: "rename",
          container: aside,
          to: p.name,
        });
        add(asides, { kind: "remove", container: aside, reason: "replaced" });
      }
    }
    add(
      before,
      {
        kind: "create",
        container: p.name,
        body: p.body,
        reason: current ? "replaces the old one" : "none runs",
      },
      { kind: "remove", container: p.name, reason: "rolled back" },
    );
    add(before, { kind: "start", container: p.name });
    add(before, { kind: "wait-healthy", container: p.name });
  };

  // 2. OPA and its policy data
  const opa = planOf("opa");
  const dataPath = policyDataPath(plan);
  const oldData = observed.files[dataPath];
  const keepOpa = usable(opa.name, opa);
  if (oldData !== desired.policyData) {
    add(
      before,
      { kind: "write-file", path: dataPath, content: desired.policyData },
      {
        kind: "write-file",
        path: dataPath,
        content: oldData,
        // Whichever OPA runs when this undo comes (the kept one, or the old one an
        // earlier undo started again) loads its data only at start: restart it.
        notify: { container: opa.name, how: "restart" as const },
      },
    );
  }
  if (keepOpa) {
    add(before, { kind: "keep", container: opa.name, reason: "matches the plan" });
    if (oldData !== undefined && policyDataOf(oldData) !== policyDataOf(desired.policyData)) {
      add(before, { kind: "restart", container: opa.name, reason: "its policy data changed" });
    }
    add(before, { kind: "wait-healthy", container: opa.name });
  } else {
    replaceFixed(opa);
  }

  // 3. app: start beside, healthy, join
  const app = planOf("app");
  const next = `${app.name}-next`;
  const address = plannedAddress(plan, app.body);
  const removedEarly = new Set<string>();
  let target: string;
  const keepApp = usable(app.name, app) ?? usable(next, app);
  if (keepApp) {
    target = keepApp.name;
    add(before, {
      kind: "keep",
      container: target,
      reason: target === app.name ? "matches the plan" : "warmed up by an interrupted run",
    });
    add(before, { kind: "wait-healthy", container: target });
    const nets = Object.keys(keepApp.networks);
    const onAddress = address === undefined || keepApp.networks[plan.network.name] === address;
    if (!nets.includes(plan.network.name) || nets.includes("bridge") || !onAddress) {
      add(before, {
        kind: "join-network",
        container: target,
        network: plan.network.name,
        alias: app.name,
        address,
      });
    }
  } else {
    const current = byName.get(app.name);
    // A running one keeps its name while it serves; one that runs not is removed to free it.
    target = current && current.state !== "exited" && current.state !== "created" &&
        current.state !== "dead"
      ? next
      : app.name;
    for (const name of new Set([app.name, next])) {
      const c = byName.get(name);
      if (!c || (name === app.name && target === next)) continue;
      add(before, { kind: "remove", container: name, reason: `${mismatch(c, app)}; replaced` });
      removedEarly.add(name);
    }
    add(
      before,
      {
        kind: "create",
        container: target,
        body: stagedBody(app.body),
        reason: current
          ? `replaces "${current.name}" (${mismatch(current, app)}); off the network until healthy`
          : "off the network until healthy",
      },
      { kind: "remove", container: target, reason: "rolled back" },
    );
    add(before, { kind: "start", container: target });
    add(before, { kind: "wait-healthy", container: target });
    add(before, {
      kind: "join-network",
      container: target,
      network: plan.network.name,
      alias: app.name,
      address,
    });
  }
  const release = desired.release ?? { kind: "switch" as const };
  const keptStable = release.kind === "canary" ? release.stable.container : undefined;
  const oldApps = ofRole("app").filter((c) =>
    c.name !== target && !removedEarly.has(c.name) && c.name !== keptStable
  );

  // 3b. routes: nginx sends traffic to the new app through its admin socket, no reload
  if (address === undefined) {
    throw new SwiftDeployError("INTERNAL", "Cannot route to the app: the plan gives it no address");
  }
  const newTarget: RouteTarget = {
    address: `${address}:${desired.appPort}`,
    version: desired.expect.version,
    // The name it has once the switch is done (a "-next" one takes the app's name).
    container: app.name,
  };
  const table: RouteTable = release.kind === "canary"
    ? { stable: release.stable, canary: { ...newTarget, weight: 0 } }
    : { stable: newTarget };
  const previous = observed.routes?.file;
  let routed = false;
  if (!sameTable(previous, table) || !sameTable(observed.routes?.nginx, table)) {
    add(
      before,
      {
        kind: "route",
        table,
        reason: release.kind === "canary"
          ? `"${target}" joins as the canary with no traffic yet`
          : `traffic goes to "${target}"`,
      },
      previous
        ? { kind: "route", table: stripRevision(previous), reason: "rolled back" }
        : undefined,
    );
    routed = true;
  }

  // 4. nginx: the new configuration, a graceful reload (or a new nginx)
  const nginx = planOf("nginx");
  const confPath = nginxConfPath(plan);
  const oldConf = observed.files[confPath];
  const keptNginx = usable(nginx.name, nginx);
  const keepNginx = keptNginx && atPlannedAddress(keptNginx, nginx) ? keptNginx : undefined;
  const confChanged = oldConf === undefined || nginxBody(oldConf) !== nginxBody(desired.nginxConf);
  if (oldConf !== desired.nginxConf) {
    add(
      before,
      { kind: "write-file", path: confPath, content: desired.nginxConf },
      {
        kind: "write-file",
        path: confPath,
        content: oldConf,
        notify: { container: nginx.name, how: "hup" },
      },
    );
  }
  let switched = routed;
  if (keepNginx) {
    add(before, { kind: "keep", container: nginx.name, reason: "matches the plan" });
    if (confChanged) {
      add(before, { kind: "reload", container: nginx.name, reason: "its configuration changed" });
      switched = true;
    }
  } else {
    replaceFixed(nginx);
    switched = true;
  }

  // 5. Prometheus: its configuration and file_sd lists, then kept or replaced
  const prometheus = plan.containers.find((c) => c.role === "prometheus");
  const files = plan.prometheus;
  if (prometheus && files) {
    const oldConfig = observed.files[files.config.path];
    const writes: [path: string, content: string][] = [
      [files.config.path, files.config.content],
      [files.nginxTargets.path, files.nginxTargets.content],
    ];
    // The route action writes apps.json with the table; without one, it may still be stale.
    if (!routed) writes.push([files.appTargetsPath, appTargetsJson(appScrapeTargets(table))]);
    for (const [path, content] of writes) {
      const old = observed.files[path];
      if (old === content) continue;
      add(before, { kind: "write-file", path, content }, {
        kind: "write-file",
        path,
        content: old,
        // Whichever Prometheus runs then (a kept one, or the old one an undo started
        // again) reads prometheus.yml at start only; file_sd lists it re-reads itself.
        ...(path === files.config.path
          ? { notify: { container: prometheus.name, how: "restart" as const } }
          : {}),
      });
    }
    const keptProm = usable(prometheus.name, prometheus);
    if (keptProm && atPlannedAddress(keptProm, prometheus)) {
      add(before, { kind: "keep", container: prometheus.name, reason: "matches the plan" });
      if (oldConfig !== undefined && oldConfig !== files.config.content) {
        // Same hash, other bytes on disk (edited by hand): SIGHUP reloads Prometheus's config.
        add(before, {
          kind: "reload",
          container: prometheus.name,
          reason: "its configuration file was changed on disk",
        });
      }
      add(before, { kind: "wait-healthy", container: prometheus.name });
    } else {
      replaceFixed(prometheus);
    }
  } else {
    // prometheus.enabled turned false: the one left serves nothing the stack needs.
    for (const c of ofRole("prometheus")) {
      add(asides, { kind: "remove", container: c.name, reason: "prometheus.enabled is false" });
    }
  }

  // 6. confirm, commit; 7. drain and tidy
  add(before, {
    kind: "confirm",
    mode: desired.expect.mode,
    version: desired.expect.version,
    instanceOf: target,
    ...(release.kind === "canary" ? { pin: { header: release.header, value: "always" } } : {}),
  });
  const serving = oldApps.filter((c) => c.state === "running" || c.state === "paused");
  if (serving.length > 0 && switched) {
    add(after, {
      kind: "settle",
      ms: RELOAD_SETTLE_MS,
      reason: "requests nginx sent before the switch reach the old app",
    });
  }
  for (const c of oldApps) {
    if (serving.includes(c)) {
      // One that cannot serve (unhealthy, paused) has nothing in flight worth waiting for.
      const grace = canServe(c) ? DRAIN_GRACE_SECONDS : 1;
      add(after, { kind: "drain", container: c.name, graceSeconds: grace });
    } else {
      add(after, { kind: "remove", container: c.name, reason: `it is ${c.state}` });
    }
  }
  if (target !== app.name) add(after, { kind: "rename", container: target, to: app.name });
  return [...before, { action: { kind: "commit" } }, ...after, ...asides];
}

function stripRevision(r: RouteTable & { revision?: number }): RouteTable {
  const { revision: _revision, ...table } = r;
  return table;
}

/**
 * Where the app lives on the project network (issue 11 case 7): the
 * existing network's subnet (else a fresh /24 clashing with no other
 * network), and the slot of the app container that is kept (it matches
 * `plan` and can serve), else the first slot no container on the network
 * holds, so a new app starts beside the old one. `plan` may be planned with
 * any addressing: neither config hashes nor names depend on it.
 */
export function chooseAddressing(plan: StackPlan, observed: ObservedState): Addressing {
  const subnet = observed.network?.subnet ??
    chooseSubnet(plan.project, observed.takenSubnets);
  const slots = appSlots(subnet);
  const net = observed.network;
  if (net && net.ipRange !== addressingOf(subnet, slots[0]!).ipRange) {
    // Without our dynamic range, the engine may give the app's reserved
    // addresses to any container joining the network (issue 11 case 7).
    throw new SwiftDeployError(
      "ENGINE_CONFLICT",
      `Cannot use the project network "${net.name}": its dynamic range is ${
        net.ipRange ? `"${net.ipRange}"` : "the whole subnet"
      }, so another container could be given the app's address`,
      { hint: "remove the stack with `swiftdeploy teardown` and deploy again" },
    );
  }
  const app = plan.containers.find((c) => c.role === "app")!;
  const image = observed.imageIds[app.body.Image];
  const kept = [app.name, `${app.name}-next`]
    .map((name) => observed.containers.find((c) => c.name === name && c.role === "app"))
    .find((c) => c && canServe(c) && c.configHash === app.configHash && c.imageId === image);
  const keptAddress = kept?.networks[plan.network.name];
  if (keptAddress && slots.includes(keptAddress)) return addressingOf(subnet, keptAddress);
  const held = new Set(observed.containers.map((c) => c.networks[plan.network.name]));
  const free = slots.find((s) => !held.has(s));
  if (!free) {
    throw new SwiftDeployError(
      "DEPLOY_FAILED",
      `Cannot start a new app container: all ${slots.length} app addresses on "${plan.network.name}" are taken`,
      {
        hint: "containers left by interrupted runs hold them: `swiftdeploy teardown`, then deploy",
      },
    );
  }
  return addressingOf(subnet, free);
}
