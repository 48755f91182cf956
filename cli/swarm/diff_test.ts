import assert from "node:assert/strict";
import { parseManifest } from "../manifest/mod.ts";
import { LABEL_PROJECT } from "../plan/mod.ts";
import {
  diffSwarm,
  formatSwarmActions,
  planSwarm,
  renderSwarmNginxConf,
  type Service,
  type SwarmObserved,
  type SwarmPlan,
} from "./mod.ts";

const MANIFEST = `project: shop
target: swarm
services:
  image: app:1
  port: 3000
  version: "1.0.0"
  replicas: 3
nginx:
  image: nginx:1
  port: 8080
`;

function plan(text = MANIFEST, app = "reg/app@sha256:aa"): SwarmPlan {
  const manifest = parseManifest(text, "manifest.yaml");
  return planSwarm({
    manifest,
    managerNodeId: "mgr1",
    images: { app, nginx: "reg/nginx@sha256:bb", opa: "reg/opa@sha256:cc" },
    nginxConf: renderSwarmNginxConf(manifest),
    policyData: '{"a":1}\n',
    policies: [{ path: "x.rego", content: "package x\n" }],
    opaSocketDir: "/srv/shop/.swiftdeploy/opa-socket",
    nginxAdminDir: "/srv/shop/.swiftdeploy/nginx-admin",
  });
}

/** The swarm after `deploy` of `p` converged (each service's spec as planned; `previous` as their PreviousSpec). */
function deployed(p: SwarmPlan, previous?: SwarmPlan, extraConfigs: string[] = []): SwarmObserved {
  const services = new Map<string, Service>();
  for (const s of p.services) {
    const prev = previous?.services.find((x) => x.name === s.name)?.spec;
    services.set(s.name, {
      ID: `id-${s.name}`,
      Version: { Index: 1 },
      Spec: s.spec,
      ...(prev ? { PreviousSpec: prev } : {}),
    });
  }
  const configs = new Set([
    ...p.configs.map((c) => c.name),
    ...(previous?.configs.map((c) => c.name) ?? []),
    ...extraConfigs,
  ]);
  return { network: { project: "shop" }, configs: [...configs], services };
}

Deno.test("diffSwarm() on an empty swarm creates the network, every config and the three services with their images", () => {
  const p = plan();
  const { actions, conflict } = diffSwarm(p, {
    network: undefined,
    configs: [],
    services: new Map(),
  });
  assert.equal(conflict, undefined);
  assert.deepEqual(
    actions.map((a) => `${a.action} ${a.kind} ${a.name}`),
    [
      "create network shop-net",
      ...p.configs.map((c) => `create config ${c.name}`),
      "create service shop-opa",
      "create service shop-app",
      "create service shop-nginx",
    ],
  );
  const text = formatSwarmActions("shop", actions);
  assert.match(text, /create service "shop-app": image reg\/app@sha256:aa/);
  assert.match(text, /create network "shop-net" \(overlay\)/);
});

Deno.test("diffSwarm() keeps everything when the swarm runs the plan (and its previous configs)", () => {
  const before = plan();
  const p = plan();
  const { actions } = diffSwarm(p, deployed(p, before));
  assert.ok(actions.every((a) => a.action === "keep"), JSON.stringify(actions));
  assert.match(formatSwarmActions("shop", actions), /nothing to change/);
});

Deno.test("diffSwarm() updates only the app for a new version and digest, naming each change, and removes the configs no spec keeps", () => {
  const old = plan(MANIFEST.replace('version: "1.0.0"', 'version: "0.9.0"'), "reg/app@sha256:00");
  const current = plan();
  const next = plan(
    MANIFEST.replace('version: "1.0.0"', 'version: "1.0.1"').replace("replicas: 3", "replicas: 2"),
    "reg/app@sha256:ff",
  );
  // The swarm runs `current` (rolled from `old`) and holds a config of an even older nginx.conf.
  const observed = deployed(current, old, ["shop-nginx.conf-000000000000"]);
  const { actions } = diffSwarm(next, observed);
  const services = actions.filter((a) => a.kind === "service");
  assert.deepEqual(services.map((a) => `${a.action} ${a.name}`), [
    "keep shop-opa",
    "update shop-app",
    "keep shop-nginx",
  ]);
  const app = services[1]!;
  assert.ok(app.kind === "service");
  assert.ok(
    app.changes.includes("image reg/app@sha256:aa → reg/app@sha256:ff"),
    app.changes.join(),
  );
  assert.ok(app.changes.includes("replicas 3 → 2"), app.changes.join());
  assert.ok(app.changes.some((c) => /^env \S+ "1\.0\.0" → "1\.0\.1"$/.test(c)), app.changes.join());
  // Kept services keep their previous specs' configs (Swarm may roll back to them).
  assert.deepEqual(
    actions.filter((a) => a.action === "remove").map((a) => a.name),
    ["shop-nginx.conf-000000000000"],
  );
  const text = formatSwarmActions("shop", actions);
  assert.match(text, /update service "shop-app" \(a rolling update\):\n {4}image /);
  assert.match(text, /remove config "shop-nginx\.conf-000000000000"/);
  assert.match(text, /unchanged: network "shop-net", .*service "shop-opa", service "shop-nginx"/);
});

Deno.test("diffSwarm() names a change of the tasks' resource or log caps, and only for the service it touches", () => {
  const current = plan();
  const next = plan(MANIFEST + "resources:\n  app:\n    memory: 1g\n    cpus: 2\n    pids: 64\n");
  const { actions } = diffSwarm(next, deployed(current, current));
  const app = actions.find((a) => a.kind === "service" && a.name === "shop-app");
  assert.ok(app?.kind === "service" && app.action === "update", JSON.stringify(actions));
  assert.deepEqual(app.changes, [
    "caps memory 268435456 B, 1 CPU, 128 processes, logs json-file 10m x 3 → " +
    "memory 1073741824 B, 2 CPU, 64 processes, logs json-file 10m x 3",
  ]);
  for (const name of ["shop-opa", "shop-nginx"]) {
    assert.equal(actions.find((a) => a.name === name)?.action, "keep", name);
  }
});

Deno.test("diffSwarm() updates a service whose last update was paused even when its spec matches", () => {
  const p = plan();
  const observed = deployed(p);
  const app = observed.services.get("shop-app")!;
  observed.services.set("shop-app", { ...app, UpdateStatus: { State: "rollback_paused" } });
  const { actions } = diffSwarm(p, observed);
  const a = actions.find((x) => x.name === "shop-app")!;
  assert.equal(a.action, "update");
  assert.ok(a.kind === "service" && a.changes.includes("its last update was rollback_paused"));
});

Deno.test("diffSwarm() reports the conflict the real deploy refuses: a network or service of another project", () => {
  const p = plan();
  assert.deepEqual(
    diffSwarm(p, { network: { project: "other" }, configs: [], services: new Map() }).conflict,
    { what: 'network "shop-net"', owner: "other" },
  );
  const observed = deployed(p);
  const nginx = observed.services.get("shop-nginx")!;
  observed.services.set("shop-nginx", {
    ...nginx,
    Spec: { ...nginx.Spec, Labels: { ...nginx.Spec.Labels, [LABEL_PROJECT]: "other" } },
  });
  assert.deepEqual(diffSwarm(p, observed).conflict, {
    what: 'service "shop-nginx"',
    owner: "other",
  });
});
