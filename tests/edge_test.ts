/**
 * nginx at the edge, in the real engine: the gate counts what clients
 * received (issue 11 case 2), the admin socket is not reachable through the
 * published port, and the config folder bind sees an atomic rename
 * (issue 11 case 10).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { edgeSocketPath, readEdgeSample } from "../cli/edge/mod.ts";
import { EngineClient } from "../cli/engine/mod.ts";
import { atomicWrite } from "../cli/fs/mod.ts";
import { scrapeFromText } from "../cli/metrics/mod.ts";
import { LABEL_PROJECT, LABEL_ROLE } from "../cli/plan/mod.ts";
import { getJson, type RunResult, type TestStack, withStack } from "./_harness.ts";

const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

async function nginxContainerId(project: string): Promise<string> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    const list = await engine.containerList([`${LABEL_PROJECT}=${project}`, `${LABEL_ROLE}=nginx`]);
    assert.equal(list.length, 1);
    return list[0]!.Id;
  } finally {
    engine.close();
  }
}

async function withEngine<T>(fn: (engine: EngineClient) => Promise<T>): Promise<T> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/** Sets `nginx.proxy_timeout` in the stack's manifest. */
async function setProxyTimeout(stack: TestStack, seconds: number): Promise<void> {
  const text = await Deno.readTextFile(stack.manifestPath);
  assert.match(text, /proxy_timeout: 30\n/);
  await Deno.writeTextFile(
    stack.manifestPath,
    text.replace(/proxy_timeout: 30\n/, `proxy_timeout: ${seconds}\n`),
  );
}

/** Keeps `concurrency` GETs going until `until` settles; returns status counts (0 = failed). */
async function trafficUntil(url: string, until: Promise<unknown>, concurrency: number) {
  const counts = new Map<number, number>();
  let done = false;
  until.finally(() => done = true);
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (!done) {
      let status = 0;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        await res.body?.cancel();
        status = res.status;
      } catch { /* counted as 0 */ }
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
  }));
  return counts;
}

Deno.test({
  name:
    "promote() denies when clients got 504 from nginx that the app counted as 200 (issue 11 case 2)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({ mode: "canary", windowSeconds: 8, minRequests: 5 }, async (stack) => {
      await setProxyTimeout(stack, 2);
      const deployed = await stack.run(["deploy"]);
      assert.equal(deployed.code, 0, output(deployed));
      const socket = edgeSocketPath(join(stack.dir, ".swiftdeploy"));
      const before = await readEdgeSample(socket);

      const chaos = await fetch(stack.url("/chaos"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ mode: "slow", duration: 5 }),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(chaos.status, 200, await chaos.text());

      const promoting = stack.run(["promote", "stable"]);
      const counts = await trafficUntil(stack.url("/"), promoting, 6);
      const r = await promoting;
      const got504 = counts.get(504) ?? 0;
      assert.ok(got504 >= 5, JSON.stringify([...counts]));
      assert.equal(r.code, 3, output(r));
      assert.match(r.stdout, /DENIED/);
      // The figure the gate judged: counted at nginx, the 504s included (the app's own count says 0 %).
      const rate = r.stdout.match(/requests \(counted at nginx\), error rate (\d+\.\d+) %/);
      assert.ok(rate, output(r));
      assert.ok(Number(rate[1]) >= 50, output(r));
      assert.match(
        r.stdout,
        /error rate \d+\.\d+% exceeds the maximum/,
        "the policy denied on errors",
      );

      // The edge saw every 504 clients saw; the app answered those requests with 200, late.
      const after = await readEdgeSample(socket);
      assert.equal(after.instance, before.instance);
      assert.ok(after.errors - before.errors >= got504, `${JSON.stringify(after)} vs ${got504}`);
      await new Promise((r) => setTimeout(r, 5500)); // the slow requests finish at the app
      await fetch(stack.url("/chaos"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ mode: "recover" }),
      }).then((res) => res.body?.cancel());
      const metrics = await fetch(stack.url("/metrics")).then((res) => res.text());
      const app = scrapeFromText(metrics, Date.now());
      const app5xx = app.requests.filter((c) => c.app && c.error).reduce((n, c) => n + c.value, 0);
      assert.equal(app5xx, 0, "the app itself counted no 5xx: only the edge can see them");
    });
  },
});

Deno.test({
  name:
    "nginx's admin socket is reachable from the host only, counts survive a reload and restart under a new instance; the config folder sees an atomic rename (issue 11 cases 2, 10)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      const deployed = await stack.run(["deploy"]);
      assert.equal(deployed.code, 0, output(deployed));
      const stateDir = join(stack.dir, ".swiftdeploy");
      const adminDir = join(stateDir, "nginx-admin");
      const st = await Deno.stat(adminDir);
      assert.equal(st.mode! & 0o777, 0o700);
      assert.equal(st.uid, 10002);
      const socket = edgeSocketPath(stateDir);

      // Application traffic counts, /healthz, /metrics and /chaos do not (as in the app).
      const first = await readEdgeSample(socket);
      for (const path of ["/", "/", "/nope", "/healthz", "/metrics"]) {
        await fetch(stack.url(path)).then((res) => res.body?.cancel());
      }
      const counted = await readEdgeSample(socket);
      assert.equal(counted.requests - first.requests, 3);
      assert.equal(counted.errors - first.errors, 0);

      // Through the published port, the admin paths are the app's (404), never nginx's counters.
      for (const path of ["/edge-metrics", "/edge-metrics?x=1", "//edge-metrics"]) {
        const res = await fetch(stack.url(path));
        const text = await res.text();
        assert.doesNotMatch(text, /swiftdeploy_edge/, path);
      }
      const id = await nginxContainerId(stack.project);
      const inspect = await withEngine((e) => e.containerInspect(id));
      const published = Object.entries(
        (inspect as unknown as { NetworkSettings: { Ports: Record<string, unknown[] | null> } })
          .NetworkSettings.Ports,
      ).filter(([, bindings]) => (bindings ?? []).length > 0).map(([port]) => port);
      assert.deepEqual(
        published,
        [`${stack.nginxPort}/tcp`],
        "the app port is the only published one",
      );

      // Case 10: the config folder is bound, so a renamed nginx.conf is what a reload reads.
      const confPath = join(stateDir, "nginx", "nginx.conf");
      const conf = await Deno.readTextFile(confPath);
      const marked = conf.replace(
        /(\n {8}location \/ \{)/,
        "\n        location = /case-10 {\n            return 200 'renamed';\n        }\n$1",
      );
      assert.notEqual(marked, conf);
      const inodeBefore = (await Deno.stat(confPath)).ino;
      await atomicWrite(confPath, marked);
      assert.notEqual((await Deno.stat(confPath)).ino, inodeBefore, "replaced by rename");
      await withEngine((e) => e.containerKill(id, "HUP"));
      let seen = "";
      for (let i = 0; i < 50 && seen !== "renamed"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        seen = await fetch(stack.url("/case-10")).then((res) => res.text());
      }
      assert.equal(seen, "renamed", "nginx read the new file after the rename and a reload");
      const reloaded = await readEdgeSample(socket);
      assert.equal(reloaded.instance, counted.instance, "a reload keeps the counters");
      assert.ok(reloaded.requests >= counted.requests);

      // A restart (even a kill, which leaves the socket file behind) counts anew under another id.
      await withEngine((e) => e.containerKill(id, "KILL"));
      await withEngine((e) => e.containerStart(id));
      let restarted;
      for (let i = 0; i < 50 && !restarted; i++) {
        await new Promise((r) => setTimeout(r, 100));
        restarted = await readEdgeSample(socket).catch(() => undefined);
      }
      assert.ok(restarted, "nginx came back after a kill and serves its counters");
      assert.notEqual(restarted.instance, counted.instance);
      assert.equal((await getJson(stack.url("/healthz"))).status, 200);
    });
  },
});
