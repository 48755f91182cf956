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
import { atomicWrite, ensureDir, readIfExists } from "../fs/mod.ts";
import { generate } from "../generate/mod.ts";
import { localDataRoot, readHostFigures } from "../host/mod.ts";
import { type LoadedManifest, setManifestValue } from "../manifest/mod.ts";
import { hashPolicySources } from "../policy/mod.ts";
import { CONTAINER_USERS } from "../plan/mod.ts";
import { readPushedImages } from "../registry/mod.ts";
import {
  applySwarm,
  diffSwarm,
  formatSwarmActions,
  formatSwarmStatus,
  managerNodeId,
  observeForPlan,
  observeSwarm,
  planSwarm,
  removeStaleConfigs,
  removeSwarmStack,
  renderSwarmNginxConf,
  swarmConflict,
  swarmHostRule,
  type SwarmPlan,
  type SwarmRole,
  SwarmRollbackError,
  type SwarmStatus,
  swarmStatus as statusOf,
  waitConverged,
  waitPeersListed,
} from "../swarm/mod.ts";
import { mark } from "../term/mod.ts";
import { sha256Hex } from "../digest/mod.ts";
import { edgeAdminDir, readVariantSample, type VariantSample, variantWindow } from "../edge/mod.ts";
import type { CanaryMetricsInput } from "../metrics/mod.ts";
import { infrastructureAllows, openEvaluator, printDecision, record } from "./_shared.ts";
import { type ReleasePointer, ReleaseRecorder, type ReleaseStatus } from "../release/mod.ts";
import { limitsFor, recordRelease, releaseField } from "./_release_evidence.ts";
import { swarmObserved, swarmReleaseFiles } from "./_swarm_release.ts";

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

/**
 * The gateway of the manager's `docker_gwbridge` (what nginx sees as the
 * source of the manager host's own requests to its published port: see
 * `swarmHostRule`), or undefined when the engine has no such network or it
 * names no gateway.
 */
export async function gwbridgeGateway(engine: EngineClient): Promise<string | undefined> {
  const net = await engine.networkInspect("docker_gwbridge");
  return net?.IPAM?.Config?.find((c) => c.Gateway)?.Gateway?.replace(/\/\d+$/, "");
}

/**
 * The swarm plan of a manifest for the manager `nodeId`; `gateway` is the
 * manager's docker_gwbridge gateway (`gwbridgeGateway`), the source nginx
 * admits to /chaos and /metrics as the manager host.
 */
export async function planForSwarm(
  ctx: Context,
  loaded: LoadedManifest,
  nodeId: string,
  gateway: string | undefined,
  images?: Record<SwarmRole, string>,
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
    images: images ?? await swarmImages(ctx, loaded),
    nginxConf: renderSwarmNginxConf(loaded.manifest, swarmHostRule(gateway)),
    policyData: policyDataForSwarm(files["policy_data.json"]),
    policies,
    opaSocketDir: opaSocketDir(ctx),
    nginxAdminDir: edgeAdminDir(ctx.stateDir),
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

/** nginx's admin folder: 0700 and nginx's user, as cli/edge's ensureEdgeAdminDir makes it for the engine target. */
async function ensureNginxAdminDir(dir: string): Promise<void> {
  await ensureDir(dir, 0o700);
  const [uid = "0", gid = "0"] = CONTAINER_USERS.nginx.split(":");
  await Deno.chown(dir, Number(uid), Number(gid));
}

/** OPA's socket folder: 0700 and OPA's user, so only root and OPA can open the socket. */
async function ensureOpaSocketDir(dir: string): Promise<void> {
  await ensureDir(dir, 0o700);
  const [uid = "0", gid = "0"] = CONTAINER_USERS.opa.split(":");
  await Deno.chown(dir, Number(uid), Number(gid));
}

/** How `deploySwarm` records its release, and what it applies besides the manifest. */
export interface SwarmDeployOptions {
  timeoutSeconds: number;
  /** The release's kind (default `deploy`, or `rollback` when `rollbackOf` is set). */
  kind?: "deploy" | "promote" | "rollback";
  /** For a rollback: the release it re-applies. */
  rollbackOf?: ReleasePointer;
  /** The recorder to keep (promote's canary decision was recorded into it already). */
  recorder?: ReleaseRecorder;
  /** Image references by role instead of images.json's (a rollback's digests). */
  images?: Record<SwarmRole, string>;
}

/**
 * Deploys the manifest to the swarm (under the caller's lock): the
 * infrastructure policy first (denied: exit 3, nothing changed), then the
 * network, configs and services converge, and the command waits until
 * every task of the new spec runs healthy, printing progress per node,
 * then (bounded, PEERS_WAIT_MS; a warning, not a failure, past it) until
 * every nginx worker balances over exactly the app's running tasks
 * (`waitPeersListed`).
 * When Swarm rolls the update back on its own, `deploy_failed` records
 * why and a SwarmRollbackError (exit 1) is thrown.
 *
 * Every attempt that reached the policy writes a release (cli/release,
 * `opts.kind`): `blocked` when the infrastructure policy denied, `failed`
 * when converging failed (Swarm rolled back), `good` when every task runs
 * (a plain deploy that changed nothing writes none). Its images are the
 * references the services run (by digest from images.json, or
 * `opts.images`), its files nginx.conf and policy_data.json as the
 * configs hold them, one container entry per task.
 *
 * @returns 0 deployed or already up to date, 3 denied by policy
 */
export async function deploySwarm(
  ctx: Context,
  loaded: LoadedManifest,
  opts: SwarmDeployOptions,
): Promise<number> {
  const { term } = ctx;
  const m = loaded.manifest;
  const started = performance.now();
  const rec = opts.recorder ?? new ReleaseRecorder();
  const kind = opts.kind ?? (opts.rollbackOf ? "rollback" : "deploy");
  const engine = await EngineClient.connect(ctx.env);
  try {
    const nodeId = await managerNodeId(engine);
    const plan = await planForSwarm(
      ctx,
      loaded,
      nodeId,
      await gwbridgeGateway(engine),
      opts.images,
    );
    // The attempt's evidence bundle (cli/release), named by the history event written after it.
    const evidence = async (status: ReleaseStatus, reason?: string) => {
      const seen = await observeSwarm(engine, m.project).catch(() => undefined);
      return releaseField(
        await recordRelease(ctx, loaded, rec, {
          kind,
          status,
          ...(reason !== undefined ? { reason } : {}),
          ...(opts.rollbackOf ? { rollbackOf: opts.rollbackOf } : {}),
          files: swarmReleaseFiles(plan),
          observed: swarmObserved(plan, seen?.services ?? [], seen?.tasks ?? []),
        }),
      );
    };

    // 1. the infrastructure policy, with the manager's figures
    const info = await engine.info();
    const figures = await readHostFigures(localDataRoot(engine.endpoint, info.DockerRootDir));
    const { files } = await generate(ctx, loaded);
    const evaluator = rec.wrap(
      await openEvaluator({ ...ctx, policyEngine: "wasm" }, loaded, files["policy_data.json"]),
      limitsFor(m),
    );
    const policyStarted = performance.now();
    const allowed = await infrastructureAllows(term, loaded, evaluator, figures, async (d) => {
      rec.time("policy", performance.now() - policyStarted);
      return (await evidence("blocked", `policy infrastructure: ${d.reasons.join("; ")}`)).release;
    });
    if (!allowed) {
      term.out(
        term.red("Deployment blocked by policy: infrastructure (nothing was changed on the swarm)"),
      );
      return ExitCode.policyDenied;
    }
    rec.time("policy", performance.now() - policyStarted);

    // 2. converge, then wait for every task of the new spec
    await ensureOpaSocketDir(plan.opaSocketDir);
    await ensureNginxAdminDir(plan.nginxAdminDir);
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
      // Swarm's "running" comes before nginx's workers have the tasks
      // (Docker's DNS, then each worker's once-a-second query).
      const peers = await waitPeersListed(engine, plan, {
        progress: (line) => {
          if (line !== lastLine) term.out(`  ${line}`);
          lastLine = line;
        },
      });
      if (peers.listed) {
        term.out(
          `  nginx's workers list the app's running tasks (${
            (peers.waitedMs / 1000).toFixed(1)
          } s after Swarm reported them running)`,
        );
      } else {
        term.out(term.yellow(
          `  warning: after ${(peers.waitedMs / 1000).toFixed(1)} s nginx's workers do not all ` +
            `list the app's running tasks yet (${peers.line}); requests reach only those listed ` +
            `until they do (see \`swiftdeploy status\`)`,
        ));
      }
      const stale = await removeStaleConfigs(engine, m.project);
      if (stale.length) term.out(`  configs removed: ${stale.join(", ")}`);
      const ms = Math.round(performance.now() - started);
      rec.time("apply", ms);
      rec.steps(
        changes.map((c) => ({
          kind: `${c.action}-service`,
          description: `${c.action} service "${c.name}"`,
        })),
      );
      if (changes.every((c) => c.action === "kept")) {
        // A rollback to what already runs is still a release (the pointer moves); a plain deploy is not.
        const bundle = kind === "deploy" ? {} : await evidence("good");
        await record(loaded, "deploy_noop", {
          mode: m.services.mode,
          version: m.services.version,
          ...bundle,
        });
        term.out(`${mark(term, true)} Nothing to do: the swarm already runs ${loaded.path}`);
        return 0;
      }
      const bundle = await evidence("good");
      await record(loaded, "deploy", {
        mode: m.services.mode,
        version: m.services.version,
        image: plan.services.find((s) => s.role === "app")!.spec.TaskTemplate.ContainerSpec.Image,
        containers: plan.services.map((s) => s.name),
        duration_ms: ms,
        ...(opts.rollbackOf
          ? { kind: "rollback" as const, rollback_of: opts.rollbackOf.number }
          : {}),
        ...bundle,
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
      rec.time("apply", performance.now() - started);
      if (error instanceof SwarmRollbackError) rec.gate(`health.${error.service}`, "fail", reason);
      await record(loaded, "deploy_failed", {
        reason,
        ...(error instanceof SwarmRollbackError ? { container: error.service } : {}),
        ...(await evidence("failed", reason)),
      });
      throw error;
    }
  } finally {
    engine.close();
  }
}

/**
 * `deploy --dry-run` and `promote --dry-run` on a swarm: the plan of
 * `loaded` (for promote, the manifest with the new mode) against what the
 * manager holds, printed as the actions the real command would take
 * (network, configs and services to create, update with each changed
 * setting and the image digests, or remove; `diffSwarm`). Reads only: no
 * lock, no file, no history line, nothing on the swarm. The infrastructure
 * and canary policies are not asked. `note` is put in the closing line.
 *
 * @returns 0
 * @throws SwiftDeployError SWARM_UNAVAILABLE when the engine is no swarm
 *   manager, SWARM_CONFLICT (exit 1) when an object of the plan's name
 *   belongs to another project (the real command refuses it too)
 */
export async function dryRunSwarm(
  ctx: Context,
  loaded: LoadedManifest,
  note = "",
): Promise<number> {
  const engine = await EngineClient.connect(ctx.env);
  try {
    const plan = await planForSwarm(
      ctx,
      loaded,
      await managerNodeId(engine),
      await gwbridgeGateway(engine),
    );
    const { actions, conflict } = diffSwarm(plan, await observeForPlan(engine, plan));
    if (conflict) throw swarmConflict(conflict.what, conflict.owner);
    ctx.term.out(formatSwarmActions(plan.project, actions));
  } finally {
    engine.close();
  }
  ctx.term.out(
    ctx.term.dim(`dry run: ${note}nothing was written, created or changed on the swarm`),
  );
  return 0;
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

/**
 * The canary gate's figures on a swarm, over `windowSeconds` ending now, all
 * counted at the edge (the swarm nginx's counters, variant "stable": every
 * replica): requests and the 5xx rate as clients received them, and the P99
 * from nginx's latency histogram (bucket upper bound, ms; cli/edge's
 * `variantWindow`). Not from the app's /metrics: through nginx each scrape
 * may reach another replica, and a difference of two replicas' counters is
 * no window. An unreadable counter gives null figures with the reason in
 * `unknown_figures` (the policy then decides; no metrics is not a pass).
 */
export async function swarmGateFigures(
  stateDir: string,
  windowSeconds: number,
  progress: (line: string) => void,
): Promise<{ figures: CanaryMetricsInput; summary: string }> {
  const unknown = (why: string) => ({
    figures: {
      request_count: null,
      error_rate_percent: null,
      p99_latency_ms: null,
      unknown_figures: { request_count: why, error_rate_percent: why, p99_latency_ms: why },
    },
    summary: `no edge counts: ${why}`,
  });
  let start: VariantSample;
  try {
    start = await readVariantSample(stateDir);
  } catch (error) {
    return unknown((error as Error).message);
  }
  const end = start.atMs + windowSeconds * 1000;
  while (Date.now() < end) {
    progress(
      `collecting a ${windowSeconds} s window at nginx: ${
        Math.ceil((end - Date.now()) / 1000)
      } s left`,
    );
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, end - Date.now()))));
  }
  let last: VariantSample;
  try {
    last = await readVariantSample(stateDir);
  } catch (error) {
    return unknown((error as Error).message);
  }
  const w = variantWindow(start, last).stable;
  const figures: CanaryMetricsInput = {
    request_count: w.requests,
    error_rate_percent: w.error_rate_percent,
    p99_latency_ms: w.p99_latency_ms,
  };
  if (w.p99_above_ms !== undefined) figures.p99_above_ms = w.p99_above_ms;
  if (w.unknown !== undefined) {
    figures.unknown_figures = {
      request_count: w.unknown,
      error_rate_percent: w.unknown,
      p99_latency_ms: w.unknown,
    };
  }
  const seconds = ((last.atMs - start.atMs) / 1000).toFixed(0);
  const fmt = (v: number | null, unit: string) => (v === null ? "unknown" : `${v}${unit}`);
  return {
    figures,
    summary: `window ${seconds} s (counted at nginx): ${fmt(w.requests, "")} requests, error rate ${
      w.error_rate_percent === null ? "unknown" : `${w.error_rate_percent.toFixed(2)} %`
    }, P99 ${
      w.p99_above_ms !== undefined ? `above ${w.p99_above_ms} ms` : fmt(w.p99_latency_ms, " ms")
    }${w.unknown ? ` (${w.unknown})` : ""}`,
  };
}

/**
 * `promote canary|stable` on a swarm (under the caller's lock): the canary
 * policy is asked without figures first; when it wants them, a window of
 * `policy_limits.canary.window_seconds` is counted at nginx
 * (`swarmGateFigures`) and it is asked again. Denied: `promote_blocked` and
 * `policy_violation` recorded, exit 3, nothing changed. Allowed:
 * `services.mode` is edited in the manifest and `deploySwarm` rolls the app
 * service to the new mode (Swarm's rolling update); when that fails or is
 * denied the manifest is restored (unless edited since) and
 * `promote_failed` recorded.
 *
 * @returns 0 promoted, 3 denied by the canary or infrastructure policy
 * @throws what `deploySwarm` throws (SwarmRollbackError, exit 1, ...)
 */
export async function promoteSwarm(
  ctx: Context,
  loaded: LoadedManifest,
  target: "canary" | "stable",
  opts: { timeoutSeconds: number; progress: (line: string) => void; endProgress: () => void },
): Promise<number> {
  const { term } = ctx;
  const m = loaded.manifest;
  const from = m.services.mode;
  const started = performance.now();
  const { files } = await generate(ctx, loaded);
  const rec = new ReleaseRecorder();
  const evaluator = rec.wrap(
    await openEvaluator({ ...ctx, policyEngine: "wasm" }, loaded, files["policy_data.json"]),
    limitsFor(m),
  );
  let figures: CanaryMetricsInput = {
    request_count: null,
    error_rate_percent: null,
    p99_latency_ms: null,
  };
  const input = () => ({
    current_mode: from,
    target_mode: target,
    window_seconds: m.policy_limits.canary.window_seconds,
    ...figures,
  });
  let decision = await evaluator.evaluate("canary", input());
  if (!decision.allow && Object.values(decision.checked).some((v) => v === null)) {
    const w = await swarmGateFigures(
      ctx.stateDir,
      m.policy_limits.canary.window_seconds,
      opts.progress,
    );
    opts.endProgress();
    figures = w.figures;
    term.out(`  ${w.summary}`);
    decision = await evaluator.evaluate("canary", input());
  }
  printDecision(term, decision);
  if (!decision.allow) {
    const bundle = releaseField(
      await recordRelease(ctx, loaded, rec, {
        kind: "promote",
        status: "blocked",
        reason: `policy canary: ${decision.reasons.join("; ")}`,
        files: { "policy_data.json": policyDataForSwarm(files["policy_data.json"]) },
        observed: { images: [], containers: [], health: [] },
      }),
    );
    await record(loaded, "promote_blocked", { from, to: target, decision, ...bundle });
    await record(loaded, "policy_violation", {
      domain: "canary",
      reasons: decision.reasons,
      error_rate_percent: figures.error_rate_percent,
      p99_latency_ms: figures.p99_latency_ms,
    });
    term.out(term.red(`Promotion blocked by policy: canary (manifest and swarm untouched)`));
    return ExitCode.policyDenied;
  }

  const edited = await setManifestValue(loaded, ["services", "mode"], target);
  term.out(`${mark(term, true)} manifest: services.mode ${from} → ${target}`);
  const restore = async () => {
    const current = await readIfExists(loaded.path);
    if (current !== undefined && (await sha256Hex(current)) === edited.hash) {
      await atomicWrite(loaded.path, loaded.text);
    }
  };
  let code: number;
  try {
    code = await deploySwarm(ctx, edited, {
      timeoutSeconds: opts.timeoutSeconds,
      kind: "promote",
      recorder: rec,
    });
  } catch (error) {
    await restore();
    const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
    await record(loaded, "promote_failed", { from, to: target, reason });
    term.out(
      term.red(
        `Promotion to ${target} failed; the manifest was restored and Swarm keeps the ${from} tasks`,
      ),
    );
    throw error;
  }
  if (code !== 0) {
    await restore();
    await record(loaded, "promote_failed", { from, to: target, reason: `deploy exited ${code}` });
    term.out(term.red(`Promotion to ${target} refused; the manifest was restored`));
    return code;
  }
  const ms = Math.round(performance.now() - started);
  await record(edited, "promote", { from, to: target, duration_ms: ms });
  term.out(
    `${mark(term, true)} Promoted to ${target} on the swarm: every replica runs mode "${target}" (${
      (ms / 1000).toFixed(1)
    } s)`,
  );
  return 0;
}
