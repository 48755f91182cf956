/**
 * `deploy`, `teardown` and `status` on `target: swarm` (issue 14). The
 * lifecycle commands call these when the manifest says `target: swarm`;
 * `deploySwarm` and `teardownSwarm` run under the change lock the caller
 * holds. The engine is the swarm manager DOCKER_HOST names.
 */
import { join } from "node:path";
import type { Context } from "./context.ts";
import { labNodeSocket, readLab } from "../lab/mod.ts";
import { EngineClient } from "../engine/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { ensureDir } from "../fs/mod.ts";
import { generate } from "../generate/mod.ts";
import { localDataRoot, readHostFigures } from "../host/mod.ts";
import type { LoadedManifest } from "../manifest/mod.ts";
import { hashPolicySources } from "../policy/mod.ts";
import { CONTAINER_USERS } from "../plan/mod.ts";
import { readPushedImages } from "../registry/mod.ts";
import {
  applySwarm,
  formatSwarmStatus,
  managerNodeId,
  observeSwarm,
  planSwarm,
  removeStaleConfigs,
  removeSwarmStack,
  renderSwarmNginxConf,
  type SwarmPlan,
  type SwarmRole,
  SwarmRollbackError,
  type SwarmStatus,
  swarmStatus as statusOf,
  waitConverged,
} from "../swarm/mod.ts";
import { mark } from "../term/mod.ts";
import { infrastructureAllows, openEvaluator, record } from "./_shared.ts";

/** The host folder on the manager that holds OPA's unix socket (0700, OPA's user). */
export function opaSocketDir(ctx: Context): string {
  return join(ctx.stateDir, "opa-socket");
}

/**
 * The image each service runs: the by-digest reference `swiftdeploy build`
 * recorded for its role in `<stateDir>/images.json` after pushing it to the
 * registry (cli/registry's `readPushedImages`), else the manifest's name
 * as written (a reference the nodes can pull themselves).
 *
 * @throws SwiftDeployError REGISTRY_PUSH_FAILED when images.json is malformed
 */
export async function swarmImages(
  ctx: Context,
  loaded: LoadedManifest,
): Promise<Record<SwarmRole, string>> {
  const m = loaded.manifest;
  const pinned = await readPushedImages(ctx.stateDir) ?? {};
  return {
    app: pinned.app ?? m.services.image,
    nginx: pinned.nginx ?? m.nginx.image,
    opa: pinned.opa ?? m.opa.image,
  };
}

/** The swarm plan of a manifest for the manager `nodeId`. */
export async function planForSwarm(
  ctx: Context,
  loaded: LoadedManifest,
  nodeId: string,
): Promise<SwarmPlan> {
  const { files } = await generate(ctx, loaded);
  const policiesDir = join(ctx.home, "policies");
  const sources = await hashPolicySources(policiesDir);
  const policies = await Promise.all(
    sources.files.map(async (path) => ({
      path,
      content: await Deno.readTextFile(join(policiesDir, path)),
    })),
  );
  return planSwarm({
    manifest: loaded.manifest,
    managerNodeId: nodeId,
    images: await swarmImages(ctx, loaded),
    nginxConf: renderSwarmNginxConf(loaded.manifest),
    policyData: policyDataForSwarm(files["policy_data.json"]),
    policies,
    opaSocketDir: opaSocketDir(ctx),
  });
}

/**
 * policy_data.json as OPA's config: without its `_generated` note (which
 * names the manifest's hash), so that an edit of the manifest that leaves
 * the policy data alone leaves OPA alone too.
 */
export function policyDataForSwarm(rendered: string): string {
  const { _generated: _note, ...data } = JSON.parse(rendered) as Record<string, unknown>;
  return JSON.stringify(data, null, 2) + "\n";
}

/** OPA's socket folder: 0700 and OPA's user, so only root and OPA can open the socket. */
async function ensureOpaSocketDir(dir: string): Promise<void> {
  await ensureDir(dir, 0o700);
  const [uid = "0", gid = "0"] = CONTAINER_USERS.opa.split(":");
  await Deno.chown(dir, Number(uid), Number(gid));
}

/**
 * Deploys the manifest to the swarm (under the caller's lock): the
 * infrastructure policy first (denied: exit 3, nothing changed), then the
 * network, configs and services converge, and the command waits until
 * every task of the new spec runs healthy, printing progress per node.
 * When Swarm rolls the update back on its own, `deploy_failed` records
 * why and a SwarmRollbackError (exit 1) is thrown.
 *
 * @returns 0 deployed or already up to date, 3 denied by policy
 */
export async function deploySwarm(
  ctx: Context,
  loaded: LoadedManifest,
  opts: { timeoutSeconds: number },
): Promise<number> {
  const { term } = ctx;
  const m = loaded.manifest;
  const started = performance.now();
  const engine = await EngineClient.connect(ctx.env);
  try {
    const nodeId = await managerNodeId(engine);
    const plan = await planForSwarm(ctx, loaded, nodeId);

    // 1. the infrastructure policy, with the manager's figures
    const info = await engine.info();
    const figures = await readHostFigures(localDataRoot(engine.endpoint, info.DockerRootDir));
    const { files } = await generate(ctx, loaded);
    const evaluator = await openEvaluator(
      { ...ctx, policyEngine: "wasm" },
      loaded,
      files["policy_data.json"],
    );
    if (!(await infrastructureAllows(term, loaded, evaluator, figures))) {
      term.out(
        term.red("Deployment blocked by policy: infrastructure (nothing was changed on the swarm)"),
      );
      return ExitCode.policyDenied;
    }

    // 2. converge, then wait for every task of the new spec
    await ensureOpaSocketDir(plan.opaSocketDir);
    let lastLine = "";
    try {
      const changes = await applySwarm(engine, plan, (l) => term.out(`  ${l}`));
      await waitConverged(engine, plan, {
        timeoutMs: opts.timeoutSeconds * 1000,
        progress: (line) => {
          if (line !== lastLine) term.out(`  ${line}`);
          lastLine = line;
        },
      });
      const stale = await removeStaleConfigs(engine, m.project);
      if (stale.length) term.out(`  configs removed: ${stale.join(", ")}`);
      const ms = Math.round(performance.now() - started);
      if (changes.every((c) => c.action === "kept")) {
        await record(loaded, "deploy_noop", { mode: m.services.mode, version: m.services.version });
        term.out(`${mark(term, true)} Nothing to do: the swarm already runs ${loaded.path}`);
        return 0;
      }
      await record(loaded, "deploy", {
        mode: m.services.mode,
        version: m.services.version,
        image: plan.services.find((s) => s.role === "app")!.spec.TaskTemplate.ContainerSpec.Image,
        containers: plan.services.map((s) => s.name),
        duration_ms: ms,
      });
      const replicas = plan.services.find((s) => s.role === "app")!.spec.Mode.Replicated.Replicas;
      term.out(
        `${mark(term, true)} Deployed ${m.project} to the swarm: version ${m.services.version}, ` +
          `${replicas} replica(s) healthy, nginx on port ${m.nginx.port} of the manager (${
            (ms / 1000).toFixed(1)
          } s)`,
      );
      return 0;
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
      await record(loaded, "deploy_failed", {
        reason,
        ...(error instanceof SwarmRollbackError ? { container: error.service } : {}),
      });
      throw error;
    }
  } finally {
    engine.close();
  }
}

/**
 * Removes the project's services, configs, secrets and overlay network
 * from the swarm (by label, nothing else), records `teardown`.
 */
export async function teardownSwarm(
  ctx: Context,
  loaded: LoadedManifest,
  opts: { clean: boolean },
): Promise<number> {
  const engine = await EngineClient.connect(ctx.env);
  let removed: string[];
  try {
    removed = await removeSwarmStack(
      engine,
      loaded.manifest.project,
      (l) => ctx.term.out(`  ${l}`),
    );
  } finally {
    engine.close();
  }
  await Deno.remove(opaSocketDir(ctx), { recursive: true }).catch(() => {});
  await record(loaded, "teardown", { clean: opts.clean, removed });
  ctx.term.out(
    `${
      mark(ctx.term, true)
    } Torn down ${loaded.manifest.project} on the swarm: ${removed.length} object(s) removed (history kept)`,
  );
  return 0;
}

/** Reads the project's services and tasks per node from the manager. */
export async function readSwarmStatus(ctx: Context, loaded: LoadedManifest): Promise<SwarmStatus> {
  const engine = await EngineClient.connect(ctx.env);
  try {
    await managerNodeId(engine);
    const { services, tasks, nodes } = await observeSwarm(engine, loaded.manifest.project);
    return statusOf(services, tasks, nodes, new Date());
  } finally {
    engine.close();
  }
}

/** `status` on a swarm: services with running/replicas, then the tasks per node (or JSON). */
export async function swarmStatus(
  ctx: Context,
  loaded: LoadedManifest,
  opts: { json?: boolean } = {},
): Promise<number> {
  const status = await readSwarmStatus(ctx, loaded);
  ctx.term.out(opts.json ? JSON.stringify(status, null, 2) : formatSwarmStatus(status).trimEnd());
  if (status.services.length === 0) {
    throw new SwiftDeployError(
      "SWARM_FAILED",
      `Project "${loaded.manifest.project}" has no service on this swarm`,
      { exitCode: ExitCode.failure, hint: "run `swiftdeploy deploy`" },
    );
  }
  return 0;
}

/**
 * The context a swarm command talks through: DOCKER_HOST when set (it must
 * name a manager), else the manager of the lab `swiftdeploy lab up` made.
 */
export async function swarmContext(ctx: Context): Promise<Context> {
  if (ctx.env.dockerHost) return ctx;
  const lab = await readLab().catch(() => undefined);
  if (!lab) return ctx;
  return { ...ctx, env: { ...ctx.env, dockerHost: `unix://${labNodeSocket(lab, 1)}` } };
}
