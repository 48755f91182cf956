/**
 * `swiftdeploy demo --swarm`: the swarm story on the three-node lab, each
 * step a real run of this CLI with its exit code checked (as cli/commands/
 * demo.ts does for the engine target): `lab up` (or the running lab, left
 * up) → a swarm copy of the manifest beside the user's
 * (`swiftdeploy-demo-swarm.yaml`: project `<project>-swarm`, `target:
 * swarm`, 3 replicas, its own nginx port; removed at the end) → `build`
 * (pushes by digest) → `deploy` → `status` (tasks per node) → a rolling
 * update of the version under traffic, every answer counted (the demo fails
 * unless none failed) → `teardown` → `lab down` when the demo brought the
 * lab up. Needs root (the lab).
 */
import { join } from "node:path";
import { parseDocument } from "yaml";
import { cliArgs } from "./self.ts";
import type { Context } from "./context.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { loadManifest } from "../manifest/mod.ts";
import { readLab } from "../lab/mod.ts";

/** The copy's file name, beside the user's manifest. */
export const SWARM_DEMO_FILE = "swiftdeploy-demo-swarm.yaml";

/**
 * The swarm copy of a manifest's text: project `<project>-swarm`, `target:
 * swarm`, `replicas` 3, the given nginx and OPA ports and app version.
 * Comments and every other key are kept (yaml's Document API).
 */
export function swarmDemoManifest(
  text: string,
  o: { project: string; nginxPort: number; opaPort: number; version: string },
): string {
  const doc = parseDocument(text);
  doc.setIn(["project"], `${o.project}-swarm`);
  doc.setIn(["target"], "swarm");
  doc.setIn(["services", "replicas"], 3);
  doc.setIn(["services", "version"], o.version);
  doc.setIn(["nginx", "port"], o.nginxPort);
  doc.setIn(["opa", "port"], o.opaPort);
  return doc.toString();
}

/**
 * The next patch version of a `MAJOR.MINOR.PATCH[…]` string ("1.0.0" →
 * "1.0.1"); "1.0.1" for anything else.
 */
export function nextPatch(version: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? `${m[1]}.${m[2]}.${Number(m[3]) + 1}` : "1.0.1";
}

/** What the traffic got: answers by HTTP status (0 = no answer) and by the body's `version`. */
interface Counts {
  statuses: Map<number, number>;
  versions: Map<string, number>;
}

/**
 * Sends GET `url` from `workers` loops, one request after another each, until
 * `stop` resolves. Every request is counted; none is resent.
 */
async function trafficUntil(url: string, workers: number, stop: Promise<unknown>): Promise<Counts> {
  const counts: Counts = { statuses: new Map(), versions: new Map() };
  let done = false;
  stop.finally(() => done = true).catch(() => {});
  const add = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  await Promise.all(Array.from({ length: workers }, async () => {
    while (!done) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        const body = await res.text();
        add(counts.statuses, res.status);
        try {
          add(counts.versions, String((JSON.parse(body) as { version?: unknown }).version ?? "?"));
        } catch {
          add(counts.versions, "?");
        }
      } catch {
        add(counts.statuses, 0);
      }
    }
  }));
  return counts;
}

function describe(c: Counts): string {
  const total = [...c.statuses.values()].reduce((a, b) => a + b, 0);
  const failed = total - (c.statuses.get(200) ?? 0);
  const versions = [...c.versions].sort().map(([v, n]) => `${v}: ${n}`).join(", ");
  const statuses = [...c.statuses].sort((a, b) => a[0] - b[0])
    .map(([s, n]) => `${n}× ${s === 0 ? "no answer" : s}`).join(", ");
  return `${total} requests, failed ${failed} (${statuses}; versions answered: ${versions})`;
}

/**
 * Runs the swarm demo. Returns 0 when every step behaved as expected, 1
 * otherwise (the failed step is printed).
 *
 * @throws SwiftDeployError LAB_NOT_ROOT when not run as root
 */
export async function runDemoSwarm(ctx: Context, opts: { keep: boolean }): Promise<number> {
  if (Deno.uid() !== 0) {
    throw new SwiftDeployError(
      "LAB_NOT_ROOT",
      "Cannot run `demo --swarm`: the three-node lab needs root (network namespaces, dockerd)",
      { hint: "run it as root, e.g. `sudo ./swiftdeploy demo --swarm`" },
    );
  }
  const { term } = ctx;
  const t0 = performance.now();
  const loaded = await loadManifest(ctx.manifestArg);
  const m = loaded.manifest;
  const demoPath = join(loaded.dir, SWARM_DEMO_FILE);
  const nginxPort = m.nginx.port === 65535 ? 65534 : m.nginx.port + 1;
  const opaPort = m.opa.port === 65535 ? 65533 : m.opa.port + 1;
  const version = m.services.version;
  const next = nextPatch(version);
  let step = 0;

  const cli = async (label: string, args: string[], swarm = true): Promise<void> => {
    step++;
    term.out("");
    const shown = swarm ? `-f ${demoPath} ` : "";
    term.out(term.bold(`── step ${step}: ${label} ── swiftdeploy ${shown}${args.join(" ")}`));
    const env: Record<string, string> = { SWIFTDEPLOY_HOME: ctx.home };
    // deploy/status/teardown reach the lab's manager when DOCKER_HOST is empty
    // (build keeps the caller's DOCKER_HOST: it builds on the host engine).
    if (swarm && args[0] !== "build") env.DOCKER_HOST = "";
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: cliArgs(ctx.home, [
        ...(swarm ? ["-f", demoPath] : []),
        ...(ctx.term.color ? [] : ["--no-color"]),
        ...args,
      ]),
      env,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      throw new SwiftDeployError(
        "CHECK_FAILED",
        `Demo step ${step} (${label}) exited with ${code}, expected 0`,
      );
    }
    term.out(term.dim(`   exit 0 as expected`));
  };
  const note = (label: string, text: string) => {
    step++;
    term.out("");
    term.out(term.bold(`── step ${step}: ${label}`));
    term.out(`   ${text}`);
  };

  let ok = false;
  let startedLab = false;
  let deployed = false;
  try {
    const running = await readLab();
    if (running) {
      note("the three-node lab", `already up (instance ${running.instance}): reused, left up`);
    } else {
      await cli("bring the three-node lab up (3 dockerd in namespaces + registry)", [
        "lab",
        "up",
      ], false);
      startedLab = true;
    }
    const lab = await readLab();
    const manager = lab?.nodes.find((n) => n.role === "manager");
    if (!lab || !manager) {
      throw new SwiftDeployError("CHECK_FAILED", "Demo: no lab state after `lab up`");
    }
    await Deno.writeTextFile(
      demoPath,
      swarmDemoManifest(loaded.text, { project: m.project, nginxPort, opaPort, version }),
    );
    note(
      "a swarm copy of the manifest",
      `${demoPath}: project ${m.project}-swarm, target swarm, 3 replicas, nginx on ${manager.address}:${nginxPort}`,
    );
    await cli("build and push the images to the lab's registry by digest", ["build"]);
    deployed = true;
    await cli("deploy 3 replicas, one per node", ["deploy"]);
    await cli("status: services and tasks per node", ["status"]);

    await Deno.writeTextFile(
      demoPath,
      swarmDemoManifest(loaded.text, { project: m.project, nginxPort, opaPort, version: next }),
    );
    const url = `http://${manager.address}:${nginxPort}/`;
    let update!: Promise<void>;
    const counts = await trafficUntil(
      url,
      4,
      update = cli(`a rolling update ${version} → ${next} (start-first) under traffic`, ["deploy"]),
    );
    await update;
    note("what users got meanwhile", `GET / → ${describe(counts)}`);
    const total = [...counts.statuses.values()].reduce((a, b) => a + b, 0);
    const good = counts.statuses.get(200) ?? 0;
    if (total === 0 || good !== total) {
      throw new SwiftDeployError(
        "CHECK_FAILED",
        `Demo: ${total - good} of ${total} requests failed during the rolling update`,
      );
    }
    await cli("status after the update", ["status"]);
    ok = true;
  } finally {
    await Deno.stat(demoPath).then(async () => {
      if (deployed && !opts.keep) {
        await cli("tear the swarm stack down", ["teardown"]).catch((e) => {
          term.err(`teardown failed: ${(e as Error).message}`);
          ok = false;
        });
      }
      if (!opts.keep) await Deno.remove(demoPath).catch(() => {});
    }).catch(() => {});
    if (startedLab && !opts.keep) {
      await cli("take the lab down (the demo brought it up)", ["lab", "down"], false).catch(
        (e) => {
          term.err(`lab down failed: ${(e as Error).message}`);
          ok = false;
        },
      );
    }
  }
  term.out("");
  const took = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  term.out(
    ok
      ? term.green(`swarm demo finished in ${took}: every step behaved as expected`)
      : term.red(`swarm demo failed after ${took}`),
  );
  return ok ? 0 : 1;
}
