/**
 * The stack's optional Prometheus wired into deploy (issue 13 item 9), end
 * to end through the real CLI, engine, nginx and Prometheus: `build` makes
 * its image when the manifest enables it; `deploy` runs it last, at its
 * static address, with nginx at its own (the target of nginx.json); nginx's
 * Prometheus listener answers Prometheus only, and nothing of Prometheus is
 * reachable through nginx's public port; a canary rollout whose analyses
 * ask Prometheus (`rollout.analysis.source: prometheus`) completes under a
 * steady load, while apps.json follows the variants.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import {
  LABEL_PROJECT,
  LABEL_ROLE,
  NGINX_PROMETHEUS_PORT,
  prometheusAddress,
} from "../cli/plan/mod.ts";
import { queryInstant } from "../cli/prometheus/mod.ts";
import { freePort, type RunResult, spawnCli, type TestStack, withStack } from "./_harness.ts";

const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    await sleep(250);
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** The rollout and prometheus sections: two weights, each analysed from Prometheus over 4 s. */
function sections(promPort: number): string {
  return `rollout:
  strategy: canary
  steps:
    - weight: 20
    - analysis: {}
    - weight: 60
    - analysis: {}
  analysis:
    source: prometheus
    window: 4s
    min_requests: 10
    max_error_rate_percent: 5
    max_error_rate_increase_points: 1
    max_p99_latency_ms: 2000
    max_p99_ratio: 3
    failure_limit: 0
    inconclusive_limit: 1
  routing:
    header: X-Canary
    sticky_cookie: null
prometheus:
  enabled: true
  image: prom/prometheus:latest
  port: ${promPort}
  scrape_interval: 1s
`;
}

interface Load {
  stop(): Promise<{ total: number; statuses: Record<string, number> }>;
}

/** `workers` loops of GET / through nginx (Deno's fetch keeps connections alive) until stopped. */
function steadyLoad(stack: TestStack, workers: number): Load {
  let running = true;
  const statuses: Record<string, number> = {};
  let total = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      let key: string;
      try {
        const res = await fetch(stack.url("/"), { signal: AbortSignal.timeout(5_000) });
        await res.body?.cancel();
        key = String(res.status);
      } catch (e) {
        key = `error: ${(e as Error).message}`;
      }
      statuses[key] = (statuses[key] ?? 0) + 1;
      total++;
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { total, statuses };
    },
  };
}

async function containerOf(engine: EngineClient, project: string, role: string) {
  const [c] = await engine.containerList([`${LABEL_PROJECT}=${project}`, `${LABEL_ROLE}=${role}`]);
  assert.ok(c, `a ${role} container runs`);
  return (await engine.containerInspect(c.Id))!;
}

const modeOf = async (path: string) => ((await Deno.stat(path)).mode! & 0o777).toString(8);

Deno.test({
  name:
    "deploy with prometheus.enabled runs Prometheus at its static address scraping nginx's listener, and a canary analysed from Prometheus completes",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({ windowSeconds: 3, minRequests: 5 }, async (stack) => {
      const promPort = freePort();
      await Deno.writeTextFile(
        stack.manifestPath,
        (await Deno.readTextFile(stack.manifestPath)) + sections(promPort),
      );
      const promDir = join(stack.dir, ".swiftdeploy", "prometheus");
      const base = `http://127.0.0.1:${promPort}`;

      // `build` makes the Prometheus image when the manifest enables it.
      const built = await stack.run(["build", "--only", "prometheus"]);
      assert.equal(built.code, 0, output(built));
      assert.match(built.stdout, /prometheus prom\/prometheus:latest \d+\.\d MB/);

      const t0 = performance.now();
      const first = await stack.run(["deploy"]);
      assert.equal(first.code, 0, output(first));
      console.log(
        `first deploy with Prometheus: ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );

      const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
      let nginxIp: string;
      try {
        const net = `${stack.project}-net`;
        const prom = await containerOf(engine, stack.project, "prometheus");
        const nginx = await containerOf(engine, stack.project, "nginx");
        const subnet = (await engine.networkInspect(net))!.IPAM!.Config![0]!.Subnet!;
        const prefix = subnet.replace(/\.0\/24$/, "");
        assert.equal(prom.State.Health?.Status, "healthy");
        assert.equal(prom.NetworkSettings.Networks[net]?.IPAddress, prometheusAddress(subnet));
        nginxIp = nginx.NetworkSettings.Networks[net]!.IPAddress;
        assert.equal(nginxIp, `${prefix}.9`, "nginx at its static address");
        // nginx's Prometheus listener is never published; Prometheus only on loopback.
        const published = Object.entries(nginx.NetworkSettings.Ports ?? {})
          .filter(([, bindings]) => bindings && bindings.length > 0).map(([port]) => port);
        assert.deepEqual(published, [`${stack.nginxPort}/tcp`]);
        assert.deepEqual(prom.NetworkSettings.Ports["9090/tcp"], [
          { HostIp: "127.0.0.1", HostPort: String(promPort) },
        ]);
      } finally {
        engine.close();
      }

      // Its folder: 0755, files 0644 (uid 10004 reads them), the targets as planned.
      assert.equal(await modeOf(promDir), "755");
      for (const f of ["prometheus.yml", "apps.json", "nginx.json"]) {
        assert.equal(await modeOf(join(promDir, f)), "644", f);
      }
      assert.deepEqual(JSON.parse(await Deno.readTextFile(join(promDir, "nginx.json"))), [
        { targets: [`${nginxIp}:${NGINX_PROMETHEUS_PORT}`], labels: {} },
      ]);
      const appsBefore = JSON.parse(await Deno.readTextFile(join(promDir, "apps.json")));
      assert.deepEqual(appsBefore.map((g: { labels: unknown }) => g.labels), [
        { variant: "stable", version: "1.0.0" },
      ]);

      // Prometheus scrapes nginx's listener and the app.
      const up = await until("both jobs up", 60_000, async () => {
        const s = await queryInstant(base, "up == 1");
        const jobs = s.map((x) => x.metric.job).sort();
        return jobs.includes("nginx") && jobs.includes("apps") ? jobs : undefined;
      });
      assert.deepEqual(up, ["apps", "nginx"]);

      // The listener refuses any other address (here the host, through the bridge gateway).
      const refused = await fetch(`http://${nginxIp}:${NGINX_PROMETHEUS_PORT}/metrics`, {
        signal: AbortSignal.timeout(5_000),
      });
      assert.equal(refused.status, 403, await refused.text());
      // Nothing of Prometheus answers through nginx's public port: the app does.
      for (const path of ["/api/v1/status/buildinfo", "/-/ready", "/api/v1/query?query=up"]) {
        const res = await fetch(stack.url(path), { signal: AbortSignal.timeout(5_000) });
        const text = await res.text();
        assert.doesNotMatch(text, /"status":"success"|Prometheus/i, `${path}: ${text}`);
        assert.notEqual(res.status, 200, `${path} answered 200: ${text}`);
      }

      // v2 as a canary under a steady load; its analyses ask Prometheus.
      const load = steadyLoad(stack, 4);
      let counts;
      try {
        const text = await Deno.readTextFile(stack.manifestPath);
        await Deno.writeTextFile(
          stack.manifestPath,
          text.replace(/version: "1.0.0"/, 'version: "2.0.0"'),
        );
        const started = performance.now();
        const child = spawnCli(["-f", stack.manifestPath, "deploy"]);
        // apps.json lists the canary while it runs beside stable.
        const during = await until("apps.json lists the canary", 60_000, async () => {
          const groups = JSON.parse(await Deno.readTextFile(join(promDir, "apps.json")));
          return groups.length === 2 ? groups : undefined;
        });
        const out = await child.output();
        const dec = new TextDecoder();
        const rollout: RunResult = {
          code: out.code,
          stdout: dec.decode(out.stdout),
          stderr: dec.decode(out.stderr),
        };
        console.log(`rollout: ${((performance.now() - started) / 1000).toFixed(1)} s`);
        assert.equal(rollout.code, 0, output(rollout));
        assert.match(rollout.stdout, /Rollout \S+ complete: version 2\.0\.0 takes all traffic/);
        assert.deepEqual(
          during.map((g: { labels: { variant: string; version: string } }) => g.labels),
          [{ variant: "canary", version: "2.0.0" }, { variant: "stable", version: "1.0.0" }],
        );
      } finally {
        counts = await load.stop();
      }
      console.log(`steady load: ${JSON.stringify(counts)}`);
      assert.ok(counts.total > 500, `only ${counts.total} requests`);
      assert.deepEqual(Object.keys(counts.statuses), ["200"], JSON.stringify(counts.statuses));

      // The analyses: both variants with requests, from Prometheus's increases.
      const history = (await Deno.readTextFile(join(stack.dir, "history.jsonl")))
        .trim().split("\n").map((l) => JSON.parse(l));
      const analyses = history.filter((e) => e.event === "rollout_analysis").map((e) => e.data);
      console.log(`analyses: ${JSON.stringify(analyses)}`);
      assert.deepEqual(analyses.map((a) => [a.weight, a.outcome]), [[20, "continue"], [
        60,
        "continue",
      ]]);
      for (const a of analyses) {
        assert.ok(a.canary.requests > 0 && a.stable.requests > 0, JSON.stringify(a));
        assert.equal(a.window_seconds, 4);
      }
      // nginx's own counters (the edge source) differ by whole requests; Prometheus's
      // `increase` extrapolates to the window's ends: fractions show where they came from.
      const figures = analyses.flatMap((a) => [a.canary.requests, a.stable.requests]);
      assert.ok(figures.some((n: number) => !Number.isInteger(n)), JSON.stringify(figures));

      // Completed: apps.json lists the new stable alone.
      const after = JSON.parse(await Deno.readTextFile(join(promDir, "apps.json")));
      assert.deepEqual(after.map((g: { labels: unknown }) => g.labels), [
        { variant: "stable", version: "2.0.0" },
      ]);
      assert.notDeepEqual(after[0].targets, appsBefore[0].targets, "the new app's address");
    });
  },
});
