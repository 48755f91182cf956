import assert from "node:assert/strict";
import YAML from "yaml";
import type { ContainerPlan, StackPlan } from "../plan/mod.ts";
import { GENERATED_FILE_NAMES } from "./mod.ts";
import {
  type LoadedVariant,
  loadVariant,
  planAndRender,
  requireProgram,
  run,
  VARIANTS,
} from "./_testing.ts";

const COMPOSE = requireProgram("docker-compose");

/** Writes the variant's compose file into a fresh folder and returns the file's path. */
async function writeCompose(text: string): Promise<{ dir: string; file: string }> {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_compose_" });
  const file = `${dir}/docker-compose.yml`;
  await Deno.writeTextFile(file, text);
  return { dir, file };
}

/** Compose's own reading of the file (`docker-compose config`), parsed. */
interface ComposeConfig {
  services: Record<string, Record<string, unknown>>;
  networks: unknown;
  volumes: unknown;
}

async function composeConfig(text: string): Promise<{ config: ComposeConfig; dir: string }> {
  const { dir, file } = await writeCompose(text);
  try {
    const out = await run(COMPOSE, ["-f", file, "config"], dir);
    assert.equal(out.code, 0, out.stderr);
    return { config: YAML.parse(out.stdout), dir };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function resolvePath(dir: string, path: string): string {
  const parts: string[] = [];
  for (const part of (path.startsWith("/") ? path : `${dir}/${path}`).split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

/** What compose must have understood for `container`, in compose's normalised shape. */
function expectedService(plan: StackPlan, container: ContainerPlan, dir: string, policies: string) {
  const { body } = container;
  const host = body.HostConfig;
  const seconds = (ns: number) => `${ns / 1e9}s`;
  const binds: Record<string, string> = {
    "/var/log/nginx": `${plan.volume.name}:/var/log/nginx:rw`,
    "/etc/nginx/swiftdeploy": `${dir}:/etc/nginx/swiftdeploy:ro`,
    "/policies": `${resolvePath(dir, policies)}:/policies:ro`,
    "/data": `${dir}:/data:ro`,
    "/etc/prometheus/swiftdeploy": `${dir}/.swiftdeploy/prometheus:/etc/prometheus/swiftdeploy:ro`,
  };
  // The admin folder is a tmpfs in compose (no CLI reads it there), not a bind.
  const adminTmpfs: Record<string, string> = {
    "/run/nginx-admin": "/run/nginx-admin:rw,noexec,nosuid,size=64k,uid=10002,gid=10002,mode=0700",
  };
  const bindTargets = (host.Binds ?? []).map((bind) => bind.split(":")[1]!);
  const volumes = bindTargets.flatMap((t) => binds[t] === undefined ? [] : [binds[t]]);
  const tmpfs = [
    ...Object.entries(host.Tmpfs ?? {}).map(([t, o]) => `${t}:${o}`),
    ...bindTargets.flatMap((t) => adminTmpfs[t] === undefined ? [] : [adminTmpfs[t]]),
  ];
  return {
    container_name: container.name,
    image: body.Image,
    user: body.User,
    command: body.Cmd,
    environment: body.Env &&
      Object.fromEntries(
        body.Env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
      ),
    expose: Object.keys(body.ExposedPorts).map((p) => p.replace("/tcp", "")),
    ports: host.PortBindings &&
      Object.entries(host.PortBindings).flatMap(([port, bs]) =>
        bs.map((b) => `${b.HostIp}:${b.HostPort}:${port}`)
      ),
    volumes: volumes.length > 0 ? volumes : undefined,
    tmpfs: tmpfs.length > 0 ? tmpfs : undefined,
    cap_drop: host.CapDrop,
    security_opt: host.SecurityOpt,
    read_only: host.ReadonlyRootfs,
    restart: host.RestartPolicy.Name,
    healthcheck: {
      test: body.Healthcheck.Test,
      interval: seconds(body.Healthcheck.Interval),
      timeout: seconds(body.Healthcheck.Timeout),
      retries: body.Healthcheck.Retries,
      ...(body.Healthcheck.StartPeriod === undefined
        ? {}
        : { start_period: seconds(body.Healthcheck.StartPeriod) }),
    },
    network_mode: host.NetworkMode === plan.network.name ? undefined : host.NetworkMode,
    networks: host.NetworkMode === plan.network.name
      ? {
        [plan.network.name]: {
          aliases: body.NetworkingConfig?.EndpointsConfig[plan.network.name]?.Aliases,
          ...(body.NetworkingConfig?.EndpointsConfig[plan.network.name]?.IPAMConfig
            ? {
              ipv4_address:
                body.NetworkingConfig.EndpointsConfig[plan.network.name]!.IPAMConfig!.IPv4Address,
            }
            : {}),
        },
      }
      : undefined,
    depends_on: container.dependsOn.length > 0
      ? Object.fromEntries(container.dependsOn.map((r) => [r, { condition: "service_healthy" }]))
      : undefined,
    labels: body.Labels,
  };
}

/**
 * `docker-compose config` prints a compose file again, with every "$" of a
 * value doubled; a "$" that compose interpolated would print as the
 * variable's value (or nothing) instead.
 */
function dollarsEscaped(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll("$", () => "$$");
  if (Array.isArray(value)) return value.map(dollarsEscaped);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dollarsEscaped(v)]));
  }
  return value;
}

async function assertComposeAgreesWithPlan(loaded: LoadedVariant): Promise<void> {
  const { plan, files, variant } = loaded;
  const { config, dir } = await composeConfig(files["docker-compose.yml"]);
  assert.deepEqual(Object.keys(config.services).sort(), plan.containers.map((c) => c.role).sort());
  for (const container of plan.containers) {
    const expected = expectedService(plan, container, dir, variant.relPoliciesDir);
    const actual = config.services[container.role] ?? {};
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(
        actual[key],
        dollarsEscaped(value),
        `${variant.name}: services.${container.role}.${key}`,
      );
    }
  }
  assert.deepEqual(config.networks, {
    [plan.network.name]: {
      name: plan.network.body.Name,
      driver: plan.network.body.Driver,
      ipam: {
        driver: "default",
        config: plan.network.body.IPAM!.Config.map((c) => ({
          subnet: c.Subnet,
          ip_range: c.IPRange,
          gateway: c.Gateway,
        })),
      },
      labels: plan.network.body.Labels,
    },
  });
  assert.deepEqual(config.volumes, {
    [plan.volume.name]: {
      name: plan.volume.body.Name,
      driver: plan.volume.body.Driver,
      labels: plan.volume.body.Labels,
    },
  });
}

for (const variant of VARIANTS) {
  Deno.test(`docker-compose accepts the compose file and reads it as the plan when rendering the "${variant.name}" variant`, async () => {
    const loaded = await loadVariant(variant);
    const { dir, file } = await writeCompose(loaded.files["docker-compose.yml"]);
    try {
      const [quiet] = await Promise.all([
        run(COMPOSE, ["-f", file, "config", "-q"], dir),
        assertComposeAgreesWithPlan(loaded),
      ]);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal(quiet.stderr, "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("docker-compose reads the prometheus service as the plan when prometheus.enabled is set", async () => {
  const shipped = await loadVariant(VARIANTS[0]!);
  const manifest = {
    ...shipped.manifest,
    prometheus: { ...shipped.manifest.prometheus, enabled: true, port: 9391 },
  };
  const loaded = { ...shipped, manifest, ...await planAndRender(manifest, shipped.variant) };
  assert.deepEqual(loaded.plan.containers.map((c) => c.role), [
    "opa",
    "app",
    "nginx",
    "prometheus",
  ]);
  await assertComposeAgreesWithPlan(loaded);
  const { config } = await composeConfig(loaded.files["docker-compose.yml"]);
  const prometheus = config.services["prometheus"]!;
  assert.deepEqual(prometheus["ports"], ["127.0.0.1:9391:9090/tcp"], "loopback only");
  assert.ok(
    (prometheus["tmpfs"] as string[]).some((t) => t.startsWith("/prometheus:")),
    "the TSDB is a tmpfs",
  );
});

Deno.test("renderAll() writes a compose file with neither a version nor a top-level name", async () => {
  for (const variant of VARIANTS) {
    const { files } = await loadVariant(variant);
    const doc = YAML.parse(files["docker-compose.yml"]);
    assert.deepEqual(Object.keys(doc), ["services", "networks", "volumes"]);
  }
});

Deno.test("renderAll() doubles $ in the compose file so docker-compose does not interpolate it", async () => {
  const loaded = await loadVariant(VARIANTS[0]!);
  const manifest = {
    ...loaded.manifest,
    services: { ...loaded.manifest.services, image: "reg.local/app:v$1", version: "1.0.0-$HOME" },
  };
  const rendered = await planAndRender(manifest, VARIANTS[0]!);
  assert.ok(rendered.files["docker-compose.yml"].includes('"APP_VERSION=1.0.0-$$HOME"'));
  await assertComposeAgreesWithPlan({ ...loaded, manifest, ...rendered });
});

Deno.test("docker-compose config -q rejects a broken compose file", async () => {
  const { files } = await loadVariant(VARIANTS[0]!);
  // cap_drop must be a list: a scalar makes the file invalid.
  const list = '    cap_drop:\n      - "ALL"';
  assert.ok(files["docker-compose.yml"].includes(list), "the corruption applies");
  const { dir, file } = await writeCompose(
    files["docker-compose.yml"].replaceAll(list, "    cap_drop: 7"),
  );
  try {
    const out = await run(COMPOSE, ["-f", file, "config", "-q"], dir);
    assert.notEqual(out.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("renderAll() and planStack() bind folders only, never a single file, in every service (issue 11 case 10)", async () => {
  // `init` replaces files by rename: a bind of the file itself keeps showing
  // the old inode to a running container; a bind of its folder sees the new file.
  for (const variant of VARIANTS) {
    const { files, plan } = await loadVariant(variant);
    const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_binds_" });
    try {
      for (const name of GENERATED_FILE_NAMES) {
        await Deno.writeTextFile(`${dir}/${name}`, files[name]);
      }
      await Deno.mkdir(`${dir}/policies`); // where variants with a relative policies path have it
      const out = await run(COMPOSE, ["-f", `${dir}/docker-compose.yml`, "config"], dir);
      assert.equal(out.code, 0, out.stderr);
      const config: ComposeConfig = YAML.parse(out.stdout);
      let checked = 0;
      for (const [service, spec] of Object.entries(config.services)) {
        for (const volume of (spec["volumes"] ?? []) as string[]) {
          const [source, target] = volume.split(":") as [string, string];
          if (!source.startsWith("/")) continue; // a named volume
          if (source.startsWith(`${dir}/`) || source === dir) {
            const st = await Deno.stat(source);
            assert.ok(st.isDirectory, `${variant.name}: ${service} binds the file "${source}"`);
            checked++;
          } else {
            // The installation's policies, outside this folder: a folder by construction.
            assert.equal(target, "/policies", `${variant.name}: ${service} binds "${volume}"`);
          }
        }
      }
      assert.ok(checked >= 2, `${variant.name}: nginx's and OPA's config binds were checked`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    // The engine path: every bind source is a folder the CLI creates (or the logs volume).
    const folders = [
      ...Object.values(plan.hostDirs),
      plan.hostDirs.nginxConfigDir.replace(/nginx$/, "nginx-admin"),
    ];
    for (const container of plan.containers) {
      for (const bind of container.body.HostConfig.Binds ?? []) {
        const source = bind.split(":")[0]!;
        if (source === plan.volume.name) continue;
        assert.ok(folders.includes(source), `${variant.name}: ${container.role} binds "${source}"`);
      }
    }
  }
});
