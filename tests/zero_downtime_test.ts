/**
 * Zero downtime: a steady request loop through nginx while `promote canary`
 * and then `promote stable` switch the app container underneath it. Not one
 * request may fail (a non-200 or a network error), out of at least 2,000 per
 * promotion.
 *
 * The loop is a plain keep-alive client (getOnce): it reuses connections and
 * never sends a request again. A request lost at the connection level (the
 * one nginx reload of a switch can close a kept-alive connection as a
 * request is written on it) is counted apart, printed and bounded; every
 * answered request must be a 200. Switching without reloads (issue 13) is
 * what takes the lost count to zero.
 */
import assert from "node:assert/strict";
import { EngineClient } from "../cli/engine/mod.ts";
import { createTar } from "../cli/tar/mod.ts";
import { getJson, getOnce, makeStack, type TestStack, withStack } from "./_harness.ts";

const WORKERS = 4;
const MIN_REQUESTS = 2000;
/** Upper bound for one loop, whatever happens. */
const MAX_LOOP_MS = 120_000;

interface Failure {
  /** ms since the promotion started. */
  at: number;
  what: string;
}

interface LoopReport {
  total: number;
  /** GETs lost at the connection level (no answer); never resent. */
  lost: number;
  /** Requests started while the promotion ran. */
  during: number;
  failures: Failure[];
  /** Responses carrying `X-Mode: canary`, and the others. */
  canary: number;
  stable: number;
  /** The slowest request, ms. */
  slowest: number;
}

/** At most this many requests lost at the connection level per promotion (its one reload). */
const MAX_LOST = 8;

/**
 * GET `url` from WORKERS concurrent loops, from now until `done` resolves and
 * at least MIN_REQUESTS were sent (at most MAX_LOOP_MS).
 */
async function steadyLoop(url: string, started: () => number, done: Promise<unknown>) {
  let finished = false;
  let endedAt = Infinity;
  done.finally(() => {
    finished = true;
    endedAt = performance.now();
  });
  const report: LoopReport = {
    total: 0,
    lost: 0,
    during: 0,
    failures: [],
    canary: 0,
    stable: 0,
    slowest: 0,
  };
  const deadline = performance.now() + MAX_LOOP_MS;
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    while ((!finished || report.total < MIN_REQUESTS) && performance.now() < deadline) {
      const t = performance.now();
      report.total++;
      if (t >= started() && t <= endedAt) report.during++;
      try {
        const got = await getOnce(url);
        if ("lost" in got) {
          report.lost++;
          continue;
        }
        const { res, body } = got;
        if (res.status !== 200) {
          report.failures.push({
            at: Math.round(t - started()),
            what: `HTTP ${res.status}: ${body.slice(0, 200)}`,
          });
        } else if (res.headers.get("x-mode") === "canary") report.canary++;
        else report.stable++;
      } catch (error) {
        report.failures.push({
          at: Math.round(t - started()),
          what: `${(error as Error).name}: ${(error as Error).message}`,
        });
      }
      report.slowest = Math.max(report.slowest, performance.now() - t);
    }
  }));
  return report;
}

function describe(label: string, ms: number, r: LoopReport): string {
  return `${label}: ${(ms / 1000).toFixed(1)} s; ${r.total} requests (${r.during} while it ran), ` +
    `${r.failures.length} failed, ${r.lost} lost at the connection level; ${r.stable} answered by stable, ${r.canary} by canary; ` +
    `slowest ${Math.round(r.slowest)} ms`;
}

/** Runs the CLI with `args` while the steady loop runs, and reports both. */
async function underLoad(
  stack: TestStack,
  args: string[],
): Promise<{ code: number; out: string; ms: number; report: LoopReport }> {
  let t0 = Infinity;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const loop = steadyLoop(stack.url("/"), () => t0, done);
  // Let the loop get going before the switch starts.
  await new Promise((r) => setTimeout(r, 500));
  t0 = performance.now();
  let r;
  try {
    r = await stack.run(args);
  } finally {
    resolveDone();
  }
  const ms = performance.now() - t0;
  const report = await loop;
  console.log(describe(args.join(" "), ms, report));
  for (const f of report.failures.slice(0, 20)) console.log(`  failed at ${f.at} ms: ${f.what}`);
  return { code: r.code, out: `${r.stdout}\n${r.stderr}`, ms, report };
}

Deno.test({
  name: "promote() drops no request when it switches to canary and back under steady load",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      const d = await stack.run(["deploy"]);
      assert.equal(d.code, 0, `${d.stdout}\n${d.stderr}`);

      const canary = await underLoad(stack, ["promote", "canary"]);
      assert.equal(canary.code, 0, canary.out);
      assert.equal((await getJson(stack.url("/healthz"))).body.mode, "canary");
      assert.ok(canary.report.total >= MIN_REQUESTS, `${canary.report.total} requests`);
      // The switch happened under the loop: both containers answered some of it.
      assert.ok(
        canary.report.stable > 0 && canary.report.canary > 0,
        describe("canary", 0, canary.report),
      );
      assert.deepEqual(canary.report.failures, [], "no request failed during promote canary");
      assert.ok(
        canary.report.lost <= MAX_LOST,
        `${canary.report.lost} lost during promote canary`,
      );

      // The load itself is the clean traffic the canary gate needs in its window.
      const stable = await underLoad(stack, ["promote", "stable"]);
      assert.equal(stable.code, 0, stable.out);
      assert.equal((await getJson(stack.url("/healthz"))).body.mode, "stable");
      assert.ok(stable.report.total >= MIN_REQUESTS, `${stable.report.total} requests`);
      assert.ok(
        stable.report.stable > 0 && stable.report.canary > 0,
        describe("stable", 0, stable.report),
      );
      assert.deepEqual(stable.report.failures, [], "no request failed during promote stable");
      assert.ok(
        stable.report.lost <= MAX_LOST,
        `${stable.report.lost} lost during promote stable`,
      );
    });
  },
});

Deno.test({
  name: "deploy() drops no request when the app image is rebuilt under the same tag",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // Same image name, new image id (as after `swiftdeploy build` with changed service code):
    // the app container keeps its name, so the running one is renamed aside and replaced.
    const project = `t${crypto.randomUUID().slice(0, 8)}`;
    const repo = `${project}-app`;
    const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
    const stack = await makeStack({ project, image: `${repo}:latest` });
    try {
      const node = await engine.imageInspect("swift-deploy-1-node:latest");
      assert.ok(node, "the app image is built");
      await engine.imageTag(node.Id, repo, "latest");
      const d = await stack.run(["deploy"]);
      assert.equal(d.code, 0, `${d.stdout}\n${d.stderr}`);
      const before = await getJson(stack.url("/healthz"));

      const dockerfile =
        `FROM swift-deploy-1-node:latest\nLABEL io.swiftdeploy.test.rebuilt="${project}"\n`;
      const context = createTar([
        { type: "file", name: "Dockerfile", data: new TextEncoder().encode(dockerfile) },
      ]);
      const rebuilt = await engine.imageBuild(context, [`${repo}:latest`], () => {});
      assert.notEqual(rebuilt, node.Id);

      const redeploy = await underLoad(stack, ["deploy"]);
      assert.equal(redeploy.code, 0, redeploy.out);
      const after = await getJson(stack.url("/healthz"));
      assert.equal(after.status, 200);
      assert.notEqual(after.body.instance, before.body.instance, "a new app container serves");
      assert.ok(redeploy.report.total >= MIN_REQUESTS, `${redeploy.report.total} requests`);
      assert.deepEqual(redeploy.report.failures, [], "no request failed during the redeploy");
      assert.ok(
        redeploy.report.lost <= MAX_LOST,
        `${redeploy.report.lost} lost during the redeploy`,
      );
    } finally {
      await stack.cleanup();
      await engine.imageRemove(`${repo}:latest`).catch(() => {});
      engine.close();
    }
  },
});
