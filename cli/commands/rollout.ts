/**
 * Progressive delivery's shell (issue 13): starting a rollout from `deploy`
 * when `rollout.strategy` is `canary`, the driver's real dependencies
 * (engine, nginx's routes, the edge or Prometheus figures, the Rego policy,
 * the history, the change lock), and `swiftdeploy rollout
 * status|pause|resume|promote|abort`.
 */
import type { Context } from "./context.ts";
import {
  describeAction,
  type DesiredStack,
  execute,
  type ObservedState,
  type Step,
} from "../actions/mod.ts";
import { type ApplyOptions, applyStack, perform, routeTable } from "../deploy/mod.ts";
import { EngineClient } from "../engine/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { readVariantSample, variantWindow } from "../edge/mod.ts";
import type { EventName } from "../history/mod.ts";
import { acquireLock, type Lock } from "../lock/mod.ts";
import type { LoadedManifest } from "../manifest/mod.ts";
import type { PolicyEvaluator } from "../policy/mod.ts";
import { prometheusVariantFigures } from "../prometheus/mod.ts";
import { readRoutes, type RouteTarget } from "../routing/mod.ts";
import {
  abort,
  complete,
  describeStep,
  drive,
  type DriveOutcome,
  driverAlive,
  type DriverDeps,
  isActive,
  newRollout,
  outcomeOf,
  paused,
  readRolloutEvidence,
  readRolloutState,
  resumed,
  type RolloutState,
  rolloutStatePath,
  tryDriverLock,
  type VariantWindow,
  writeRolloutEvidence,
  writeRolloutState,
} from "../rollout/mod.ts";
import { sha256Hex } from "../digest/mod.ts";
import { mark } from "../term/mod.ts";
import type { StackPlan } from "../plan/mod.ts";
import { lockPath, printDecision, record } from "./_shared.ts";
import { type ActionEntry, type RecorderSnapshot, ReleaseRecorder } from "../release/mod.ts";
import { limitsFor, recordRelease, releaseField } from "./_release_evidence.ts";

/** The spec of an app container: its config hash and the image id it runs. */
export function specHash(configHash: string | undefined, imageId: string | undefined): string {
  return sha256Hex(`${configHash ?? ""}\n${imageId ?? ""}`);
}

/** What a `deploy` with `strategy: canary` does with the app. */
export type ReleasePlan =
  /** No serving stable to compare with, or nothing changed: today's switch. */
  | { kind: "switch"; why: string }
  /** A new version beside the serving stable, then the steps. */
  | { kind: "canary"; stable: RouteTarget; stableSpec: string; canarySpec: string };

/**
 * Decides how the app is released: a canary when the strategy says so, a
 * stable app serves (the one nginx's persisted routes name, running and
 * healthy) and its spec differs from the plan's.
 */
export function releasePlan(
  loaded: LoadedManifest,
  desired: DesiredStack,
  observed: ObservedState,
): ReleasePlan {
  if (loaded.manifest.rollout.strategy !== "canary") {
    return { kind: "switch", why: "rollout.strategy is switch" };
  }
  const app = desired.plan.containers.find((c) => c.role === "app")!;
  const canarySpec = specHash(app.configHash, observed.imageIds[app.body.Image]);
  const stable = observed.routes?.file?.stable;
  const serving = stable &&
    observed.containers.find((c) =>
      c.name === stable.container && c.role === "app" && c.state === "running" &&
      c.health !== "unhealthy"
    );
  if (!stable || !serving) return { kind: "switch", why: "no stable version serves yet" };
  const stableSpec = specHash(serving.configHash, serving.imageId);
  if (stableSpec === canarySpec) return { kind: "switch", why: "the app is unchanged" };
  return { kind: "canary", stable, stableSpec, canarySpec };
}

/**
 * Refuses a deploy while a rollout is active, and a deploy of a spec a
 * rollout rolled back unless `retry`.
 *
 * @throws SwiftDeployError ROLLOUT_ACTIVE (exit 4), ROLLOUT_REJECTED (exit 3)
 */
export function checkNoActiveRollout(
  state: RolloutState | undefined,
  spec: string | undefined,
  opts: { retry: boolean; command: string },
): void {
  if (!state) return;
  if (isActive(state)) {
    const same = spec !== undefined && state.canary.spec_hash === spec;
    throw new SwiftDeployError(
      "ROLLOUT_ACTIVE",
      `Cannot ${opts.command}: rollout ${state.id} of version ${state.canary.version} is ${state.phase}` +
        (same ? " (this very spec)" : ""),
      {
        exitCode: ExitCode.locked,
        hint: "see `swiftdeploy rollout status`; finish it with `rollout promote` or " +
          "`rollout abort` (or `rollout resume` if its driver was stopped)",
      },
    );
  }
  if (state.phase === "aborted" && spec !== undefined && state.canary.spec_hash === spec) {
    if (opts.retry) return;
    throw new SwiftDeployError(
      "ROLLOUT_REJECTED",
      `Cannot ${opts.command}: version ${state.canary.version} with this very spec was rolled back ` +
        `at ${state.abort?.at ?? state.updated_at} by ${state.abort?.by ?? "?"}: ${
          (state.abort?.reasons ?? []).join("; ")
        }`,
      {
        exitCode: ExitCode.policyDenied,
        hint: "change the app, or deploy the same spec again with `deploy --retry`",
      },
    );
  }
}

/** Seconds to wait for a short holder of the change lock before a transition gives up. */
const TRANSITION_LOCK_WAIT_MS = 15_000;

/** Takes the change lock, waiting up to 15 s for a short holder (another rollout verb). */
async function waitForLock(ctx: Context, command: string): Promise<Lock> {
  const deadline = Date.now() + TRANSITION_LOCK_WAIT_MS;
  while (true) {
    try {
      return await acquireLock(lockPath(ctx), command);
    } catch (error) {
      if (
        !(error instanceof SwiftDeployError) || error.code !== "LOCKED" || Date.now() > deadline
      ) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export interface RolloutShell {
  ctx: Context;
  loaded: LoadedManifest;
  engine: EngineClient;
  plan: StackPlan;
  evaluator: PolicyEvaluator;
  apply: ApplyOptions;
  /**
   * The deploy's recorder (its validate and infrastructure gates and
   * decisions): persisted with the rollout's start, so the release recorded
   * when the rollout ends holds them, whichever process ends it.
   */
  recorder?: ReleaseRecorder;
}

/** Action log entries of executed steps. */
function actionsOf(steps: readonly Step[]): ActionEntry[] {
  return steps.map((s) => ({ kind: s.action.kind, description: describeAction(s.action) }));
}

/** Appends executed steps to the rollout's persisted evidence (call under the change lock). */
async function appendRolloutActions(
  ctx: Context,
  id: string,
  steps: readonly Step[],
): Promise<void> {
  const ev = await readRolloutEvidence<RecorderSnapshot>(ctx.stateDir, id);
  if (!ev) return;
  ev.actions = [...(ev.actions ?? []), ...actionsOf(steps)];
  await writeRolloutEvidence(ctx.stateDir, id, ev);
}

/** The driver's dependencies on the real engine, nginx, policy and history. */
export function driverDeps(shell: RolloutShell): DriverDeps {
  const { ctx, loaded, engine, plan, evaluator, apply } = shell;
  const m = loaded.manifest;
  return {
    read: () => readRolloutState(ctx.stateDir),
    write: (s) => writeRolloutState(ctx.stateDir, s),
    locked: async (fn) => {
      const lock = await waitForLock(ctx, "rollout step");
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    },
    run: async (steps) => {
      const out = await runSteps(engine, plan, steps, apply);
      const id = (await readRolloutState(ctx.stateDir).catch(() => undefined))?.id;
      if (id) await appendRolloutActions(ctx, id, steps).catch(() => {});
      return out;
    },
    collect: (seconds, stop) => collectWindow(ctx, loaded, seconds, stop, apply.progress),
    decide: (input) => evaluator.evaluate("rollout", input),
    record: async (event, payload) => {
      // A completed rollout is a release; one rolled back keeps its evidence (blocked). The
      // bundle is written first, so the event names it.
      const bundle = event === "rollout_completed" || event === "rollout_aborted"
        ? await recordRolloutRelease(shell, event === "rollout_completed")
        : {};
      await record(loaded, event as EventName, { ...payload, ...bundle } as never);
    },
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    log: (line) => {
      apply.log(line);
    },
    progress: apply.progress,
    defaultWindowSeconds: m.rollout.analysis.window_seconds,
  };
}

/**
 * The evidence bundle of a rollout that ended: a good release when it
 * completed, `blocked` when its analysis rolled it back, `aborted` when an
 * operator did (recorded when the abort is decided). It holds the evidence
 * persisted at the rollout's start (the deploy's validate and
 * infrastructure gates and decisions, the canary's start), the actions of
 * every transition so far, then the analyses (every process that drove a
 * step wrote them into the state), each with the figures the policy
 * judged; its time runs from the deploy's start to the end.
 */
async function recordRolloutRelease(
  shell: RolloutShell,
  completed: boolean,
): Promise<ReturnType<typeof releaseField>> {
  const state = await readRolloutState(shell.ctx.stateDir).catch(() => undefined);
  const start = state
    ? await readRolloutEvidence<RecorderSnapshot>(shell.ctx.stateDir, state.id)
    : undefined;
  const rec = new ReleaseRecorder(
    undefined,
    start ?? (state ? { ...emptySnapshot(), started_at: state.started_at } : undefined),
  );
  const limits = limitsFor(shell.loaded.manifest)("rollout");
  for (const a of state?.analyses ?? []) {
    rec.decision("rollout", {
      step: a.step,
      weight: a.weight,
      window_seconds: a.window_seconds,
      canary: a.canary,
      stable: a.stable,
    }, {
      allow: a.outcome === "continue",
      reasons: a.reasons,
      domain: "rollout",
      checked: {
        outcome: a.outcome,
        canary_error_rate_percent: a.canary.error_rate_percent,
        canary_p99_latency_ms: a.canary.p99_latency_ms,
        canary_requests: a.canary.requests,
        stable_error_rate_percent: a.stable.error_rate_percent,
        stable_p99_latency_ms: a.stable.p99_latency_ms,
      },
    }, limits);
  }
  if (state) rec.time("rollout", Date.now() - Date.parse(state.started_at));
  return releaseField(
    await recordRelease(shell.ctx, shell.loaded, rec, {
      kind: "rollout",
      status: completed ? "good" : state?.abort?.by === "operator" ? "aborted" : "blocked",
      ...(state ? { rolloutId: state.id } : {}),
      ...(!completed && state?.abort
        ? { reason: `rolled back by ${state.abort.by}: ${state.abort.reasons.join("; ")}` }
        : {}),
      plan: shell.plan,
    }),
  );
}

function emptySnapshot(): RecorderSnapshot {
  return { started_at: "", decisions: [], gates: [], actions: [], timings: {}, health: [] };
}

/**
 * Runs a transition's steps; a route is timed (decision → in effect at
 * nginx, ms) and a drain or removal of a container that is already gone is
 * skipped (a killed run may have done it).
 */
async function runSteps(
  engine: EngineClient,
  plan: StackPlan,
  steps: Step[],
  apply: ApplyOptions,
): Promise<{ ms: number }> {
  let ms = 0;
  await execute(steps, {
    perform: async (a) => {
      if (a.kind === "route") {
        // Through the deploy's helper: nginx's table and Prometheus's apps.json together.
        ms = Math.round((await routeTable(plan, a.table)).ms * 10) / 10;
        return;
      }
      if (
        (a.kind === "drain" || a.kind === "remove") && !(await engine.containerInspect(a.container))
      ) {
        return;
      }
      await perform(engine, a, { ...apply, plan });
    },
    log: (line) => apply.log(line),
  });
  return { ms };
}

/**
 * Both variants' figures over `seconds`: nginx's per-variant counters read
 * at both ends (the default source), or Prometheus's increases over the
 * window (`rollout.analysis.source: prometheus`). Undefined when `stop()`
 * turned true meanwhile. An unreadable source makes both variants unknown:
 * the policy holds, then rolls back, never passes.
 */
async function collectWindow(
  ctx: Context,
  loaded: LoadedManifest,
  seconds: number,
  stop: () => Promise<boolean>,
  progress: (line: string) => void,
): Promise<VariantWindow | undefined> {
  const source = loaded.manifest.rollout.analysis.source;
  const unknown = (why: string): VariantWindow => {
    const u = { requests: null, errors: null, error_rate_percent: null, p99_latency_ms: null };
    return { canary: { ...u, unknown: why }, stable: { ...u, unknown: why } };
  };
  const first = source === "edge"
    ? await readVariantSample(ctx.stateDir).catch((e: Error) => e)
    : undefined;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    progress(`analysis (${source}): ${Math.ceil((end - Date.now()) / 1000)} s left`);
    await new Promise((r) => setTimeout(r, Math.min(500, end - Date.now())));
    if (await stop()) return undefined;
  }
  if (source === "prometheus") {
    try {
      return await prometheusVariantFigures(
        `http://127.0.0.1:${loaded.manifest.prometheus.port}`,
        seconds,
      );
    } catch (error) {
      return unknown(`Prometheus: ${(error as Error).message}`);
    }
  }
  if (first instanceof Error) return unknown(first.message);
  try {
    const last = await readVariantSample(ctx.stateDir);
    return variantWindow(first!, last);
  } catch (error) {
    return unknown((error as Error).message);
  }
}

/**
 * Starts a rollout (deploy, under the change lock): the canary joins beside
 * the serving stable at weight 0, confirmed through nginx with the pin
 * header, and the state is persisted. The steps are walked by `drive`
 * after the deploy's lock is released.
 */
export async function startRollout(
  shell: RolloutShell,
  desired: DesiredStack,
  release: Extract<ReleasePlan, { kind: "canary" }>,
): Promise<RolloutState> {
  const { loaded, engine } = shell;
  const m = loaded.manifest;
  const result = await applyStack(engine, {
    ...desired,
    release: { kind: "canary", stable: release.stable, header: m.rollout.routing.header },
  }, shell.apply);
  const app = desired.plan.containers.find((c) => c.role === "app")!;
  const canaryRoute = result.steps
    .map((s) => s.action)
    .find((a) => a.kind === "route");
  const canary = canaryRoute?.kind === "route" ? canaryRoute.table.canary : undefined;
  const state = newRollout({
    steps: m.rollout.steps,
    stable: { ...release.stable, spec_hash: release.stableSpec },
    canary: {
      container: canary?.container ?? app.name,
      address: canary?.address ?? "",
      version: m.services.version,
      spec_hash: release.canarySpec,
    },
  }, new Date());
  if (!state.canary.address) {
    const routes = await readRoutes(desired.plan);
    const c = routes.file?.canary;
    if (!c) {
      throw new SwiftDeployError("DEPLOY_FAILED", "The canary joined but nginx's routes name none");
    }
    state.canary.address = c.address;
    state.canary.container = c.container;
  }
  await writeRolloutState(shell.ctx.stateDir, state);
  // The start's evidence, for the release recorded when the rollout ends (any process).
  const rec = shell.recorder ?? new ReleaseRecorder();
  rec.gate(
    "canary.start",
    "pass",
    `${state.canary.container} (${state.canary.version}) beside ${state.stable.container} ` +
      `(${state.stable.version}) at weight 0`,
  );
  rec.steps(actionsOf(result.steps));
  await writeRolloutEvidence(shell.ctx.stateDir, state.id, rec.snapshot());
  await record(loaded, "rollout_started", {
    id: state.id,
    stable: { container: state.stable.container, version: state.stable.version },
    canary: { container: state.canary.container, version: state.canary.version },
    steps: state.steps,
  });
  return state;
}

/**
 * Walks the rollout to its end in this process (holding the driver lock),
 * printing each transition; returns the exit code: 0 completed, 3 rolled
 * back (the reasons printed).
 *
 * @throws SwiftDeployError ROLLOUT_ACTIVE when another process drives it
 */
export async function driveToEnd(shell: RolloutShell): Promise<number> {
  const { ctx } = shell;
  const lock = await tryDriverLock(ctx.stateDir);
  if (!lock) {
    throw new SwiftDeployError(
      "ROLLOUT_ACTIVE",
      "Another process is walking this rollout's steps",
      {
        exitCode: ExitCode.locked,
        hint: "follow it with `swiftdeploy rollout status`",
      },
    );
  }
  let out: DriveOutcome;
  try {
    out = await drive(driverDeps(shell));
  } finally {
    lock.close();
  }
  return reportOutcome(shell, out);
}

function reportOutcome(shell: RolloutShell, out: DriveOutcome): number {
  const term = shell.ctx.term;
  const s = out.state;
  if (out.kind === "completed") {
    term.out(
      `${mark(term, true)} Rollout ${s.id} complete: version ${s.canary.version} takes all traffic`,
    );
    return 0;
  }
  if (out.kind === "paused") {
    term.out(`${mark(term, true)} Rollout ${s.id} paused at step ${s.step_index + 1}`);
    return 0;
  }
  term.out(
    term.red(
      `Rollout ${s.id} rolled back by ${
        s.abort?.by ?? "?"
      }: version ${s.canary.version} removed, ` +
        `${s.stable.version} serves all traffic`,
    ),
  );
  for (const r of s.abort?.reasons ?? []) term.out(`  ${term.yellow("!")} ${r}`);
  return ExitCode.policyDenied;
}

/**
 * `rollout abort --force`: a state file that cannot be read is renamed
 * `state.json.damaged-<epoch ms>` (kept for a look, never deleted), so the
 * next deploy starts clean. Returns the new path, or undefined when the
 * state reads fine (the caller aborts it normally) or there is none.
 */
export async function setDamagedStateAside(ctx: Context): Promise<string | undefined> {
  try {
    await readRolloutState(ctx.stateDir);
    return undefined;
  } catch (error) {
    if (!(error instanceof SwiftDeployError) || error.code !== "CHECK_FAILED") throw error;
  }
  const path = rolloutStatePath(ctx.stateDir);
  const aside = `${path}.damaged-${Date.now()}`;
  await Deno.rename(path, aside);
  return aside;
}

/** The verbs' common start: the persisted state, or a clear error when there is none. */
async function requireState(ctx: Context): Promise<RolloutState> {
  const state = await readRolloutState(ctx.stateDir);
  if (!state) {
    throw new SwiftDeployError("NO_ROLLOUT", "No rollout was ever started in this deployment", {
      exitCode: ExitCode.invalid,
      hint: "set `rollout.strategy: canary` in the manifest and deploy a changed app",
    });
  }
  return state;
}

/** `rollout pause`: the driver stops moving at its next look (a window under way is discarded). */
export async function rolloutPause(shell: RolloutShell): Promise<number> {
  return await underLock(shell, "rollout pause", async (state) => {
    if (state.phase !== "progressing") return notIn(state, "pause", "progressing");
    await writeRolloutState(shell.ctx.stateDir, paused(state, new Date()));
    await record(shell.loaded, "rollout_paused", {
      id: state.id,
      step: state.step_index,
      by: operator(),
    });
    shell.ctx.term.out(
      `${mark(shell.ctx.term, true)} Rollout ${state.id} paused at step ${state.step_index + 1} ` +
        `(weight ${state.weight} %); \`rollout resume\` continues`,
    );
    return 0;
  });
}

/**
 * `rollout resume`: a paused rollout progresses again; when no process
 * drives it (the deploy that started it was stopped or killed), this one
 * walks the remaining steps.
 */
export async function rolloutResume(shell: RolloutShell): Promise<number> {
  const ctx = shell.ctx;
  const code = await underLock(shell, "rollout resume", async (state) => {
    if (!isActive(state)) {
      return notIn(state, "resume", "progressing, paused, completing or aborting");
    }
    if (state.phase === "paused") {
      await writeRolloutState(ctx.stateDir, resumed(state, new Date()));
      await record(shell.loaded, "rollout_resumed", {
        id: state.id,
        step: state.step_index,
        by: operator(),
      });
      ctx.term.out(
        `${mark(ctx.term, true)} Rollout ${state.id} resumed at step ${state.step_index + 1}`,
      );
    }
    return -1;
  });
  if (code !== -1) return code;
  if (await driverAlive(ctx.stateDir)) {
    ctx.term.out(
      "  the process that started it walks the remaining steps (`rollout status` follows it)",
    );
    return 0;
  }
  return await driveToEnd(shell);
}

/**
 * `rollout promote`: skips the remaining steps when the policy allows it on
 * a fresh window at the current weight; otherwise exits 3 and nothing moves.
 */
export async function rolloutPromote(shell: RolloutShell): Promise<number> {
  const { ctx, loaded } = shell;
  const state = await requireState(ctx);
  if (state.phase !== "progressing" && state.phase !== "paused") {
    return notIn(state, "promote", "progressing or paused");
  }
  const seconds = loaded.manifest.rollout.analysis.window_seconds;
  ctx.term.out(`  judging the canary at ${state.weight} % over ${seconds} s before promoting`);
  const same = async () => {
    const now = await readRolloutState(ctx.stateDir);
    return !now || now.id !== state.id || !isActive(now);
  };
  const window = await collectWindow(ctx, loaded, seconds, same, shell.apply.progress);
  if (!window) return notIn((await readRolloutState(ctx.stateDir)) ?? state, "promote", "active");
  const deps = driverDeps(shell);
  return await underLock(shell, "rollout promote", async (current) => {
    if (
      current.id !== state.id || (current.phase !== "progressing" && current.phase !== "paused")
    ) {
      return notIn(current, "promote", "progressing or paused");
    }
    const decision = await shell.evaluator.evaluate("rollout", {
      step: current.step_index,
      weight: current.weight,
      window_seconds: seconds,
      analyses_failed: current.analyses_failed,
      analyses_inconclusive: current.analyses_inconclusive,
      canary: window.canary,
      stable: window.stable,
    });
    printDecision(ctx.term, decision);
    if (outcomeOf(decision) !== "continue") {
      await record(loaded, "policy_violation", {
        domain: "rollout",
        reasons: decision.reasons,
      } as never);
      ctx.term.out(ctx.term.red("Promotion blocked by policy: rollout (nothing moved)"));
      return ExitCode.policyDenied;
    }
    await record(loaded, "rollout_promoted", {
      id: current.id,
      step: current.step_index,
      decision,
    } as never);
    const done = await complete(deps, current);
    ctx.term.out(
      `${
        mark(ctx.term, true)
      } Rollout ${done.id} promoted: version ${done.canary.version} takes all traffic`,
    );
    return 0;
  });
}

/** `rollout abort`: the canary's weight goes to 0 at once, then it drains. */
export async function rolloutAbort(shell: RolloutShell): Promise<number> {
  const deps = driverDeps(shell);
  return await underLock(shell, "rollout abort", async (state) => {
    if (!isActive(state)) return notIn(state, "abort", "active");
    const reasons = state.phase === "aborting"
      ? state.abort?.reasons ?? ["aborted by the operator"]
      : [`aborted by the operator (${operator()}) at step ${state.step_index + 1}`];
    const done = await abort(deps, state, state.abort?.by ?? "operator", reasons);
    shell.ctx.term.out(
      `${
        mark(shell.ctx.term, true)
      } Rollout ${done.id} aborted: ${done.canary.container} drained, ` +
        `version ${done.stable.version} serves all traffic`,
    );
    return 0;
  });
}

/** The truth about a rollout: the state, what nginx routes, whether a driver runs. */
export interface RolloutReport {
  state: RolloutState | undefined;
  driver: boolean;
  routes: { nginx?: unknown; file?: unknown };
  problems: string[];
}

/** `rollout status`: the persisted state checked against nginx and the engine. */
export async function rolloutReport(shell: RolloutShell): Promise<RolloutReport> {
  const { ctx, engine, plan } = shell;
  const state = await readRolloutState(ctx.stateDir);
  const driver = await driverAlive(ctx.stateDir);
  const routes = await readRoutes(plan).catch((e: Error) => ({ error: e.message }));
  const problems: string[] = [];
  if ("error" in routes) problems.push(`nginx's routes cannot be read: ${routes.error}`);
  if (state) {
    const held = "error" in routes ? undefined : routes.nginx;
    const want = state.phase === "completed"
      ? { stable: state.canary.address, weight: undefined }
      : state.phase === "aborted"
      ? { stable: state.stable.address, weight: undefined }
      : { stable: state.stable.address, weight: state.weight };
    if (held) {
      if (held.stable.address !== want.stable) {
        problems.push(
          `nginx sends stable traffic to ${held.stable.address}, the rollout expects ${want.stable}`,
        );
      }
      if (
        (state.phase === "progressing" || state.phase === "paused") &&
        held.canary?.weight !== state.weight
      ) {
        problems.push(
          `nginx gives the canary ${
            held.canary?.weight ?? 0
          } %, the rollout is at ${state.weight} %`,
        );
      }
    }
    for (const v of [state.stable, state.canary]) {
      const gone = !(await engine.containerInspect(v.container));
      const should = (v === state.canary && state.phase !== "aborted") ||
        (v === state.stable && state.phase !== "completed");
      if (gone && should) problems.push(`container ${v.container} (${v.version}) is gone`);
    }
    if (
      (state.phase === "progressing" || state.phase === "completing" ||
        state.phase === "aborting") && !driver
    ) {
      problems.push(
        state.phase === "progressing"
          ? "no process walks its steps (the one that did was stopped): `rollout resume` continues, `rollout abort` rolls back"
          : `its ${
            state.phase === "aborting" ? "rollback" : "completion"
          } was decided but not finished: \`rollout resume\` finishes it`,
      );
    }
  }
  return {
    state,
    driver,
    routes: "error" in routes ? {} : routes,
    problems,
  };
}

/** The text of `rollout status`. */
export function formatRolloutReport(r: RolloutReport, defaultWindowSeconds: number): string {
  const s = r.state;
  if (!s) return "No rollout was ever started in this deployment.\n";
  const ended = !isActive(s);
  const lines = [
    `Rollout ${s.id}: ${s.phase}${r.driver ? " (driven by a running process)" : ""}`,
    `  ${s.phase === "completed" ? "was stable" : "stable"}  ${
      s.stable.version.padEnd(10)
    } ${s.stable.container}  ${s.stable.address}`,
    `  canary  ${s.canary.version.padEnd(10)} ${s.canary.container}  ${s.canary.address}`,
    `  weight  ${s.weight} %`,
    ended
      ? `  steps   ended after step ${
        Math.min(s.step_index + 1, s.steps.length)
      } of ${s.steps.length}`
      : `  step    ${Math.min(s.step_index + 1, s.steps.length)}/${s.steps.length}: ${
        describeStep(s.steps[s.step_index], defaultWindowSeconds)
      }`,
  ];
  const last = s.analyses.at(-1);
  if (last) {
    lines.push(`  last analysis (step ${last.step + 1}, ${last.weight} %): ${last.outcome}`);
    for (const reason of last.reasons) lines.push(`    - ${reason}`);
  }
  if (s.abort) lines.push(`  rolled back by ${s.abort.by}: ${s.abort.reasons.join("; ")}`);
  for (const p of r.problems) lines.push(`  ! ${p}`);
  return lines.join("\n") + "\n";
}

async function underLock(
  shell: RolloutShell,
  command: string,
  fn: (state: RolloutState) => Promise<number>,
): Promise<number> {
  await requireState(shell.ctx);
  const lock = await acquireLock(lockPath(shell.ctx), command);
  try {
    return await fn(await requireState(shell.ctx));
  } finally {
    await lock.release();
  }
}

function notIn(state: RolloutState, verb: string, expected: string): never {
  throw new SwiftDeployError(
    "ROLLOUT_STATE",
    `Cannot ${verb} rollout ${state.id}: it is ${state.phase}, not ${expected}`,
    { exitCode: ExitCode.invalid, hint: "see `swiftdeploy rollout status`" },
  );
}

function operator(): string {
  return Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? "operator";
}
