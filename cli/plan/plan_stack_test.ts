import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { canonicalJson } from "../digest/mod.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import type { ResolvedManifest } from "../manifest/types.ts";
import { defaultPrometheus, defaultRollout } from "../manifest/mod.ts";
import {
  appContainerName,
  type ContainerPlan,
  defaultAddressing,
  LABEL_CONFIG_HASH,
  LABEL_PROJECT,
  LABEL_ROLE,
  LABEL_VERSION,
  planStack,
  type StackPlan,
} from "./mod.ts";

/** The shipped manifest.yaml, resolved. */
function shipped(): ResolvedManifest {
  return {
    project: "swiftdeploy",
    services: {
      image: "swift-deploy-1-node:latest",
      port: 3000,
      mode: "stable",
      version: "1.0.0",
      restart_policy: "unless-stopped",
    },
    nginx: {
      image: "nginx:latest",
      port: 8080,
      proxy_timeout: 30,
      contact: "ops@swiftdeploy.local",
    },
    opa: { image: "openpolicyagent/opa:latest-static", port: 8181, decision_timeout_seconds: 5 },
    network: { name: "swiftdeploy-net", driver_type: "bridge" },
    logs: { volume_name: "swiftdeploy-logs" },
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
    rollout: defaultRollout(),
    prometheus: defaultPrometheus(),
  };
}

const CTX = { manifestDir: "/srv/stack", installDir: "/opt/swiftdeploy" };

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function container(plan: StackPlan, role: ContainerPlan["role"]): ContainerPlan {
  const found = plan.containers.find((c) => c.role === role);
  assert.ok(found, `no ${role} container in the plan`);
  return found;
}

function withServices(patch: Partial<ResolvedManifest["services"]>): ResolvedManifest {
  const m = shipped();
  return { ...m, services: { ...m.services, ...patch } };
}

Deno.test("canonicalJson() sorts keys at every depth and keeps array order", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" }, u: undefined }),
    '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
  );
});

Deno.test("canonicalJson() throws when a number is not finite", () => {
  assert.throws(() => canonicalJson({ a: Number.NaN }), /not a finite number/);
});

Deno.test("appContainerName() is the project, -app- and 8 hex chars of the app spec's sha256", () => {
  const expected = sha256(
    '{"image":"swift-deploy-1-node:latest","mode":"stable","port":3000,"restart_policy":"unless-stopped","version":"1.0.0"}',
  ).slice(0, 8);
  assert.equal(appContainerName(shipped()), `swiftdeploy-app-${expected}`);
});

Deno.test("appContainerName() changes when any field of the app spec changes", () => {
  const base = appContainerName(shipped());
  const changed = [
    withServices({ image: "other:1" }),
    withServices({ port: 3001 }),
    withServices({ mode: "canary" }),
    withServices({ version: "1.0.1" }),
    withServices({ restart_policy: "always" }),
  ].map(appContainerName);
  for (const name of changed) assert.notEqual(name, base);
  assert.equal(new Set(changed).size, changed.length);
});

Deno.test("appContainerName() stays the same when only non-app fields change", () => {
  const m = shipped();
  m.nginx.port = 9090;
  m.nginx.contact = "someone@else";
  m.policy_limits.canary.min_requests = 99;
  assert.equal(appContainerName(m), appContainerName(shipped()));
});

Deno.test("planStack() lists opa, app and nginx in dependency order with project names", () => {
  const plan = planStack(shipped(), CTX);
  assert.deepEqual(plan.containers.map((c) => [c.role, c.name]), [
    ["opa", "swiftdeploy-opa"],
    ["app", appContainerName(shipped())],
    ["nginx", "swiftdeploy-nginx"],
  ]);
  assert.deepEqual(container(plan, "nginx").dependsOn, ["app"]);
  assert.deepEqual(container(plan, "app").dependsOn, []);
  assert.equal(plan.project, "swiftdeploy");
});

Deno.test("planStack() labels every object and the config hash is the sha256 of the body without it or the version", () => {
  const plan = planStack(shipped(), CTX);
  const objects = [
    { role: "network", ...plan.network, isContainer: false },
    { role: "logs", ...plan.volume, isContainer: false },
    ...plan.containers.map((c) => ({ ...c, isContainer: true })),
  ];
  for (const object of objects) {
    const labels = object.body.Labels;
    assert.equal(labels[LABEL_PROJECT], "swiftdeploy");
    assert.equal(labels[LABEL_ROLE], object.role);
    assert.equal(labels[LABEL_VERSION], object.isContainer ? "1.0.0" : undefined);
    assert.equal(labels[LABEL_CONFIG_HASH], object.configHash);
    const { [LABEL_CONFIG_HASH]: _hash, [LABEL_VERSION]: _version, ...rest } = labels;
    // Static addresses are left out: the deploy picks a free slot, the spec stays the same.
    const networking = JSON.parse(
      JSON.stringify(object.body, (k, v) => (k === "IPAMConfig" ? undefined : v)),
    ).NetworkingConfig;
    assert.equal(
      object.configHash,
      sha256(canonicalJson({ ...object.body, NetworkingConfig: networking, Labels: rest })),
    );
  }
});

Deno.test("planStack() keeps the nginx and OPA hashes when only the version changes", () => {
  const before = planStack(shipped(), CTX);
  const m = shipped();
  m.services.version = "2.0.0";
  const after = planStack(m, CTX);
  for (const role of ["nginx", "opa"] as const) {
    assert.equal(container(after, role).configHash, container(before, role).configHash, role);
    assert.equal(container(after, role).body.Labels[LABEL_VERSION], "2.0.0");
  }
  assert.notEqual(container(after, "app").configHash, container(before, "app").configHash);
});

Deno.test("planStack() changes only the affected config hashes when the manifest changes", () => {
  const before = planStack(shipped(), CTX);
  const m = shipped();
  m.nginx.port = 9090;
  m.policy_limits.infrastructure.max_cpu_load = 2;
  const after = planStack(m, CTX);
  assert.notEqual(container(after, "nginx").configHash, container(before, "nginx").configHash);
  assert.equal(container(after, "app").configHash, container(before, "app").configHash);
  assert.equal(container(after, "opa").configHash, container(before, "opa").configHash);
  assert.equal(after.network.configHash, before.network.configHash);
  assert.equal(after.volume.configHash, before.volume.configHash);
});

Deno.test("planStack() gives identical plans for identical input", () => {
  assert.equal(
    JSON.stringify(planStack(shipped(), CTX)),
    JSON.stringify(planStack(shipped(), CTX)),
  );
});

Deno.test("planStack() bodies are plain JSON with no undefined members", () => {
  const plan = planStack(shipped(), CTX);
  assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
});

Deno.test("planStack() publishes nginx on all interfaces, opa on loopback only and never the app", () => {
  const m = shipped();
  m.nginx.port = 9090;
  m.opa.port = 9181;
  const plan = planStack(m, CTX);
  assert.deepEqual(container(plan, "nginx").body.HostConfig.PortBindings, {
    "9090/tcp": [{ HostIp: "0.0.0.0", HostPort: "9090" }],
  });
  assert.deepEqual(container(plan, "opa").body.HostConfig.PortBindings, {
    "8181/tcp": [{ HostIp: "127.0.0.1", HostPort: "9181" }],
  });
  const app = container(plan, "app").body;
  assert.equal(app.HostConfig.PortBindings, undefined);
  assert.deepEqual(app.ExposedPorts, { "3000/tcp": {} });
});

Deno.test("planStack() keeps opa off the project network and aliases app and nginx by name", () => {
  const plan = planStack(shipped(), CTX);
  const opa = container(plan, "opa").body;
  assert.equal(opa.HostConfig.NetworkMode, "bridge");
  assert.equal(opa.NetworkingConfig, undefined);
  const { subnet, ipRange, gateway, appAddress } = defaultAddressing("swiftdeploy");
  for (const role of ["app", "nginx"] as const) {
    const c = container(plan, role);
    assert.equal(c.body.HostConfig.NetworkMode, "swiftdeploy-net");
    // The app at a static address outside the dynamic range; nginx anywhere in it.
    const ipam = role === "app" ? { IPAMConfig: { IPv4Address: appAddress } } : {};
    assert.deepEqual(c.body.NetworkingConfig, {
      EndpointsConfig: { "swiftdeploy-net": { Aliases: [c.name], ...ipam } },
    });
  }
  assert.deepEqual(plan.network.body, {
    Name: "swiftdeploy-net",
    Driver: "bridge",
    CheckDuplicate: true,
    IPAM: { Driver: "default", Config: [{ Subnet: subnet, IPRange: ipRange, Gateway: gateway }] },
    Labels: plan.network.body.Labels,
  });
});

Deno.test("planStack() hardens every container and runs each as its own non-root user", () => {
  const plan = planStack(shipped(), CTX);
  const users = new Set<string>();
  for (const c of plan.containers) {
    const host = c.body.HostConfig;
    assert.deepEqual(host.CapDrop, ["ALL"]);
    assert.deepEqual(host.SecurityOpt, ["no-new-privileges:true"]);
    assert.equal(host.ReadonlyRootfs, true);
    assert.deepEqual(host.RestartPolicy, { Name: "unless-stopped", MaximumRetryCount: 0 });
    assert.match(c.body.User, /^100\d\d:100\d\d$/);
    users.add(c.body.User);
  }
  assert.equal(users.size, 3);
  for (const role of ["app", "nginx"] as const) {
    assert.deepEqual(container(plan, role).body.HostConfig.Tmpfs, {
      "/tmp": "rw,noexec,nosuid,size=16m",
    });
  }
});

Deno.test("planStack() passes the app its mode, version and port through the environment", () => {
  const plan = planStack(withServices({ mode: "canary", version: "2.0.0-rc.1", port: 4000 }), CTX);
  assert.deepEqual(container(plan, "app").body.Env, [
    "MODE=canary",
    "APP_VERSION=2.0.0-rc.1",
    "APP_PORT=4000",
    "SHUTDOWN_TIMEOUT_SECONDS=10",
  ]);
  assert.equal(container(plan, "app").body.Labels[LABEL_VERSION], "2.0.0-rc.1");
});

Deno.test("planStack() uses the manifest's restart policy on all three containers", () => {
  const plan = planStack(withServices({ restart_policy: "on-failure" }), CTX);
  for (const c of plan.containers) assert.equal(c.body.HostConfig.RestartPolicy.Name, "on-failure");
});

Deno.test("planStack() sets healthchecks in nanoseconds with a start period for the app only", () => {
  const plan = planStack(shipped(), CTX);
  const app = container(plan, "app").body.Healthcheck;
  assert.deepEqual(
    [app.Interval, app.Timeout, app.Retries, app.StartPeriod],
    [1e9, 3e9, 30, 10e9],
  );
  assert.deepEqual(app.Test, [
    "CMD",
    "/bin/busybox",
    "wget",
    "-q",
    "-O",
    "/dev/null",
    "http://127.0.0.1:3000/healthz",
  ]);
  const nginx = container(plan, "nginx").body.Healthcheck;
  assert.deepEqual(nginx.Test.at(-1), "http://127.0.0.1:8099/nginx-health");
  assert.equal(nginx.StartPeriod, undefined);
  const opa = container(plan, "opa").body.Healthcheck;
  assert.deepEqual(opa.Test.slice(0, 4), ["CMD", "/opa", "eval", "--fail"]);
  // The Rego expression survives a JSON round trip as one argument.
  assert.equal(
    JSON.parse(JSON.stringify(opa.Test))[4],
    'http.send({"method": "get", "url": "http://127.0.0.1:8181/health", "timeout": "2s"}).status_code == 200',
  );
});

Deno.test("planStack() binds the state folder, policies and logs volume from the context", () => {
  const plan = planStack(shipped(), { manifestDir: "/srv/stack/", installDir: "/opt/sd//" });
  assert.deepEqual(container(plan, "nginx").body.HostConfig.Binds, [
    "swiftdeploy-logs:/var/log/nginx",
    "/srv/stack/.swiftdeploy/nginx:/etc/nginx/swiftdeploy:ro",
    "/srv/stack/.swiftdeploy/nginx-admin:/run/nginx-admin",
  ]);
  assert.deepEqual(container(plan, "opa").body.HostConfig.Binds, [
    "/opt/sd/policies:/policies:ro",
    "/srv/stack/.swiftdeploy/opa:/data:ro",
  ]);
  assert.equal(container(plan, "app").body.HostConfig.Binds, undefined);
  assert.deepEqual(plan.hostDirs, {
    nginxConfigDir: "/srv/stack/.swiftdeploy/nginx",
    opaDataDir: "/srv/stack/.swiftdeploy/opa",
    policiesDir: "/opt/sd/policies",
  });
  assert.deepEqual(container(plan, "nginx").body.Cmd, [
    "nginx",
    "-c",
    "/etc/nginx/swiftdeploy/nginx.conf",
    "-g",
    "daemon off;",
  ]);
});

Deno.test("planStack() joins paths with single slashes when a directory is the root", () => {
  const plan = planStack(shipped(), { manifestDir: "/", installDir: "/" });
  assert.deepEqual(plan.hostDirs, {
    nginxConfigDir: "/.swiftdeploy/nginx",
    opaDataDir: "/.swiftdeploy/opa",
    policiesDir: "/policies",
  });
});

Deno.test("planStack() throws a usage error when a directory contains a colon", () => {
  assert.throws(
    () => planStack(shipped(), { manifestDir: "/srv/a:b", installDir: "/opt/sd" }),
    (e: unknown) =>
      e instanceof SwiftDeployError && e.code === "USAGE" && e.exitCode === 2 &&
      e.message.includes('"/srv/a:b"'),
  );
});

Deno.test("planStack() throws an internal error when a directory is relative", () => {
  assert.throws(
    () => planStack(shipped(), { manifestDir: "srv", installDir: "/opt/sd" }),
    (e: unknown) => e instanceof SwiftDeployError && e.code === "INTERNAL",
  );
});
