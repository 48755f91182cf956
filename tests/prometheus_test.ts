/**
 * The stack's Prometheus against the real engine: the image built from
 * Debian's binary, the container exactly as planned (hardened, static
 * address, loopback-only port, tmpfs TSDB), scraping two real app
 * containers (stable and canary) through the file_sd list the CLI writes,
 * and `prometheusVariantFigures` matching a known load. nginx's per-variant
 * listener joins once nginx.conf.tmpl serves the variant families (scope R);
 * until then the figures are asked of the apps' own families.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import { buildImages } from "../cli/image/mod.ts";
import { parseManifest } from "../cli/manifest/mod.ts";
import {
  addressingOf,
  appSlots,
  appTargetsJson,
  chooseSubnet,
  nginxTargetsJson,
  planStack,
  PROMETHEUS_APPS_FILE_NAME,
  PROMETHEUS_CONFIG_FILE_NAME,
  PROMETHEUS_NGINX_FILE_NAME,
  prometheusAddress,
  prometheusConfig,
} from "../cli/plan/mod.ts";
import { APP_FAMILIES, prometheusVariantFigures, queryInstant } from "../cli/prometheus/mod.ts";
import { SwiftDeployError } from "../cli/errors/mod.ts";
import { freePort, HOME, manifestText, removeProject } from "./_harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const PROMETHEUS_IMAGE = "prom/prometheus:latest";

async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Sends `n` GETs to `url` one after another; returns the status counts. */
async function send(url: string, n: number, init: RequestInit = {}): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
  }
  return counts;
}

Deno.test({
  name: "prometheus scrapes both app variants on loopback only and its figures match a known load",
  ...opts,
  fn: async (t) => {
    const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
    const project = `tp${crypto.randomUUID().slice(0, 8)}`;
    const dir = await Deno.makeTempDir({ prefix: `swiftdeploy-${project}-` });
    const promPort = freePort();
    try {
      const built = await t.step("the Prometheus image builds from Debian's binary", async () => {
        const [image] = await buildImages(engine, {
          homeDir: HOME,
          tags: {
            app: "swift-deploy-1-node:latest",
            nginx: "nginx:latest",
            opa: "openpolicyagent/opa:latest-static",
            prometheus: PROMETHEUS_IMAGE,
          },
          only: ["prometheus"],
          log: () => {},
        });
        assert.ok(image);
        assert.equal(image.role, "prometheus");
        console.log(`prometheus image: ${(image.size / 1e6).toFixed(1)} MB`);
        assert.ok(image.size < 80e6, `${image.size} bytes`);
      });
      assert.ok(built);

      // The plan of a manifest with Prometheus on, scraping every second.
      const text = manifestText({
        project,
        nginxPort: freePort(),
        opaPort: freePort(),
        image: "swift-deploy-1-node:latest",
        mode: "stable",
        version: "1.0.0",
        windowSeconds: 4,
        minRequests: 5,
        minDiskFreeGb: 0.1,
        maxErrorRatePercent: 1,
      });
      const parsed = parseManifest(text, "manifest.yaml");
      const manifest = {
        ...parsed,
        prometheus: {
          ...parsed.prometheus,
          enabled: true,
          port: promPort,
          scrape_interval_seconds: 1,
        },
      };
      const taken = (await engine.networkList([])).flatMap((n) =>
        ((n as { IPAM?: { Config?: { Subnet?: string }[] } }).IPAM?.Config ?? [])
          .flatMap((c) => c.Subnet ? [c.Subnet] : [])
      );
      const subnet = chooseSubnet(project, taken);
      const [stableIp, canaryIp] = appSlots(subnet) as [string, string];
      const plan = planStack(manifest, {
        manifestDir: dir,
        installDir: HOME,
        addressing: addressingOf(subnet, stableIp),
      });
      const configDir = plan.hostDirs.prometheusConfigDir!;
      await Deno.mkdir(configDir, { recursive: true, mode: 0o755 });
      await Deno.chmod(configDir, 0o755);
      await Deno.chmod(dir, 0o755);
      await Deno.chmod(join(dir, ".swiftdeploy"), 0o755);
      await Deno.writeTextFile(
        join(configDir, PROMETHEUS_CONFIG_FILE_NAME),
        prometheusConfig(manifest),
      );
      await Deno.writeTextFile(
        join(configDir, PROMETHEUS_NGINX_FILE_NAME),
        nginxTargetsJson(undefined),
      );
      await Deno.writeTextFile(join(configDir, PROMETHEUS_APPS_FILE_NAME), appTargetsJson([]));

      await engine.networkCreate(plan.network.body);
      const app = plan.containers.find((c) => c.role === "app")!;
      const canaryBody = structuredClone(app.body);
      canaryBody.Env = canaryBody.Env!.map((e) =>
        e.startsWith("MODE=")
          ? "MODE=canary"
          : e.startsWith("APP_VERSION=")
          ? "APP_VERSION=2.0.0"
          : e
      );
      canaryBody.NetworkingConfig!.EndpointsConfig[plan.network.name]!.IPAMConfig = {
        IPv4Address: canaryIp,
      };
      for (
        const [name, body] of [[app.name, app.body], [`${app.name}-canary`, canaryBody]] as const
      ) {
        await engine.containerStart(await engine.containerCreate(name, body));
      }
      const prom = plan.containers.find((c) => c.role === "prometheus")!;
      const promId = await engine.containerCreate(prom.name, prom.body);
      await engine.containerStart(promId);
      const base = `http://127.0.0.1:${promPort}`;

      await t.step(
        "Prometheus turns healthy, at its static address, published on 127.0.0.1 only",
        async () => {
          await until("Prometheus healthy", 60_000, async () => {
            const c = await engine.containerInspect(promId);
            return c?.State.Health?.Status === "healthy" ? true : undefined;
          });
          const c = (await engine.containerInspect(promId))!;
          assert.equal(c.Config.User, "10004:10004");
          assert.deepEqual(c.HostConfig.CapDrop, ["ALL"]);
          assert.equal(c.HostConfig.ReadonlyRootfs, true);
          assert.equal(
            c.NetworkSettings.Networks[plan.network.name]?.IPAddress,
            prometheusAddress(subnet),
          );
          assert.deepEqual(c.NetworkSettings.Ports["9090/tcp"], [
            { HostIp: "127.0.0.1", HostPort: String(promPort) },
          ]);
          const ready = await fetch(`${base}/-/ready`);
          assert.equal(ready.status, 200, await ready.text());
          // Not on any other host address: the bridge gateway's address refuses it.
          const gateway = plan.network.body.IPAM!.Config[0]!.Gateway;
          await assert.rejects(
            fetch(`http://${gateway}:${promPort}/-/ready`, { signal: AbortSignal.timeout(3_000) }),
          );
        },
      );

      await t.step(
        "a rewritten file_sd list brings both variants in without a reload",
        async () => {
          const tmp = join(configDir, `.${PROMETHEUS_APPS_FILE_NAME}.tmp`);
          await Deno.writeTextFile(
            tmp,
            appTargetsJson([
              { address: `${stableIp}:3000`, variant: "stable", version: "1.0.0" },
              { address: `${canaryIp}:3000`, variant: "canary", version: "2.0.0" },
            ]),
          );
          await Deno.rename(tmp, join(configDir, PROMETHEUS_APPS_FILE_NAME));
          const up = await until("both app targets up", 30_000, async () => {
            const samples = await queryInstant(base, 'up{job="apps"} == 1');
            return samples.length === 2 ? samples : undefined;
          });
          assert.deepEqual(up.map((s) => s.metric.variant).sort(), ["canary", "stable"]);
          assert.deepEqual(
            up.map((s) => s.metric.version).sort(),
            ["1.0.0", "2.0.0"],
          );
        },
      );

      await t.step("prometheusVariantFigures() matches a known load within tolerance", async () => {
        const stable = `http://${stableIp}:3000/`;
        const canary = `http://${canaryIp}:3000/`;
        // Every series the window reads exists before it (a new series' first count is not an increase).
        await send(stable, 1);
        await send(canary, 1);
        const chaos = (body: unknown) =>
          fetch(`http://${canaryIp}:3000/chaos`, {
            method: "POST",
            body: JSON.stringify(body),
            headers: { "content-type": "application/json" },
          }).then((r) => r.body?.cancel());
        await chaos({ mode: "error", rate: 1 });
        await send(canary, 1);
        await chaos({ mode: "recover" });
        // The window (20 s, ending 17 s after the load starts) leaves the warm-up out.
        await new Promise((r) => setTimeout(r, 5_000));

        const start = Date.now();
        const s = await send(stable, 400);
        const c1 = await send(canary, 80);
        await chaos({ mode: "error", rate: 1 });
        const c2 = await send(canary, 20);
        await chaos({ mode: "recover" });
        assert.equal(s.get(200), 400);
        assert.equal(c1.get(200), 80);
        assert.equal([...c2].filter(([k]) => k >= 500).reduce((n, [, v]) => n + v, 0), 20);
        await new Promise((r) => setTimeout(r, Math.max(0, start + 17_000 - Date.now())));
        // `increase` extrapolates to the window's ends: up to one scrape interval
        // (1 s) over 19 s sampled, about 5 % more than was counted.
        const windowSeconds = 20;
        const f = await prometheusVariantFigures(base, windowSeconds, { families: APP_FAMILIES });
        console.log(`window ${windowSeconds} s: ${JSON.stringify(f)}`);
        const near = (got: number | null, want: number, what: string) =>
          assert.ok(
            got !== null && Math.abs(got - want) <= want * 0.1,
            `${what}: ${got} vs ${want}`,
          );
        near(f.stable.requests, 400, "stable requests");
        near(f.canary.requests, 100, "canary requests");
        near(f.canary.errors, 20, "canary errors");
        near(f.canary.error_rate_percent, 20, "canary error rate");
        assert.equal(f.stable.errors, 0);
        assert.equal(f.stable.error_rate_percent, 0);
        // Answers from a bridge hop take well under 100 ms: the P99's bucket bound says so.
        assert.ok(
          f.stable.p99_latency_ms !== null && f.stable.p99_latency_ms <= 100,
          `${f.stable.p99_latency_ms}`,
        );
        assert.equal(f.stable.unknown, undefined);
        assert.equal(f.canary.unknown, undefined);
      });

      await t.step("queries name themselves in typed errors", async () => {
        await assert.rejects(
          queryInstant(base, "sum(rate(x[5m]"),
          (e: unknown) =>
            e instanceof SwiftDeployError && e.code === "METRICS_INVALID" &&
            e.message.includes('"sum(rate(x[5m]"') && /bad_data/.test(e.message),
        );
        await assert.rejects(
          queryInstant(`http://127.0.0.1:${freePort()}`, "up", { timeoutMs: 2_000 }),
          (e: unknown) =>
            e instanceof SwiftDeployError && e.code === "METRICS_UNREACHABLE" &&
            e.message.includes('"up"'),
        );
      });
    } finally {
      await removeProject(project);
      engine.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
