import assert from "node:assert/strict";
import { defaultHardening, hardeningSpec } from "../manifest/hardening.ts";
import { parseManifest } from "../manifest/mod.ts";
import { LABEL_CONFIG_HASH, LABEL_PROJECT } from "../plan/mod.ts";
import {
  configName,
  formatSwarmStatus,
  planSwarm,
  renderSwarmNginxConf,
  serviceProgress,
  type ServiceSpec,
  type SwarmPlanInput,
  swarmStatus,
  type Task,
  taskCaps,
} from "./mod.ts";

const MANIFEST = `project: shop
target: swarm
services:
  image: app:1
  port: 3000
  version: "1.0.0"
  replicas: 3
  placement:
    constraints: ["node.role == worker"]
    spread: node.hostname
nginx:
  image: nginx:1
  port: 8080
  contact: "o'ps$x@example.org"
`;

function input(text = MANIFEST): SwarmPlanInput {
  const manifest = parseManifest(text, "manifest.yaml");
  return {
    manifest,
    managerNodeId: "mgr1",
    images: { app: "reg/app@sha256:aa", nginx: "reg/nginx@sha256:bb", opa: "reg/opa@sha256:cc" },
    nginxConf: renderSwarmNginxConf(manifest),
    policyData: '{"a":1}\n',
    policies: [{ path: "x.rego", content: "package x\n" }],
    opaSocketDir: "/srv/shop/.swiftdeploy/opa-socket",
    nginxAdminDir: "/srv/shop/.swiftdeploy/nginx-admin",
  };
}

function service(role: string, text?: string): ServiceSpec {
  const s = planSwarm(input(text)).services.find((x) => x.role === role);
  assert.ok(s);
  return s.spec;
}

Deno.test("planSwarm() plans opa, app and nginx services in that order on the project's overlay", () => {
  const plan = planSwarm(input());
  assert.deepEqual(plan.services.map((s) => s.name), ["shop-opa", "shop-app", "shop-nginx"]);
  assert.deepEqual(plan.network.body, {
    Name: "shop-net",
    Driver: "overlay",
    Attachable: false,
    CheckDuplicate: true,
    Labels: {
      [LABEL_PROJECT]: "shop",
      "io.swiftdeploy.role": "network",
      "io.swiftdeploy.target": "swarm",
    },
  });
  for (const s of plan.services) {
    assert.equal(s.spec.Labels[LABEL_CONFIG_HASH], s.configHash);
    assert.equal(s.spec.TaskTemplate.ContainerSpec.Labels?.[LABEL_CONFIG_HASH], s.configHash);
    assert.equal(s.spec.TaskTemplate.ContainerSpec.ReadOnly, true);
    assert.deepEqual(s.spec.TaskTemplate.ContainerSpec.CapabilityDrop, ["ALL"]);
    assert.equal(s.spec.EndpointSpec?.Mode, "dnsrr", `${s.name} must have no VIP`);
  }
});

Deno.test("planSwarm() gives every task the engine target's log and resource caps from the resolved hardening", () => {
  // Defaults (seed 004's 10m x 3; the measured resource defaults), per role.
  const defaults = defaultHardening();
  for (const role of ["opa", "app", "nginx"] as const) {
    const t = service(role).TaskTemplate;
    const caps = defaults.resources[role];
    assert.deepEqual(t.LogDriver, {
      Name: "json-file",
      Options: { "max-size": "10m", "max-file": "3" },
    }, role);
    assert.deepEqual(t.Resources, {
      Limits: { MemoryBytes: caps.memory_bytes, NanoCPUs: caps.nano_cpus, Pids: caps.pids },
    }, role);
  }
  // As written in the manifest, the same keys the engine target reads.
  const written = MANIFEST +
    "logs:\n  containers:\n    driver: local\n    max_size: 2m\n    max_files: 5\n" +
    "resources:\n  app:\n    memory: 1g\n    cpus: 1.5\n    pids: 100\n" +
    "  nginx:\n    memory: 64m\n    cpus: 0.25\n    pids: 32\n";
  const app = service("app", written).TaskTemplate;
  assert.deepEqual(app.LogDriver, {
    Name: "local",
    Options: { "max-size": "2m", "max-file": "5" },
  });
  assert.deepEqual(app.Resources?.Limits, { MemoryBytes: 2 ** 30, NanoCPUs: 1.5e9, Pids: 100 });
  const nginx = service("nginx", written).TaskTemplate;
  assert.deepEqual(nginx.Resources?.Limits, {
    MemoryBytes: 64 * 2 ** 20,
    NanoCPUs: 0.25e9,
    Pids: 32,
  });
  // The same numbers the engine target's HostConfig gets.
  const h = hardeningSpec(parseManifest(written, "manifest.yaml"));
  assert.deepEqual(taskCaps(h, "app").Resources?.Limits, {
    MemoryBytes: h.resources.app.memory_bytes,
    NanoCPUs: h.resources.app.nano_cpus,
    Pids: h.resources.app.pids,
  });
  // A cap change is a spec change: the service's hash moves, so it is updated.
  assert.notEqual(
    planSwarm(input()).services[1]!.configHash,
    planSwarm(input(written)).services[1]!.configHash,
  );
});

Deno.test("planSwarm() runs the app with the manifest's replicas, placement and start-first rollback updates, never published", () => {
  const app = service("app");
  assert.equal(app.Mode.Replicated.Replicas, 3);
  assert.deepEqual(app.TaskTemplate.Placement, {
    Constraints: ["node.role == worker"],
    Preferences: [{ Spread: { SpreadDescriptor: "node.hostname" } }],
  });
  assert.deepEqual(app.UpdateConfig, {
    Parallelism: 1,
    Delay: 0,
    FailureAction: "rollback",
    Monitor: 5_000_000_000,
    MaxFailureRatio: 0,
    Order: "start-first",
  });
  assert.equal(app.RollbackConfig?.Order, "start-first");
  assert.equal(app.EndpointSpec?.Ports, undefined);
  assert.deepEqual(app.TaskTemplate.Networks, [{ Target: "shop-net" }]);
  assert.equal(app.TaskTemplate.ContainerSpec.Image, "reg/app@sha256:aa");
  assert.ok(app.TaskTemplate.ContainerSpec.Env?.includes("APP_VERSION=1.0.0"));
  assert.deepEqual(app.TaskTemplate.ContainerSpec.Healthcheck?.Test, [
    "CMD",
    "/bin/busybox",
    "wget",
    "-q",
    "-O",
    "/dev/null",
    "http://127.0.0.1:3000/healthz",
  ]);
});

Deno.test("planSwarm() publishes nginx alone, in host mode, on the CLI's manager, stopped before it is replaced", () => {
  const plan = planSwarm(input());
  const published = plan.services.filter((s) => s.spec.EndpointSpec?.Ports?.length);
  assert.deepEqual(published.map((s) => s.role), ["nginx"]);
  const nginx = service("nginx");
  assert.deepEqual(nginx.EndpointSpec?.Ports, [
    { Protocol: "tcp", TargetPort: 8080, PublishedPort: 8080, PublishMode: "host" },
  ]);
  assert.deepEqual(nginx.TaskTemplate.Placement?.Constraints, [
    "node.role == manager",
    "node.id == mgr1",
  ]);
  // start-first with a host-mode port deadlocks (the new task finds no free port)
  assert.equal(nginx.UpdateConfig?.Order, "stop-first");
  assert.deepEqual(nginx.TaskTemplate.Networks, [{ Target: "shop-net" }]);
});

Deno.test("planSwarm() gives OPA no network, no published port, loopback and a unix socket in a manager folder", () => {
  const opa = service("opa");
  assert.equal(opa.TaskTemplate.Networks, undefined);
  assert.equal(opa.EndpointSpec?.Ports, undefined);
  const addrs = (opa.TaskTemplate.ContainerSpec.Args ?? []).filter((a) => a.startsWith("--addr"));
  assert.deepEqual(addrs, ["--addr=127.0.0.1:8181", "--addr=unix:///run/opa/opa.sock"]);
  assert.deepEqual(opa.TaskTemplate.ContainerSpec.Mounts?.[0], {
    Type: "bind",
    Source: "/srv/shop/.swiftdeploy/opa-socket",
    Target: "/run/opa",
  });
  assert.deepEqual(opa.TaskTemplate.Placement?.Constraints, [
    "node.role == manager",
    "node.id == mgr1",
  ]);
});

Deno.test("planSwarm() names each config after its content and mounts it by that name", () => {
  const plan = planSwarm(input());
  const i = input();
  assert.deepEqual(plan.configs.map((c) => c.name), [
    configName("shop", "nginx.conf", i.nginxConf),
    configName("shop", "policy_data.json", '{"a":1}\n'),
    configName("shop", "policies/x.rego", "package x\n"),
  ]);
  assert.match(plan.configs[0]!.name, /^shop-nginx\.conf-[0-9a-f]{12}$/);
  assert.equal(plan.configs[2]!.name.startsWith("shop-policies-x.rego-"), true);
  const opaConfigs = service("opa").TaskTemplate.ContainerSpec.Configs ?? [];
  assert.deepEqual(opaConfigs.map((c) => [c.File.Name, c.ConfigName]), [
    ["/data/policy_data.json", plan.configs[1]!.name],
    ["/policies/x.rego", plan.configs[2]!.name],
  ]);
  const nginxConfigs = service("nginx").TaskTemplate.ContainerSpec.Configs ?? [];
  assert.deepEqual(nginxConfigs.map((c) => [c.File.Name, c.ConfigName, c.File.UID]), [
    ["/etc/nginx/swiftdeploy/nginx.conf", plan.configs[0]!.name, "10002"],
  ]);
});

Deno.test("planSwarm() changes only the app's spec when only the version changes (nginx and OPA keep running)", () => {
  const before = planSwarm(input());
  const after = planSwarm(input(MANIFEST.replace('version: "1.0.0"', 'version: "1.0.1"')));
  const hash = (p: typeof before, role: string) =>
    p.services.find((s) => s.role === role)?.configHash;
  assert.notEqual(hash(after, "app"), hash(before, "app"));
  assert.equal(hash(after, "nginx"), hash(before, "nginx"));
  assert.equal(hash(after, "opa"), hash(before, "opa"));
  assert.deepEqual(after.configs.map((c) => c.name), before.configs.map((c) => c.name));
});

Deno.test("renderSwarmNginxConf() sends to tasks.<app> through a kept-alive Lua balancer fed by Docker's DNS", () => {
  const conf = renderSwarmNginxConf(input().manifest);
  // No per-request resolution (no keepalive pool for a variable proxy_pass).
  assert.doesNotMatch(conf, /resolver |\$swiftdeploy_app/);
  assert.match(
    conf,
    /upstream swiftdeploy_app \{\n\s+server 0\.0\.0\.1;\n\s+balancer_by_lua_block \{\n\s+require\("swiftdeploy"\)\.balance\(\)\n\s+\}\n\s+keepalive 32;/,
  );
  assert.match(conf, /proxy_pass http:\/\/swiftdeploy_app;/);
  assert.match(conf, /local DNS_SERVER = "127\.0\.0\.11"/);
  assert.match(conf, /local TASKS = "tasks\.shop-app"/);
  assert.match(conf, /local APP_PORT = 3000\n/);
  assert.match(conf, /ngx\.timer\.every\(1, M\.refresh\)/);
  assert.match(conf, /listen 8080;/);
  assert.match(conf, /proxy_http_version 1\.1;\n\s+proxy_set_header Connection "";/);
  // Connection failures move on, a slow answer is never sent again (2 s < the read timeout).
  assert.match(conf, /proxy_next_upstream error timeout;\n\s+proxy_next_upstream_timeout 2s;/);
  assert.match(conf, /proxy_connect_timeout 1s;/);
  assert.match(conf, /location = \/peers/);
  // The contact is a JSON string inside a single-quoted nginx string: ' escaped, $ as ${dollar}.
  assert.ok(conf.includes(`"contact":"o\\'ps\${dollar}x@example.org"`), conf);
});

Deno.test("renderSwarmNginxConf() keeps the engine target's edge counters, served on the admin socket the plan binds", () => {
  const i = input();
  const conf = renderSwarmNginxConf(i.manifest);
  assert.match(conf, /lua_shared_dict swiftdeploy_edge 1m;/);
  assert.match(conf, /log_by_lua_block \{\s+require\("swiftdeploy"\)\.count\(\)/);
  assert.match(conf, /uri == "\/healthz" or uri == "\/metrics" or uri == "\/chaos"/);
  assert.match(conf, /listen unix:\/run\/nginx-admin\/edge\.sock;/);
  assert.match(conf, /location = \/edge-metrics/);
  // Lua escapes reach nginx as written (a raw newline inside a Lua string stops nginx).
  assert.ok(conf.includes(`ngx.print(table.concat(out, "\\n"), "\\n")`), conf);
  // Every family cli/edge's parsers require is printed.
  for (
    const name of [
      "swiftdeploy_edge_requests_total",
      "swiftdeploy_edge_instance_info",
      "swiftdeploy_edge_variant_requests_total",
      "swiftdeploy_edge_variant_request_duration_seconds",
      "swiftdeploy_edge_route_info",
      "swiftdeploy_edge_canary_weight",
      "swiftdeploy_edge_routes_revision",
    ]
  ) assert.ok(conf.includes(`# TYPE ${name} `), name);
  const plan = planSwarm(i);
  const nginx = plan.services.find((s) => s.role === "nginx")!.spec.TaskTemplate.ContainerSpec;
  assert.deepEqual(nginx.Mounts?.[0], {
    Type: "bind",
    Source: "/srv/shop/.swiftdeploy/nginx-admin",
    Target: "/run/nginx-admin",
  });
  assert.equal(plan.nginxAdminDir, "/srv/shop/.swiftdeploy/nginx-admin");
});

Deno.test("renderSwarmNginxConf() gives the same bytes for manifests that differ outside nginx", () => {
  const a = renderSwarmNginxConf(input().manifest);
  const b = renderSwarmNginxConf(
    input(
      MANIFEST.replace('version: "1.0.0"', 'version: "2.0.0"').replace(
        "replicas: 3",
        "replicas: 2",
      ),
    )
      .manifest,
  );
  assert.equal(a, b);
});

function task(over: {
  id: string;
  node: string;
  hash: string;
  state: string;
  desired?: string;
  err?: string;
  at?: string;
}): Task {
  return {
    ID: over.id,
    ServiceID: "svc",
    NodeID: over.node,
    Slot: 1,
    Spec: { ContainerSpec: { Image: "img", Labels: { [LABEL_CONFIG_HASH]: over.hash } } },
    DesiredState: over.desired ?? "running",
    Status: {
      Timestamp: over.at ?? "2026-11-30T12:00:00Z",
      State: over.state,
      ...(over.err ? { Err: over.err } : {}),
    },
  };
}

Deno.test("serviceProgress() is done only when every task of the new spec runs and no old one is wanted", () => {
  const plan = planSwarm(input()).services.find((s) => s.role === "app")!;
  const names = new Map([["n1", "sd-node1"], ["n2", "sd-node2"], ["n3", "sd-node3"]]);
  const h = plan.configHash;
  const mid = serviceProgress(
    plan,
    [
      task({ id: "a", node: "n1", hash: h, state: "running" }),
      task({ id: "b", node: "n2", hash: h, state: "starting" }),
      task({ id: "c", node: "n3", hash: "old", state: "running" }),
      task({ id: "d", node: "n3", hash: "old", state: "shutdown", desired: "shutdown" }),
    ],
    names,
    "updating",
  );
  assert.equal(mid.done, false);
  assert.equal(mid.line, "app 1/3 running, 1 old [sd-node1: 1/1 running, sd-node2: 0/1 running]");
  const end = serviceProgress(
    plan,
    [
      task({ id: "a", node: "n1", hash: h, state: "running" }),
      task({ id: "b", node: "n2", hash: h, state: "running" }),
      task({ id: "e", node: "n3", hash: h, state: "running" }),
    ],
    names,
    "completed",
  );
  assert.equal(end.done, true);
  assert.match(end.line, /sd-node3: 1\/1 running/);
  // All running, but Swarm's update has not said completed yet.
  assert.equal(serviceProgress(plan, [], names, "updating").done, false);
});

Deno.test("swarmStatus() lists the wanted tasks per node and recent failures; formatSwarmStatus() shows them", () => {
  const services = [{
    ID: "svc",
    Version: { Index: 1 },
    Spec: { ...service("app"), Labels: { "io.swiftdeploy.role": "app" } },
    UpdateStatus: { State: "rollback_completed", Message: "update rolled back" },
  }];
  const nodes = ["n1", "n2"].map((id, i) => ({
    ID: id,
    Version: { Index: 1 },
    Spec: {
      Role: i === 0 ? "manager" as const : "worker" as const,
      Availability: "active" as const,
    },
    Description: { Hostname: `sd-node${i + 1}` },
    Status: { State: "ready", Addr: `10.0.0.${i + 1}` },
  }));
  const status = swarmStatus(
    services,
    [
      task({ id: "a", node: "n1", hash: "h", state: "running" }),
      task({
        id: "b",
        node: "n2",
        hash: "h",
        state: "failed",
        desired: "shutdown",
        err: "unhealthy",
        at: "2026-11-30T12:00:30Z",
      }),
      task({
        id: "c",
        node: "n2",
        hash: "h",
        state: "shutdown",
        desired: "shutdown",
        at: "2026-11-30T11:00:00Z",
      }),
    ],
    nodes,
    new Date("2026-11-30T12:01:00Z"),
  );
  assert.deepEqual(status.tasks.map((t) => [t.node, t.state]), [["sd-node1", "running"], [
    "sd-node2",
    "failed",
  ]]);
  assert.equal(status.services[0]?.running, 1);
  const text = formatSwarmStatus(status);
  assert.match(text, /shop-app\s+1\/3 running {2}update rollback_completed: update rolled back/);
  assert.match(
    text,
    /sd-node2 \(worker, active, ready, 10\.0\.0\.2\): 0 running\n\s+shop-app\.1\s+failed\s+unhealthy/,
  );
});
