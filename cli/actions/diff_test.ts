/**
 * diffStack() for every situation the integration tests exercise, without
 * Docker: the observed state is data. Steps are compared as short
 * `kind target` strings, the way Kamal tests its commands as exact strings.
 */
import assert from "node:assert/strict";
import { SwiftDeployError } from "../errors/mod.ts";
import type { Routes } from "../routing/mod.ts";
import type { ResolvedManifest } from "../manifest/types.ts";
import {
  addressingOf,
  appSlots,
  appTargetsJson,
  chooseSubnet,
  planStack,
  type StackPlan,
} from "../plan/mod.ts";
import {
  type Action,
  appScrapeTargets,
  changesSomething,
  chooseAddressing,
  describeSteps,
  type DesiredStack,
  diffStack,
  nginxConfPath,
  type ObservedContainer,
  type ObservedState,
  plannedAddress,
  policyDataPath,
  type Step,
} from "./mod.ts";

function manifest(
  over: { version?: string; mode?: string; nginxPort?: number; prometheus?: boolean } = {},
) {
  return {
    project: "demo",
    services: {
      image: "app:latest",
      port: 3000,
      mode: over.mode ?? "stable",
      version: over.version ?? "1.0.0",
      restart_policy: "unless-stopped",
    },
    nginx: {
      image: "nginx:latest",
      port: over.nginxPort ?? 8080,
      proxy_timeout: 30,
      contact: "a@b.c",
    },
    opa: { image: "opa:latest", port: 8181, decision_timeout_seconds: 5 },
    network: { name: "demo-net", driver_type: "bridge" },
    logs: { volume_name: "demo-logs" },
    policy_limits: {
      infrastructure: { min_disk_free_gb: 10, max_cpu_load: 8, min_mem_free_percent: 10 },
      canary: {
        max_error_rate_percent: 1,
        max_p99_latency_ms: 500,
        window_seconds: 30,
        min_requests: 20,
      },
    },
    audit: { history_file: "history.jsonl", report_file: "audit_report.md" },
    prometheus: {
      enabled: over.prometheus ?? false,
      image: "prom:latest",
      port: 9391,
      scrape_interval_seconds: 1,
    },
  } as ResolvedManifest;
}

const CTX = { manifestDir: "/srv/demo", installDir: "/opt/sd" };
const IMAGES = {
  "app:latest": "sha256:app1",
  "nginx:latest": "sha256:ngx1",
  "opa:latest": "sha256:opa1",
  "prom:latest": "sha256:prom1",
};

/** The desired stack for a manifest; the rendered files are stand-ins that name the app. */
function desired(m = manifest(), data = '{"limits":1}', slot = 0): DesiredStack {
  const subnet = chooseSubnet(m.project);
  const plan = planStack(m, { ...CTX, addressing: addressingOf(subnet, appSlots(subnet)[slot]!) });
  return {
    plan,
    // nginx.conf names no app (routes do): only a comment changes with the manifest
    nginxConf: `# manifest hash ${m.services.version}\nupstream app_pool;\n`,
    policyData: data,
    expect: { mode: m.services.mode, version: m.services.version },
    appPort: m.services.port,
  };
}

/** The routing table nginx holds once `d` was applied with a switch. */
function routesOf(d: DesiredStack, revision = 1): Routes {
  const app = d.plan.containers.find((c) => c.role === "app")!;
  return {
    revision,
    stable: {
      address: `${plannedAddress(d.plan, app.body)}:${d.appPort}`,
      version: d.expect.version,
      container: app.name,
    },
  };
}

/** The engine after `d` was applied: everything running, healthy, on its networks. */
function runningAs(d: DesiredStack, images: Record<string, string> = IMAGES): ObservedState {
  const { plan } = d;
  const containers: ObservedContainer[] = plan.containers.map((c, i) => ({
    id: `id${i}${c.name}`,
    name: c.name,
    role: c.role,
    state: "running",
    health: "healthy",
    configHash: c.configHash,
    imageId: images[c.body.Image]!,
    networks: c.role === "opa"
      ? { bridge: "172.17.0.2" }
      : { [plan.network.name]: plannedAddress(plan, c.body) ?? `10.0.0.${130 + i}` },
  }));
  return {
    network: { name: plan.network.name, project: plan.project },
    volume: { name: plan.volume.name, project: plan.project },
    containers,
    imageIds: { ...images },
    files: {
      [nginxConfPath(plan)]: d.nginxConf,
      [policyDataPath(plan)]: d.policyData,
      ...(plan.prometheus
        ? {
          [plan.prometheus.config.path]: plan.prometheus.config.content,
          [plan.prometheus.nginxTargets.path]: plan.prometheus.nginxTargets.content,
          [plan.prometheus.appTargetsPath]: appTargetsJson(appScrapeTargets(routesOf(d))),
        }
        : {}),
    },
    routes: { file: routesOf(d), nginx: routesOf(d) },
    takenSubnets: [],
  };
}

function empty(): ObservedState {
  return {
    network: undefined,
    volume: undefined,
    containers: [],
    imageIds: { ...IMAGES },
    files: {},
    takenSubnets: [],
  };
}

/** `kind target` per step, `(undo: kind target)` beside. */
function brief(steps: Step[]): string[] {
  const target = (a: Action) =>
    "container" in a ? a.container : "name" in a ? a.name : "path" in a ? a.path : "";
  return steps.map((s) =>
    `${s.action.kind} ${target(s.action)}`.trimEnd() +
    (s.undo ? ` (undo: ${`${s.undo.kind} ${target(s.undo)}`.trimEnd()})` : "")
  );
}

function nameOf(plan: StackPlan, role: string): string {
  return plan.containers.find((c) => c.role === role)!.name;
}

Deno.test("diffStack() creates everything, in dependency order, with undos, on a first deploy", () => {
  const d = desired();
  const app = nameOf(d.plan, "app");
  const steps = diffStack(d, empty());
  assert.deepEqual(brief(steps), [
    "create-network demo-net (undo: remove-network demo-net)",
    "create-volume demo-logs (undo: remove-volume demo-logs)",
    "write-file /srv/demo/.swiftdeploy/opa/policy_data.json (undo: write-file /srv/demo/.swiftdeploy/opa/policy_data.json)",
    "create demo-opa (undo: remove demo-opa)",
    "start demo-opa",
    "wait-healthy demo-opa",
    `create ${app} (undo: remove ${app})`,
    `start ${app}`,
    `wait-healthy ${app}`,
    `join-network ${app}`,
    "route",
    "write-file /srv/demo/.swiftdeploy/nginx/nginx.conf (undo: write-file /srv/demo/.swiftdeploy/nginx/nginx.conf)",
    "create demo-nginx (undo: remove demo-nginx)",
    "start demo-nginx",
    "wait-healthy demo-nginx",
    "confirm",
    "commit",
  ]);
  // The app warms up on the default bridge only: nothing routes to it before it is healthy.
  const create = steps.find((s) => s.action.kind === "create" && s.action.container === app)!;
  assert.ok(create.action.kind === "create");
  assert.equal(create.action.body.HostConfig.NetworkMode, "bridge");
  assert.equal(create.action.body.NetworkingConfig, undefined);
  // Undoing the first file write deletes it: there was none before.
  const write = steps[2]!;
  assert.ok(write.undo?.kind === "write-file");
  assert.equal(write.undo.content, undefined);
  assert.ok(changesSomething(steps));
});

Deno.test("diffStack() only keeps, waits and confirms when the stack already matches", () => {
  const d = desired();
  const steps = diffStack(d, runningAs(d));
  const app = nameOf(d.plan, "app");
  assert.deepEqual(brief(steps), [
    "keep demo-opa",
    "wait-healthy demo-opa",
    `keep ${app}`,
    `wait-healthy ${app}`,
    "keep demo-nginx",
    "confirm",
    "commit",
  ]);
  assert.equal(changesSomething(steps), false);
  assert.match(describeSteps(steps), /^Nothing to do/);
});

Deno.test("diffStack() starts a changed app beside the old one, routes to it without a reload, then drains the old", () => {
  const before = desired();
  const d = desired(manifest({ version: "1.1.0" }), undefined, 1);
  const oldApp = nameOf(before.plan, "app");
  const app = nameOf(d.plan, "app");
  assert.notEqual(app, oldApp);
  const steps = diffStack(d, runningAs(before));
  assert.deepEqual(brief(steps), [
    "keep demo-opa",
    "wait-healthy demo-opa",
    `create ${app} (undo: remove ${app})`,
    `start ${app}`,
    `wait-healthy ${app}`,
    `join-network ${app}`,
    "route (undo: route)",
    "write-file /srv/demo/.swiftdeploy/nginx/nginx.conf (undo: write-file /srv/demo/.swiftdeploy/nginx/nginx.conf)",
    "keep demo-nginx",
    "confirm",
    "commit",
    "settle",
    `drain ${oldApp}`,
  ]);
  const confirm = steps.find((s) => s.action.kind === "confirm")!.action;
  assert.deepEqual(confirm, { kind: "confirm", mode: "stable", version: "1.1.0", instanceOf: app });
  // Only a comment of nginx.conf changed: no reload. The route's undo sends traffic back.
  const route = steps.find((s) => s.action.kind === "route")!;
  assert.deepEqual(route.action, {
    kind: "route",
    table: { stable: { ...routesOf(d).stable } },
    reason: `traffic goes to "${app}"`,
  });
  const { revision: _r, ...previous } = routesOf(before);
  assert.deepEqual(route.undo, { kind: "route", table: previous, reason: "rolled back" });
});

Deno.test("diffStack() reloads nginx only when its configuration changed, never to switch the app", () => {
  const before = desired();
  const d = desired(manifest({ version: "1.1.0" }), undefined, 1);
  d.nginxConf = d.nginxConf.replace("app_pool", "app_pool_2");
  const steps = brief(diffStack(d, runningAs(before)));
  assert.ok(steps.includes("reload demo-nginx"), steps.join("\n"));
  assert.ok(steps.indexOf("route (undo: route)") < steps.indexOf("reload demo-nginx"));
});

Deno.test("diffStack() routes again when nginx holds another table than the file (a killed run)", () => {
  const d = desired();
  const observed = runningAs(d);
  observed.routes = {
    file: routesOf(d),
    nginx: { ...routesOf(d), stable: { ...routesOf(d).stable, address: "10.0.0.9:3000" } },
  };
  assert.ok(brief(diffStack(d, observed)).includes("route (undo: route)"));
  // nginx not readable (stopped): the table is pushed again as well, harmless and certain.
  observed.routes = { file: routesOf(d) };
  assert.ok(brief(diffStack(d, observed)).includes("route (undo: route)"));
});

Deno.test("diffStack() starts a canary beside the serving stable at weight 0, confirms it pinned, drains nothing", () => {
  const before = desired();
  const d = desired(manifest({ version: "1.1.0" }), undefined, 1);
  const stable = routesOf(before).stable;
  d.release = { kind: "canary", stable, header: "X-Canary" };
  const oldApp = nameOf(before.plan, "app");
  const app = nameOf(d.plan, "app");
  const steps = diffStack(d, runningAs(before));
  assert.deepEqual(brief(steps), [
    "keep demo-opa",
    "wait-healthy demo-opa",
    `create ${app} (undo: remove ${app})`,
    `start ${app}`,
    `wait-healthy ${app}`,
    `join-network ${app}`,
    "route (undo: route)",
    "write-file /srv/demo/.swiftdeploy/nginx/nginx.conf (undo: write-file /srv/demo/.swiftdeploy/nginx/nginx.conf)",
    "keep demo-nginx",
    "confirm",
    "commit",
  ]);
  assert.ok(!brief(steps).includes(`drain ${oldApp}`));
  const route = steps.find((s) => s.action.kind === "route")!.action;
  assert.ok(route.kind === "route");
  assert.deepEqual(route.table.stable, stable);
  assert.deepEqual(route.table.canary, { ...routesOf(d).stable, weight: 0 });
  const confirm = steps.find((s) => s.action.kind === "confirm")!.action;
  assert.ok(confirm.kind === "confirm");
  assert.deepEqual(confirm.pin, { header: "X-Canary", value: "always" });
});

Deno.test("diffStack() warms a same-named app up as -next when only its image was rebuilt", () => {
  const d = desired(undefined, undefined, 1);
  const app = nameOf(d.plan, "app");
  const observed = runningAs(desired(), { ...IMAGES, "app:latest": "sha256:app0" });
  observed.imageIds["app:latest"] = "sha256:app1";
  const steps = diffStack(d, observed);
  assert.deepEqual(brief(steps).slice(2), [
    `create ${app}-next (undo: remove ${app}-next)`,
    `start ${app}-next`,
    `wait-healthy ${app}-next`,
    `join-network ${app}-next`,
    "route (undo: route)",
    "keep demo-nginx",
    "confirm",
    "commit",
    "settle",
    `drain ${app}`,
    `rename ${app}-next`,
  ]);
});

Deno.test("diffStack() replaces a changed nginx by stopping it and setting it aside, with an undo that starts it again", () => {
  const before = desired();
  const d = desired(manifest({ nginxPort: 9090 }));
  const app = nameOf(d.plan, "app");
  const steps = diffStack(d, runningAs(before));
  assert.deepEqual(brief(steps), [
    "keep demo-opa",
    "wait-healthy demo-opa",
    `keep ${app}`,
    `wait-healthy ${app}`,
    "stop demo-nginx (undo: start demo-nginx)",
    "rename demo-nginx (undo: rename demo-nginx-old)",
    "create demo-nginx (undo: remove demo-nginx)",
    "start demo-nginx",
    "wait-healthy demo-nginx",
    "confirm",
    "commit",
    "remove demo-nginx-old",
  ]);
  // The undos, newest first, give the old nginx back under its name, running.
  const undos = steps.flatMap((s) => (s.undo ? [s.undo] : [])).reverse();
  assert.deepEqual(undos.map((u) => `${u.kind} ${"container" in u ? u.container : ""}`), [
    "remove demo-nginx",
    "rename demo-nginx-old",
    "start demo-nginx",
  ]);
  assert.deepEqual(undos[1], { kind: "rename", container: "demo-nginx-old", to: "demo-nginx" });
});

Deno.test("diffStack() replaces a changed OPA the same way, and restarts a kept one whose policy data changed", () => {
  const before = desired();
  const changed = runningAs(before);
  changed.containers.find((c) => c.role === "opa")!.configHash = "other";
  assert.deepEqual(brief(diffStack(before, changed)).slice(0, 6), [
    "stop demo-opa (undo: start demo-opa)",
    "rename demo-opa (undo: rename demo-opa-old)",
    "create demo-opa (undo: remove demo-opa)",
    "start demo-opa",
    "wait-healthy demo-opa",
    `keep ${nameOf(before.plan, "app")}`,
  ]);
  assert.deepEqual(brief(diffStack(before, changed)).at(-1), "remove demo-opa-old");

  // Only the policy data changed: write it, restart OPA; undo writes it back and restarts again.
  const d = desired(manifest(), '{"limits":2}');
  const steps = diffStack(d, runningAs(before));
  assert.deepEqual(brief(steps).slice(0, 4), [
    "write-file /srv/demo/.swiftdeploy/opa/policy_data.json (undo: write-file /srv/demo/.swiftdeploy/opa/policy_data.json)",
    "keep demo-opa",
    "restart demo-opa",
    "wait-healthy demo-opa",
  ]);
  assert.deepEqual(steps[0]!.undo, {
    kind: "write-file",
    path: "/srv/demo/.swiftdeploy/opa/policy_data.json",
    content: '{"limits":1}',
    notify: { container: "demo-opa", how: "restart" },
  });
  // OPA replaced and its data changed: the undos start the old OPA again before the data
  // is written back, so that undo restarts whichever OPA then runs (it reads data at start).
  const both = runningAs(before);
  both.containers.find((c) => c.role === "opa")!.configHash = "other";
  const replaced = diffStack(d, both);
  assert.deepEqual(replaced[0]!.undo, steps[0]!.undo);

  // The `_generated` note alone (a new manifest hash) is written but needs no restart.
  const noted = desired(manifest(), '{"_generated":"x","limits":1}');
  assert.ok(!brief(diffStack(noted, runningAs(before))).includes("restart demo-opa"));
});

Deno.test("diffStack() converges from what a killed run left: a switch without drain, a -next app, an -old nginx", () => {
  const old = desired();
  const d = desired(manifest({ version: "1.1.0" }));
  const app = nameOf(d.plan, "app");
  const oldApp = nameOf(old.plan, "app");

  // Killed after the switch: both apps run, nginx already routes to the new one.
  const switched = runningAs(d);
  switched.containers.push({ ...runningAs(old).containers[1]!, id: "old" });
  assert.deepEqual(brief(diffStack(d, switched)), [
    "keep demo-opa",
    "wait-healthy demo-opa",
    `keep ${app}`,
    `wait-healthy ${app}`,
    "keep demo-nginx",
    "confirm",
    "commit",
    // the switch happened in the killed run: nothing sent now needs waiting for
    `drain ${oldApp}`,
  ]);

  // Killed while the new app warmed up off the network: it is reused, joined, switched to.
  const warming = runningAs(old);
  warming.containers.push({
    ...runningAs(d).containers[1]!,
    health: "starting",
    networks: { bridge: "172.17.0.9" },
  });
  assert.deepEqual(brief(diffStack(d, warming)).slice(2, 7), [
    `keep ${app}`,
    `wait-healthy ${app}`,
    `join-network ${app}`,
    "route (undo: route)",
    "write-file /srv/demo/.swiftdeploy/nginx/nginx.conf (undo: write-file /srv/demo/.swiftdeploy/nginx/nginx.conf)",
  ]);

  // Killed on the same-name path: a healthy -next is taken over, not started again.
  const sameName = runningAs(old);
  const next = desired(undefined, undefined, 1);
  sameName.containers.push({
    ...sameName.containers[1]!,
    id: "next",
    name: `${oldApp}-next`,
    networks: { "demo-net": plannedAddress(next.plan, next.plan.containers[1]!.body)! },
  });
  sameName.containers[1]!.imageId = "sha256:app0";
  assert.deepEqual(brief(diffStack(next, sameName)).slice(2), [
    `keep ${oldApp}-next`,
    `wait-healthy ${oldApp}-next`,
    "route (undo: route)",
    "keep demo-nginx",
    "confirm",
    "commit",
    "settle",
    `drain ${oldApp}`,
    `rename ${oldApp}-next`,
  ]);

  // Killed after nginx was set aside: the -old one is removed, a new nginx created.
  const aside = runningAs(old);
  const ngx = aside.containers.find((c) => c.role === "nginx")!;
  ngx.name = "demo-nginx-old";
  ngx.state = "exited";
  assert.deepEqual(brief(diffStack(old, aside)).slice(4), [
    "remove demo-nginx-old",
    "create demo-nginx (undo: remove demo-nginx)",
    "start demo-nginx",
    "wait-healthy demo-nginx",
    "confirm",
    "commit",
  ]);

  // Killed after a running nginx was set aside: it still serves, so it is stopped with an
  // undo that starts it again, and removed only after the commit.
  ngx.state = "running";
  const steps = brief(diffStack(old, aside));
  assert.deepEqual(steps.slice(4, 8), [
    "stop demo-nginx-old (undo: start demo-nginx-old)",
    "create demo-nginx (undo: remove demo-nginx)",
    "start demo-nginx",
    "wait-healthy demo-nginx",
  ]);
  assert.equal(steps.at(-1), "remove demo-nginx-old");
  assert.ok(!steps.slice(0, steps.indexOf("commit")).includes("remove demo-nginx-old"));
});

Deno.test("diffStack() replaces an unhealthy, paused or stopped app with an unchanged spec by the zero-downtime path", () => {
  const d = desired();
  const app = nameOf(d.plan, "app");
  const moved = desired(undefined, undefined, 1);
  for (const [state, health] of [["running", "unhealthy"], ["paused", "healthy"]]) {
    const observed = runningAs(d);
    Object.assign(observed.containers[1]!, { state, health });
    assert.deepEqual(brief(diffStack(moved, observed)).slice(2), [
      `create ${app}-next (undo: remove ${app}-next)`,
      `start ${app}-next`,
      `wait-healthy ${app}-next`,
      `join-network ${app}-next`,
      "route (undo: route)",
      "keep demo-nginx",
      "confirm",
      "commit",
      "settle",
      `drain ${app}`,
      `rename ${app}-next`,
    ], `${state}/${health}`);
    const drain = diffStack(moved, observed).find((s) => s.action.kind === "drain")!.action;
    assert.ok(drain.kind === "drain" && drain.graceSeconds === 1, "nothing in flight to wait for");
  }
  // Stopped: it serves nothing, so it is removed at once and the new one takes its name.
  const stopped = runningAs(d);
  Object.assign(stopped.containers[1]!, { state: "exited", health: "unhealthy" });
  assert.deepEqual(brief(diffStack(d, stopped)).slice(2, 7), [
    `remove ${app}`,
    `create ${app} (undo: remove ${app})`,
    `start ${app}`,
    `wait-healthy ${app}`,
    `join-network ${app}`,
  ]);
  // An unhealthy nginx is replaced as well.
  const sick = runningAs(d);
  sick.containers[2]!.health = "unhealthy";
  assert.ok(brief(diffStack(d, sick)).includes("stop demo-nginx (undo: start demo-nginx)"));
});

Deno.test("diffStack() refuses another project's network or volume and a missing image", () => {
  const d = desired();
  const foreign = runningAs(d);
  foreign.network = { name: "demo-net", project: "other" };
  assert.throws(() => diffStack(d, foreign), {
    code: "ENGINE_CONFLICT",
    message: /network "demo-net"/,
  });
  const noVolumeOwner = runningAs(d);
  noVolumeOwner.volume = { name: "demo-logs", project: undefined };
  assert.throws(() => diffStack(d, noVolumeOwner), { code: "ENGINE_CONFLICT" });
  const missing = empty();
  missing.imageIds["nginx:latest"] = undefined;
  assert.throws(() => diffStack(d, missing), {
    code: "DEPLOY_FAILED",
    message: /image "nginx:latest" does not exist locally/,
  });
});

Deno.test("describeSteps() numbers every action and prints its undo beside it", () => {
  const text = describeSteps(diffStack(desired(), empty()));
  assert.match(text, /^17 actions, in order \(undone in reverse on failure\):\n/);
  assert.match(text, /\n {3}1\. create network "demo-net"\n {6}undo: remove network "demo-net"\n/);
  assert.match(text, /wait until "demo-opa" is healthy/);
  assert.match(
    text,
    /join ".*" to network "demo-net" as ".*" at 10\.\d+\.\d+\.16, leave the default bridge/,
  );
  assert.ok(text.endsWith("commit: the new stack serves, nothing below is undone\n"));
});

Deno.test("chooseSubnet() is deterministic per project and steps past every taken subnet", () => {
  const first = chooseSubnet("demo");
  assert.match(first, /^10\.2[0-4]\d\.\d{1,3}\.0\/24$/);
  assert.equal(chooseSubnet("demo"), first);
  assert.notEqual(chooseSubnet("other"), first);
  // A clash with an exact, a wider and an overlapping narrower network: the next free /24.
  const [, a, b] = /^10\.(\d+)\.(\d+)\./.exec(first)!.map(Number) as [number, number, number];
  const wide = `10.${a}.0.0/16`;
  const picked = chooseSubnet("demo", [first, wide, "fd00::/64"]);
  assert.ok(!picked.startsWith(`10.${a}.`), `${picked} overlaps ${wide}`);
  const narrow = chooseSubnet("demo", [`10.${a}.${b}.200/29`]);
  assert.notEqual(narrow, first);
});

Deno.test("chooseAddressing() keeps the serving app's slot and gives a new app a free one beside it", () => {
  const d = desired();
  const observed = runningAs(d);
  const subnet = chooseSubnet("demo");
  const ipRange = subnet.replace(/0\/24$/, "128/25");
  observed.network = { name: "demo-net", project: "demo", subnet, ipRange };
  const app = observed.containers[1]!;
  app.networks = { "demo-net": subnet.replace(/0\/24$/, "17") };
  // The app is kept: it stays where it is, so nginx.conf does not change.
  assert.deepEqual(
    chooseAddressing(d.plan, observed),
    addressingOf(subnet, app.networks["demo-net"]!),
  );
  // A new version: another slot, not the one the old app holds.
  const next = desired(manifest({ version: "2.0.0" }));
  assert.equal(chooseAddressing(next.plan, observed).appAddress, subnet.replace(/0\/24$/, "16"));
  // An unhealthy app keeps no slot for itself: the new one goes beside it.
  app.health = "unhealthy";
  assert.equal(chooseAddressing(d.plan, observed).appAddress, subnet.replace(/0\/24$/, "16"));
  // The project network keeps its subnet even when another network now overlaps it.
  observed.takenSubnets = [subnet];
  assert.equal(chooseAddressing(d.plan, observed).subnet, subnet);
  // Every slot held: refused with a hint, nothing guessed.
  observed.containers = [16, 17, 18, 19].map((h, i) => ({
    ...app,
    name: `x${i}`,
    networks: { "demo-net": subnet.replace(/0\/24$/, String(h)) },
  }));
  assert.throws(() => chooseAddressing(next.plan, observed), { code: "DEPLOY_FAILED" });
});

Deno.test("planStack() gives the network a subnet whose dynamic range excludes the app's static address, outside the config hash", () => {
  const subnet = chooseSubnet("demo");
  const at = (host: number) =>
    planStack(manifest(), {
      ...CTX,
      addressing: addressingOf(subnet, subnet.replace(/0\/24$/, String(host))),
    });
  const a = at(16);
  const b = at(17);
  assert.deepEqual(a.network.body.IPAM?.Config, [{
    Subnet: subnet,
    IPRange: subnet.replace(/0\/24$/, "128/25"),
    Gateway: subnet.replace(/0\/24$/, "1"),
  }]);
  const appA = a.containers.find((c) => c.role === "app")!;
  const appB = b.containers.find((c) => c.role === "app")!;
  assert.equal(plannedAddress(a, appA.body), subnet.replace(/0\/24$/, "16"));
  assert.equal(appA.configHash, appB.configHash, "the slot is not part of the app's spec");
  assert.equal(appA.name, appB.name);
  // A change of the policy sources is a change of OPA's spec (issue 11 case 9).
  const opaOf = (h?: string) =>
    planStack(manifest(), { ...CTX, ...(h ? { policiesHash: h } : {}) }).containers[0]!.configHash;
  assert.notEqual(opaOf("aaa"), opaOf("bbb"));
  assert.notEqual(opaOf("aaa"), opaOf());
});

Deno.test("chooseAddressing() refuses a project network whose dynamic range could hand out the app's address", () => {
  const d = desired();
  const observed = runningAs(d);
  const subnet = chooseSubnet("demo");
  // A /24 the engine made (default address pools) or an older SwiftDeploy made: no IPRange.
  for (const ipRange of [undefined, subnet]) {
    observed.network = {
      name: "demo-net",
      project: "demo",
      subnet,
      ...(ipRange ? { ipRange } : {}),
    };
    assert.throws(
      () => chooseAddressing(d.plan, observed),
      (e: Error) =>
        e instanceof SwiftDeployError && e.code === "ENGINE_CONFLICT" &&
        /another container could be given the app's address/.test(e.message),
    );
  }
});

/** The stack with Prometheus enabled (scrape interval `interval` s). */
function withPrometheus(over: { version?: string; interval?: number } = {}, slot = 0) {
  const m = manifest({ prometheus: true, ...(over.version ? { version: over.version } : {}) });
  if (over.interval !== undefined) m.prometheus.scrape_interval_seconds = over.interval;
  return desired(m, undefined, slot);
}

Deno.test("diffStack() creates Prometheus last, after its files, with nginx at its static address", () => {
  const d = withPrometheus();
  const files = d.plan.prometheus!;
  const app = nameOf(d.plan, "app");
  const steps = diffStack(d, empty());
  assert.deepEqual(brief(steps).slice(9), [
    `join-network ${app}`,
    "route",
    "write-file /srv/demo/.swiftdeploy/nginx/nginx.conf (undo: write-file /srv/demo/.swiftdeploy/nginx/nginx.conf)",
    "create demo-nginx (undo: remove demo-nginx)",
    "start demo-nginx",
    "wait-healthy demo-nginx",
    `write-file ${files.config.path} (undo: write-file ${files.config.path})`,
    `write-file ${files.nginxTargets.path} (undo: write-file ${files.nginxTargets.path})`,
    "create demo-prometheus (undo: remove demo-prometheus)",
    "start demo-prometheus",
    "wait-healthy demo-prometheus",
    "confirm",
    "commit",
  ]);
  // The route action writes apps.json (cli/deploy's routeTable): no second write here.
  assert.ok(!brief(steps).some((s) => s.includes("apps.json")));
  const write = (path: string) =>
    steps.find((s) => s.action.kind === "write-file" && s.action.path === path)!;
  assert.deepEqual(write(files.config.path).action, {
    kind: "write-file",
    path: "/srv/demo/.swiftdeploy/prometheus/prometheus.yml",
    content: files.config.content,
  });
  // Undone, the file goes and whichever Prometheus then runs reads it again.
  assert.deepEqual(write(files.config.path).undo, {
    kind: "write-file",
    path: files.config.path,
    content: undefined,
    notify: { container: "demo-prometheus", how: "restart" },
  });
  assert.equal(write(files.nginxTargets.path).undo?.kind, "write-file");
  const nginx =
    steps.find((s) => s.action.kind === "create" && s.action.container === "demo-nginx")!
      .action;
  assert.ok(nginx.kind === "create");
  assert.equal(plannedAddress(d.plan, nginx.body), files.nginxAddress);
  assert.match(files.nginxTargets.content, new RegExp(`"${files.nginxAddress}:9113"`));
});

Deno.test("diffStack() keeps a matching Prometheus and writes nothing when the stack already matches", () => {
  const d = withPrometheus();
  const steps = diffStack(d, runningAs(d));
  assert.deepEqual(brief(steps).slice(-5), [
    "keep demo-nginx",
    "keep demo-prometheus",
    "wait-healthy demo-prometheus",
    "confirm",
    "commit",
  ]);
  assert.equal(changesSomething(steps), false);
});

Deno.test("diffStack() replaces Prometheus when its configuration changes, like OPA, with an undo that starts the old one", () => {
  const before = withPrometheus();
  const d = withPrometheus({ interval: 2 });
  const path = d.plan.prometheus!.config.path;
  const steps = diffStack(d, runningAs(before));
  const app = nameOf(d.plan, "app");
  assert.deepEqual(brief(steps), [
    "keep demo-opa",
    "wait-healthy demo-opa",
    `keep ${app}`,
    `wait-healthy ${app}`,
    "keep demo-nginx",
    `write-file ${path} (undo: write-file ${path})`,
    "stop demo-prometheus (undo: start demo-prometheus)",
    "rename demo-prometheus (undo: rename demo-prometheus-old)",
    "create demo-prometheus (undo: remove demo-prometheus)",
    "start demo-prometheus",
    "wait-healthy demo-prometheus",
    "confirm",
    "commit",
    "remove demo-prometheus-old",
  ]);
  const stop = steps.find((s) => s.action.kind === "stop")!.action;
  assert.deepEqual(stop, {
    kind: "stop",
    container: "demo-prometheus",
    reason: "its configuration changed; replaced",
  });
  const write = steps.find((s) => s.action.kind === "write-file" && s.action.path === path)!;
  assert.ok(write.action.kind === "write-file" && write.undo?.kind === "write-file");
  assert.match(write.action.content!, /"scrape_interval": "2s"/);
  // The undo puts the old file back and restarts the old Prometheus (started again by then).
  assert.equal(write.undo.content, before.plan.prometheus!.config.content);
  assert.deepEqual(write.undo.notify, { container: "demo-prometheus", how: "restart" });
});

Deno.test("diffStack() refuses a missing Prometheus image before changing anything", () => {
  const d = withPrometheus();
  const missing = empty();
  missing.imageIds["prom:latest"] = undefined;
  assert.throws(() => diffStack(d, missing), {
    code: "DEPLOY_FAILED",
    message: /image "prom:latest" does not exist locally/,
  });
  // Without Prometheus its image is never asked for.
  assert.ok(diffStack(desired(), missing).length > 0);
});

Deno.test("diffStack() turning Prometheus on replaces nginx off its static address and writes apps.json for the unchanged routes", () => {
  const before = desired();
  const d = withPrometheus();
  const files = d.plan.prometheus!;
  const observed = runningAs(before);
  // nginx ran at a dynamic address; its config hash is the same (addresses are outside it).
  const nginx = observed.containers.find((c) => c.role === "nginx")!;
  assert.equal(nginx.configHash, d.plan.containers.find((c) => c.role === "nginx")!.configHash);
  assert.notEqual(nginx.networks["demo-net"], files.nginxAddress);
  const steps = diffStack(d, observed);
  const stop = steps.find((s) => s.action.kind === "stop" && s.action.container === "demo-nginx");
  assert.deepEqual(stop?.action, {
    kind: "stop",
    container: "demo-nginx",
    reason: "it is not at its planned address; replaced",
  });
  const apps = steps.find((s) =>
    s.action.kind === "write-file" && s.action.path.endsWith("apps.json")
  );
  assert.ok(apps?.action.kind === "write-file");
  assert.deepEqual(JSON.parse(apps.action.content!), [
    { targets: [routesOf(d).stable.address], labels: { variant: "stable", version: "1.0.0" } },
  ]);
  assert.ok(!brief(steps).includes("route"), "the routes are unchanged");
  assert.ok(brief(steps).includes("create demo-prometheus (undo: remove demo-prometheus)"));
  // Once at .9 it is kept.
  assert.ok(brief(diffStack(d, runningAs(d))).includes("keep demo-nginx"));
});

Deno.test("diffStack() removes a Prometheus left running after prometheus.enabled turned false, after the commit", () => {
  const before = withPrometheus();
  const d = desired();
  const observed = runningAs(before);
  const steps = brief(diffStack(d, observed));
  assert.deepEqual(steps.slice(steps.indexOf("commit")), [
    "commit",
    "remove demo-prometheus",
  ]);
  assert.ok(steps.includes("keep demo-nginx"), "nginx may keep .9: nothing names it now");
});

Deno.test("diffStack() with Prometheus leaves apps.json to the route action when the app changes, and keeps Prometheus", () => {
  const before = withPrometheus();
  const d = withPrometheus({ version: "1.1.0" }, 1);
  const steps = brief(diffStack(d, runningAs(before)));
  assert.ok(steps.includes("route (undo: route)"));
  assert.ok(!steps.some((s) => s.includes("apps.json")), steps.join("\n"));
  assert.ok(steps.includes("keep demo-prometheus"));
});

Deno.test("appScrapeTargets() lists stable and a canary at any weight with their versions", () => {
  const stable = { address: "10.0.0.16:3000", version: "1.0.0", container: "a" };
  const canary = { address: "10.0.0.17:3000", version: "2.0.0", container: "b", weight: 0 };
  assert.deepEqual(appScrapeTargets({ stable }), [
    { address: "10.0.0.16:3000", variant: "stable", version: "1.0.0" },
  ]);
  assert.deepEqual(appScrapeTargets({ stable, canary }), [
    { address: "10.0.0.16:3000", variant: "stable", version: "1.0.0" },
    { address: "10.0.0.17:3000", variant: "canary", version: "2.0.0" },
  ]);
});
