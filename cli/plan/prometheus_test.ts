import assert from "node:assert/strict";
import YAML from "yaml";
import { SwiftDeployError } from "../errors/mod.ts";
import { parseManifest, type ResolvedManifest } from "../manifest/mod.ts";
import {
  appSlots,
  appTargetsJson,
  defaultAddressing,
  LABEL_CONFIG_HASH,
  LABEL_PROMETHEUS_CONFIG,
  NGINX_ADMIN_SOCKET,
  nginxPrometheusListener,
  nginxStaticAddress,
  nginxTargetsJson,
  planStack,
  prometheusAddress,
  prometheusConfig,
  type StackPlan,
} from "./mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const CTX = { manifestDir: "/srv/stack", installDir: "/opt/sd" };

async function shipped(): Promise<ResolvedManifest> {
  return parseManifest(await Deno.readTextFile(`${ROOT}/manifest.yaml`), "manifest.yaml");
}

function withPrometheus(
  m: ResolvedManifest,
  over: Partial<ResolvedManifest["prometheus"]> = {},
): ResolvedManifest {
  return { ...m, prometheus: { ...m.prometheus, enabled: true, port: 9391, ...over } };
}

function prometheusOf(plan: StackPlan) {
  const c = plan.containers.find((c) => c.role === "prometheus");
  assert.ok(c, "the plan has a prometheus container");
  return c;
}

Deno.test("planStack() leaves every container and folder as before when prometheus is disabled", async () => {
  const m = await shipped();
  assert.equal(m.prometheus.enabled, false, "the shipped manifest leaves Prometheus off");
  const plan = planStack(m, CTX);
  assert.deepEqual(plan.containers.map((c) => c.role), ["opa", "app", "nginx"]);
  assert.equal(plan.hostDirs.prometheusConfigDir, undefined);
  // Its other settings change nothing while it is off.
  const other = planStack({ ...m, prometheus: { ...m.prometheus, port: 1, image: "x:y" } }, CTX);
  assert.deepEqual(other, plan);
  assert.equal(plan.prometheus, undefined);
  assert.ok(!("prometheus" in plan), "no prometheus key at all: a disabled plan is as before");
  // Turning it on changes no other container but for nginx's static address
  // (outside its config hash: a kept nginx is kept only at that address).
  const on = planStack(withPrometheus(m), CTX);
  const [opa, app, nginx] = on.containers;
  assert.deepEqual([opa, app], plan.containers.slice(0, 2));
  assert.equal(nginx!.configHash, plan.containers[2]!.configHash);
  const endpoint = nginx!.body.NetworkingConfig!.EndpointsConfig[m.network.name]!;
  const subnet = defaultAddressing(m.project).subnet;
  assert.deepEqual(endpoint.IPAMConfig, { IPv4Address: nginxStaticAddress(subnet) });
  const { IPAMConfig: _static, ...rest } = endpoint;
  assert.deepEqual(
    { ...nginx!.body, NetworkingConfig: { EndpointsConfig: { [m.network.name]: rest } } },
    plan.containers[2]!.body,
  );
});

Deno.test("planStack() gives nginx .9 and lists the files of Prometheus's folder when enabled", async () => {
  const m = withPrometheus(await shipped(), { scrape_interval_seconds: 2 });
  const addressing = defaultAddressing(m.project);
  const plan = planStack(m, { ...CTX, addressing });
  const prefix = addressing.subnet.replace(/\.0\/24$/, "");
  const dir = "/srv/stack/.swiftdeploy/prometheus";
  assert.deepEqual(plan.prometheus, {
    config: { path: `${dir}/prometheus.yml`, content: prometheusConfig(m) },
    nginxTargets: { path: `${dir}/nginx.json`, content: nginxTargetsJson(`${prefix}.9`) },
    appTargetsPath: `${dir}/apps.json`,
    address: `${prefix}.8`,
    nginxAddress: `${prefix}.9`,
  });
  const held = [prometheusAddress(addressing.subnet), nginxStaticAddress(addressing.subnet)];
  assert.equal(new Set([...held, ...appSlots(addressing.subnet)]).size, 6, "no two share a slot");
  assert.ok(held.every((ip) => Number(ip.split(".")[3]) < 128), "outside the dynamic .128/25");
  assert.throws(() => nginxStaticAddress("10.1.0.0/16"), SwiftDeployError);
});

Deno.test("planStack() hardens the prometheus container and publishes it on 127.0.0.1 only", async () => {
  const m = withPrometheus(await shipped());
  const plan = planStack(m, CTX);
  const { body, name, dependsOn } = prometheusOf(plan);
  assert.equal(name, `${m.project}-prometheus`);
  assert.deepEqual(dependsOn, []);
  assert.equal(body.Image, m.prometheus.image);
  assert.equal(body.User, "10004:10004");
  const host = body.HostConfig;
  assert.deepEqual(host.CapDrop, ["ALL"]);
  assert.deepEqual(host.SecurityOpt, ["no-new-privileges:true"]);
  assert.equal(host.ReadonlyRootfs, true);
  assert.deepEqual(host.PortBindings, {
    "9090/tcp": [{ HostIp: "127.0.0.1", HostPort: "9391" }],
  });
  assert.match(
    host.Tmpfs?.["/prometheus"] ?? "",
    /^rw,noexec,nosuid,size=\d+m,uid=10004,gid=10004/,
  );
  assert.deepEqual(host.Binds, [
    "/srv/stack/.swiftdeploy/prometheus:/etc/prometheus/swiftdeploy:ro",
  ]);
  assert.equal(plan.hostDirs.prometheusConfigDir, "/srv/stack/.swiftdeploy/prometheus");
  assert.deepEqual(body.Healthcheck.Test, [
    "CMD",
    "/bin/busybox",
    "wget",
    "-q",
    "-O",
    "/dev/null",
    "http://127.0.0.1:9090/-/ready",
  ]);
  assert.ok(body.Cmd?.includes("--config.file=/etc/prometheus/swiftdeploy/prometheus.yml"));
  assert.ok(body.Cmd?.includes("--storage.tsdb.path=/prometheus"));
});

Deno.test("planStack() puts prometheus at a static address outside the dynamic range and the app slots", async () => {
  const m = withPrometheus(await shipped());
  const addressing = defaultAddressing(m.project);
  const plan = planStack(m, { ...CTX, addressing });
  const endpoint = prometheusOf(plan).body.NetworkingConfig?.EndpointsConfig[m.network.name];
  const ip = endpoint?.IPAMConfig?.IPv4Address ?? "";
  assert.equal(ip, prometheusAddress(addressing.subnet));
  const host = Number(ip.split(".")[3]);
  assert.ok(host > 1 && host < 128, `.${host} lies outside the dynamic .128/25`);
  assert.ok(!appSlots(addressing.subnet).includes(ip), "not an app slot");
  assert.equal(
    ip.split(".").slice(0, 3).join("."),
    addressing.gateway.split(".").slice(0, 3).join("."),
  );
  assert.throws(() => prometheusAddress("10.1.0.0/16"), SwiftDeployError);
});

Deno.test("planStack() replaces prometheus when its configuration text changes", async () => {
  const base = await shipped();
  const a = prometheusOf(planStack(withPrometheus(base), CTX));
  const b = prometheusOf(
    planStack(withPrometheus(base, { scrape_interval_seconds: 2 }), CTX),
  );
  assert.notEqual(a.body.Labels[LABEL_PROMETHEUS_CONFIG], b.body.Labels[LABEL_PROMETHEUS_CONFIG]);
  assert.notEqual(a.configHash, b.configHash);
  assert.equal(a.body.Labels[LABEL_CONFIG_HASH], a.configHash);
  // A new app version is not a change of Prometheus.
  const c = prometheusOf(
    planStack({ ...withPrometheus(base), services: { ...base.services, version: "9.9.9" } }, CTX),
  );
  assert.equal(c.configHash, a.configHash);
});

Deno.test("prometheusConfig() is a configuration promtool accepts, with both file_sd jobs", async () => {
  const m = withPrometheus(await shipped(), { scrape_interval_seconds: 2 });
  const text = prometheusConfig(m);
  const doc = YAML.parse(text);
  assert.equal(doc.global.scrape_interval, "2s");
  assert.equal(doc.global.scrape_timeout, "2s");
  assert.deepEqual(doc.scrape_configs.map((j: { job_name: string }) => j.job_name), [
    "apps",
    "nginx",
  ]);
  assert.deepEqual(doc.scrape_configs[0].file_sd_configs[0].files, [
    "/etc/prometheus/swiftdeploy/apps.json",
  ]);
  // Long intervals keep the timeout Prometheus accepts (at most 10 s here, never above the interval).
  assert.equal(
    YAML.parse(prometheusConfig(withPrometheus(m, { scrape_interval_seconds: 30 }))).global
      .scrape_timeout,
    "10s",
  );
  // promtool reads it (the file_sd paths point into the container, so relocate them).
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_promcfg_" });
  try {
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      text.replaceAll("/etc/prometheus/swiftdeploy", dir),
    );
    await Deno.writeTextFile(
      `${dir}/apps.json`,
      appTargetsJson([{ address: "10.0.0.16:3000", variant: "stable", version: "1" }]),
    );
    await Deno.writeTextFile(`${dir}/nginx.json`, nginxTargetsJson("10.0.0.130"));
    const out = await new Deno.Command("promtool", {
      args: ["check", "config", `${dir}/prometheus.yml`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, said);
    assert.doesNotMatch(said, /WARNING|FAILED/, said);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("appTargetsJson() and nginxTargetsJson() list labelled targets in a stable order", () => {
  const text = appTargetsJson([
    { address: "10.0.0.17:3000", variant: "canary", version: "2.0.0" },
    { address: "10.0.0.16:3000", variant: "stable", version: "1.0.0" },
  ]);
  assert.deepEqual(JSON.parse(text), [
    { targets: ["10.0.0.17:3000"], labels: { variant: "canary", version: "2.0.0" } },
    { targets: ["10.0.0.16:3000"], labels: { variant: "stable", version: "1.0.0" } },
  ]);
  assert.equal(
    appTargetsJson([
      { address: "10.0.0.16:3000", variant: "stable", version: "1.0.0" },
      { address: "10.0.0.17:3000", variant: "canary", version: "2.0.0" },
    ]),
    text,
  );
  assert.deepEqual(JSON.parse(appTargetsJson([])), []);
  assert.deepEqual(JSON.parse(nginxTargetsJson("10.0.0.130")), [
    { targets: ["10.0.0.130:9113"], labels: {} },
  ]);
  assert.deepEqual(JSON.parse(nginxTargetsJson(undefined)), []);
  assert.throws(
    () => appTargetsJson([{ address: "app:3000", variant: "stable", version: "1" }]),
    (e: unknown) => e instanceof SwiftDeployError && e.message.includes('"app:3000"'),
  );
});

Deno.test("nginxPrometheusListener() allows Prometheus's address only, and is empty when disabled", async () => {
  assert.equal(nginxPrometheusListener(undefined, NGINX_ADMIN_SOCKET), "");
  const text = nginxPrometheusListener("10.0.0.8", NGINX_ADMIN_SOCKET);
  assert.match(text, /listen 9113;/);
  assert.match(text, /allow 10\.0\.0\.8;\n\s+deny all;/);
  assert.match(text, /proxy_pass http:\/\/unix:\/run\/nginx-admin\/edge\.sock:\/edge-metrics;/);
  assert.throws(() => nginxPrometheusListener("10.0.0.8; allow all", NGINX_ADMIN_SOCKET));
  // Debian's nginx accepts it inside an http block.
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_promlisten_" });
  try {
    await Deno.writeTextFile(
      `${dir}/nginx.conf`,
      `pid ${dir}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n    ${text}\n}\n`,
    );
    const out = await new Deno.Command("nginx", {
      args: ["-t", "-q", "-p", dir, "-c", `${dir}/nginx.conf`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
