/**
 * Routing without reloads (issue 13 item 3) in the real engine with the real
 * nginx image: a second app container beside the deployed one, the split
 * set through cli/routing's applyRoutes, nginx's own processes watched for
 * a reload, and nginx restarted to show the split comes back from the file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import { readVariantSample, variantWindow } from "../cli/edge/mod.ts";
import { loadManifest } from "../cli/manifest/mod.ts";
import {
  addressingOf,
  appSlots,
  LABEL_PROJECT,
  LABEL_ROLE,
  planStack,
  type StackPlan,
} from "../cli/plan/mod.ts";
import {
  applyRoutes,
  describeRoutes,
  readRoutes,
  type Routes,
  routesFilePath,
  type RouteTarget,
} from "../cli/routing/mod.ts";
import { HOME, type RunResult, type TestStack, withStack } from "./_harness.ts";

const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

async function withEngine<T>(fn: (engine: EngineClient) => Promise<T>): Promise<T> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

async function containerOf(project: string, role: string): Promise<string> {
  return await withEngine(async (engine) => {
    const list = await engine.containerList([
      `${LABEL_PROJECT}=${project}`,
      `${LABEL_ROLE}=${role}`,
    ]);
    assert.ok(list.length >= 1, `a ${role} container`);
    return list[0]!.Id;
  });
}

/** Host pids of a container's processes (nginx: master and workers), from the engine's /top. */
async function pids(id: string): Promise<string[]> {
  return await withEngine(async (engine) => {
    const res = await engine.request("GET", `/containers/${id}/top`);
    const top = await res.json() as { Titles: string[]; Processes: string[][] };
    const i = top.Titles.indexOf("PID");
    return top.Processes.map((p) => p[i]!).sort();
  });
}

async function waitHealthy(id: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const state = await withEngine((engine) => engine.containerInspect(id));
    if (state?.State.Health?.Status === "healthy") return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`container ${id} not healthy within ${timeoutMs} ms`);
}

interface Routed {
  plan: StackPlan;
  stable: RouteTarget;
  canary: RouteTarget;
}

/**
 * Deploys the stack (with a sticky cookie), then starts a second app
 * (version 1.1.0, MODE=canary) in another reserved slot, as the rollout
 * controller will, and returns both targets.
 */
async function deployTwoApps(stack: TestStack): Promise<Routed> {
  const text = await Deno.readTextFile(stack.manifestPath);
  await Deno.writeTextFile(
    stack.manifestPath,
    text + "rollout:\n  routing:\n    header: X-Canary\n    sticky_cookie: sd_bucket\n",
  );
  const deployed = await stack.run(["deploy"]);
  assert.equal(deployed.code, 0, output(deployed));
  const loaded = await loadManifest(stack.manifestPath);
  const plan = planStack(loaded.manifest, { manifestDir: stack.dir, installDir: HOME });
  const appId = await containerOf(stack.project, "app");
  const app = await withEngine((engine) => engine.containerInspect(appId));
  const endpoint = app!.NetworkSettings.Networks[plan.network.name]!;
  const subnet = `${endpoint.IPAddress.split(".").slice(0, 3).join(".")}.0/24`;
  const port = loaded.manifest.services.port;
  const stable: RouteTarget = {
    address: `${endpoint.IPAddress}:${port}`,
    version: loaded.manifest.services.version,
    container: app!.Name.replace(/^\//, ""),
  };
  const held = await readRoutes(plan);
  if (!held.nginx) {
    // Deploy does not route yet (the route action lands with the lead's change).
    await applyRoutes(plan, { stable });
  }
  const slot = appSlots(subnet).find((s) => s !== endpoint.IPAddress)!;
  const canaryPlan = planStack(
    {
      ...loaded.manifest,
      services: { ...loaded.manifest.services, version: "1.1.0", mode: "canary" },
    },
    { manifestDir: stack.dir, installDir: HOME, addressing: addressingOf(subnet, slot) },
  );
  const body = structuredClone(canaryPlan.containers.find((c) => c.role === "app")!.body);
  const name = `${stack.project}-canary-t`;
  body.NetworkingConfig!.EndpointsConfig[plan.network.name]!.Aliases = [name];
  const id = await withEngine(async (engine) => {
    const id = await engine.containerCreate(name, body);
    await (await engine.request("POST", `/containers/${id}/start`)).body?.cancel();
    return id;
  });
  await waitHealthy(id);
  return {
    plan,
    stable,
    canary: { address: `${slot}:${port}`, version: "1.1.0", container: name },
  };
}

/** One GET; the variant nginx names and the mode the answering app reports (X-Mode). */
async function hit(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; variant: string; mode: string; setCookie: string | null }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  await res.body?.cancel();
  return {
    status: res.status,
    variant: res.headers.get("x-swiftdeploy-variant") ?? "",
    mode: res.headers.get("x-mode") ?? "stable",
    setCookie: res.headers.get("set-cookie"),
  };
}

Deno.test({
  name:
    "routing in the real engine: weight split, header pin, sticky cookie, weight changes under load without a reload, restart restores the split, no table answers 503",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({ version: "1.0.0" }, async (stack) => {
      const { plan, stable, canary } = await deployTwoApps(stack);
      const stateDir = join(stack.dir, ".swiftdeploy");
      const url = stack.url("/");

      // Weight 10: the canary's share of 5,000 requests within ±2 points.
      const ten = await applyRoutes(plan, { stable, canary: { ...canary, weight: 10 } });
      console.log(`${describeRoutes(ten.routes)} in effect after ${ten.ms.toFixed(1)} ms`);
      const before = await readVariantSample(stateDir);
      const n = 5000;
      let sent = 0;
      const counts = { stable: 0, canary: 0 };
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (sent < n) {
          sent++;
          const h = await hit(url);
          assert.equal(h.status, 200);
          assert.equal(h.variant, h.mode, "the variant nginx names is the app that answered");
          counts[h.variant as "stable" | "canary"]++;
        }
      }));
      const share = (100 * counts.canary) / n;
      console.log(`weight 10: canary share ${share.toFixed(2)} % of ${n} requests`);
      assert.ok(Math.abs(share - 10) <= 2, `canary share ${share} %`);
      // nginx counts in its log phase, just after the last answer left.
      await new Promise((r) => setTimeout(r, 200));
      const w = variantWindow(before, await readVariantSample(stateDir));
      assert.equal(w.canary.requests, counts.canary);
      assert.equal(w.stable.requests, counts.stable);
      assert.equal(w.canary.errors, 0);
      assert.ok(w.canary.p99_latency_ms !== null && w.canary.p99_latency_ms > 0);

      // The pin header, both ways, any case.
      for (
        const [pin, want] of [["always", "canary"], ["CANARY", "canary"], ["never", "stable"], [
          "Stable",
          "stable",
        ]]
      ) {
        for (let i = 0; i < 10; i++) {
          const h = await hit(url, { "X-Canary": pin! });
          assert.deepEqual([h.variant, h.mode], [want, want], pin);
        }
      }

      // Sticky cookie: each client keeps its variant for 50 requests; raising
      // the weight moves no canary client back.
      const clients: { cookie: string; variant: string }[] = [];
      for (let i = 0; i < 40; i++) {
        const h = await hit(url);
        assert.match(h.setCookie ?? "", /^sd_bucket=\d{1,2}; Path=\/; HttpOnly; SameSite=Lax$/);
        clients.push({ cookie: h.setCookie!.split(";")[0]!, variant: h.variant });
      }
      for (const c of clients.slice(0, 6)) {
        for (let i = 0; i < 50; i++) {
          const h = await hit(url, { cookie: c.cookie });
          assert.equal(h.variant, c.variant);
          assert.equal(h.setCookie, null);
        }
      }
      await applyRoutes(plan, { stable, canary: { ...canary, weight: 50 } });
      for (const c of clients.filter((c) => c.variant === "canary")) {
        assert.equal((await hit(url, { cookie: c.cookie })).variant, "canary");
      }

      // Weight changes under a kept-alive load: no failed request, no reload.
      const nginxId = await containerOf(stack.project, "nginx");
      const pidsBefore = await pids(nginxId);
      assert.ok(pidsBefore.length >= 2, "a master and at least one worker");
      let stop = false;
      let ok = 0;
      const failed: string[] = [];
      const loadDone = Promise.all(Array.from({ length: 8 }, async () => {
        while (!stop) {
          try {
            const h = await hit(url);
            if (h.status === 200) ok++;
            else failed.push(`HTTP ${h.status}`);
          } catch (error) {
            failed.push((error as Error).message);
          }
        }
      }));
      const times: number[] = [];
      for (let i = 0; i < 40; i++) {
        const weight = [0, 5, 10, 25, 50, 75, 100][i % 7]!;
        times.push((await applyRoutes(plan, { stable, canary: { ...canary, weight } })).ms);
        await new Promise((r) => setTimeout(r, 50));
      }
      stop = true;
      await loadDone;
      times.sort((a, b) => a - b);
      console.log(
        `40 weight changes under load: ${ok} answered, ${failed.length} failed; applyRoutes median ${
          times[20]!.toFixed(1)
        } ms`,
      );
      assert.deepEqual(failed, []);
      assert.ok(ok > 500, `${ok} requests`);
      assert.deepEqual(
        await pids(nginxId),
        pidsBefore,
        "no reload: nginx's processes are the same",
      );

      // nginx restarted: the split comes back from the persisted file.
      const last = await applyRoutes(plan, { stable, canary: { ...canary, weight: 30 } });
      await withEngine(async (engine) =>
        (await engine.request("POST", `/containers/${nginxId}/restart`, { query: { t: "5" } })).body
          ?.cancel()
      );
      await waitHealthy(nginxId);
      const after = await readRoutes(plan);
      assert.deepEqual(after.nginx, last.routes);
      assert.deepEqual(after.file, last.routes);
      let canaryHits = 0;
      for (let i = 0; i < 400; i++) if ((await hit(url)).variant === "canary") canaryHits++;
      console.log(`after the restart at weight 30: canary ${canaryHits} of 400`);
      assert.ok(canaryHits > 60 && canaryHits < 180, `${canaryHits} of 400 at weight 30`);

      // No routing table at all (file gone, fresh nginx): 503 with the JSON body, never a guess.
      await Deno.remove(routesFilePath(plan));
      await withEngine(async (engine) =>
        (await engine.request("POST", `/containers/${nginxId}/restart`, { query: { t: "5" } })).body
          ?.cancel()
      );
      await waitHealthy(nginxId);
      assert.deepEqual(await readRoutes(plan), {});
      const res = await fetch(stack.url("/anything"));
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("x-swiftdeploy-variant"), null);
      assert.deepEqual(await res.json(), {
        error: "Service Unavailable",
        code: 503,
        service: `${stack.project}-app`,
        contact: "ops@swiftdeploy.local",
      });
      // And a table put back serves again, at a revision above nothing.
      const back: Routes = (await applyRoutes(plan, { stable })).routes;
      assert.equal(back.revision, 1);
      assert.equal((await hit(url)).variant, "stable");
    });
  },
});
