/** `deploy`, `promote canary|stable` and `teardown`: the state-changing commands, each under the lock. */
import { join } from "node:path";
import type { Context } from "./context.ts";
import {
  chooseAddressing,
  describeSteps,
  type DesiredStack,
  diffStack,
  type Step,
} from "../actions/mod.ts";
import { applyStack, observeStack, removeStack } from "../deploy/mod.ts";
import { EngineClient } from "../engine/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { atomicWrite, ensureDir, readIfExists } from "../fs/mod.ts";
import { generate, writeGenerated } from "../generate/mod.ts";
import { readHostFigures } from "../host/mod.ts";
import { acquireLock, describeHolder, type Lock } from "../lock/mod.ts";
import { sha256Hex } from "../digest/mod.ts";
import { type LoadedManifest, loadManifest, setManifestValue, targetOf } from "../manifest/mod.ts";
import { type CanaryMetricsInput, canaryMetricsInput, windowSummary } from "../metrics/mod.ts";
import { hashPolicySources } from "../policy/mod.ts";
import { describePlan, type StackPlan } from "../plan/mod.ts";
import { GENERATED_FILE_NAMES } from "../render/mod.ts";
import { scrapesDir } from "../scrapes/mod.ts";
import { collectGateWindow, ensureEdgeAdminDir } from "../edge/mod.ts";
import { mark } from "../term/mod.ts";
import { validate } from "../validate/mod.ts";
import {
  infrastructureAllows,
  lockPath,
  nginxUrl,
  openEvaluator,
  printDecision,
  record,
} from "./_shared.ts";
import { describeStep, readRolloutState } from "../rollout/mod.ts";
import { type ReleasePointer, ReleaseRecorder, type ReleaseStatus } from "../release/mod.ts";
import { limitsFor, recordRelease, releaseField } from "./_release_evidence.ts";
import {
  checkNoActiveRollout,
  driveToEnd,
  releasePlan,
  specHash,
  startRollout,
} from "./rollout.ts";

/**
 * Takes the lock, then loads the manifest: what a change reads is what no
 * other change can alter until it ends (a promotion finishing between the
 * read and the lock would otherwise be undone).
 */
async function withLock<T>(
  ctx: Context,
  command: string,
  fn: (loaded: LoadedManifest, lock: Lock) => Promise<T>,
): Promise<T> {
  // Invalid input exits 2 before anything is written (the lock file included);
  // what the change acts on is read again under the lock, so a change that
  // ended in between (a promotion's manifest edit) is never undone.
  await loadManifest(ctx.manifestArg);
  const lock = await acquireLock(lockPath(ctx), command);
  try {
    const loaded = await loadManifest(ctx.manifestArg);
    if (lock.interrupted) {
      // The kernel lock was free (it ends with its holder); the record says that change was cut short.
      ctx.term.err(
        `${ctx.term.yellow("warning:")} took over the lock of ${
          describeHolder(lock.interrupted)
        }: that change ended without releasing it (killed or crashed)`,
      );
      const h = lock.interrupted;
      await record(loaded, "lock_taken_over", {
        previous: { host: h.host, pid: h.pid, since: h.started_at },
        reason: `holder "${h.command}" ended without releasing; taken by "${command}"`,
      });
    }
    return await fn(loaded, lock);
  } finally {
    await lock.release();
  }
}

/** Creates the host folders the containers bind-mount, 0755 whatever the umask (issue 11 case 11). */
async function ensureHostDirs(plan: StackPlan): Promise<void> {
  await ensureDir(plan.hostDirs.nginxConfigDir, 0o755);
  await ensureDir(plan.hostDirs.opaDataDir, 0o755);
  // 0700 and nginx's user: its admin socket (edge counters) is for nginx and root only
  await ensureEdgeAdminDir(plan);
}

/** Progress redrawn in place on a TTY; elsewhere a line at most every 5 s (and every final one). */
function progressPrinter(ctx: Context): (line: string) => void {
  let lastPrinted = 0;
  return (line) => {
    if (ctx.term.color) {
      Deno.stdout.writeSync(new TextEncoder().encode(`\r\x1b[2K  ${ctx.term.dim(line)}`));
      return;
    }
    const final = /healthy after/.test(line);
    if (final || Date.now() - lastPrinted >= 5000) {
      ctx.term.out(`  ${line}`);
      lastPrinted = final ? 0 : Date.now();
    }
  };
}

/**
 * The stack as the engine path runs it: planned with the policy sources'
 * hash (a policy change replaces OPA) and the addresses chosen from what
 * the engine holds, rendered for the host folders the containers bind.
 */
async function desiredOnEngine(
  ctx: Context,
  engine: EngineClient,
  loaded: LoadedManifest,
): Promise<DesiredStack> {
  const policiesHash = (await hashPolicySources(join(ctx.home, "policies"))).hash;
  const first = await generate(ctx, loaded, { policiesHash });
  const addressing = chooseAddressing(first.plan, await observeStack(engine, first.plan));
  const { plan, files } = await generate(ctx, loaded, { policiesHash, addressing });
  const { mode, version, port } = loaded.manifest.services;
  return {
    plan,
    nginxConf: files["nginx.conf"],
    policyData: files["policy_data.json"],
    expect: { mode, version },
    appPort: port,
  };
}

/** Prints the plan and the actions it takes against the running engine; changes nothing. */
/**
 * Refuses a change while a rollout is active (exit 4) and a deploy of a spec
 * a rollout rolled back unless `retry` (exit 3), before anything is written.
 * The spec is the plan's app config hash and the image id the engine holds
 * for it (an engine that cannot be asked leaves that check to the deploy's
 * own, after it observed the engine).
 */
async function refuseDuringRollout(
  ctx: Context,
  plan: StackPlan,
  opts: { retry: boolean; command: string; spec?: string },
): Promise<void> {
  const state = await readRolloutState(ctx.stateDir);
  if (!state) return;
  let spec = opts.spec;
  if (spec === undefined && opts.command === "deploy") {
    const app = plan.containers.find((c) => c.role === "app")!;
    const engine = await EngineClient.connect(ctx.env).catch(() => undefined);
    if (engine) {
      try {
        const image = await engine.imageInspect(app.body.Image).catch(() => undefined);
        if (image) spec = specHash(app.configHash, image.Id);
      } finally {
        engine.close();
      }
    }
  }
  checkNoActiveRollout(state, spec, opts);
}

async function printDryRun(
  ctx: Context,
  loaded: LoadedManifest,
  note: string,
  opts: { command: string; retry?: boolean } = { command: "deploy" },
): Promise<number> {
  const engine = await EngineClient.connect(ctx.env);
  try {
    const desired = await desiredOnEngine(ctx, engine, loaded);
    const observed = await observeStack(engine, desired.plan);
    // What the real command would refuse, the dry run refuses with the same exit code.
    const app = desired.plan.containers.find((c) => c.role === "app")!;
    checkNoActiveRollout(
      await readRolloutState(ctx.stateDir),
      opts.command === "deploy"
        ? specHash(app.configHash, observed.imageIds[app.body.Image])
        : undefined,
      { retry: opts.retry ?? false, command: opts.command },
    );
    const release = releasePlan(loaded, desired, observed);
    ctx.term.out(describePlan(desired.plan));
    if (release.kind === "canary") {
      desired.release = {
        kind: "canary",
        stable: release.stable,
        header: loaded.manifest.rollout.routing.header,
      };
      const steps = loaded.manifest.rollout.steps;
      ctx.term.out(
        `a canary rollout: the new version starts beside "${release.stable.container}", then ` +
          `${steps.length} steps: ${
            steps.map((s) => describeStep(s, loaded.manifest.rollout.analysis.window_seconds))
              .join(", ")
          } (then 100 %)`,
      );
    }
    ctx.term.out(describeSteps(diffStack(desired, observed)));
  } finally {
    engine.close();
  }
  ctx.term.out(ctx.term.dim(`dry run: ${note}nothing was written, started or changed`));
  return 0;
}

function endProgress(ctx: Context): void {
  if (ctx.term.color) Deno.stdout.writeSync(new TextEncoder().encode("\r\x1b[2K"));
}

export async function runDeploy(
  ctx: Context,
  opts: { dryRun: boolean; timeoutSeconds: number; retry?: boolean; ref?: string },
): Promise<number> {
  const started = performance.now();
  if (opts.ref !== undefined && opts.dryRun) {
    throw new SwiftDeployError("USAGE", "Cannot combine --dry-run with --ref", {
      exitCode: ExitCode.invalid,
      hint: "build the commit with `swiftdeploy build --ref <commit>` to see its image",
    });
  }
  if (opts.dryRun) {
    const loaded = await loadManifest(ctx.manifestArg);
    if (targetOf(loaded.manifest) === "swarm") {
      const { dryRunSwarm, swarmContext } = await import("./swarm.ts");
      return await dryRunSwarm(await swarmContext(ctx), loaded);
    }
    return await printDryRun(ctx, loaded, "", {
      command: "deploy",
      retry: opts.retry ?? false,
    });
  }
  return await withLock(ctx, "deploy", async (loaded, lock) => {
    if (opts.ref === undefined) return await deployLocked(ctx, loaded, lock, opts, started);
    // --ref: the commit of services.source becomes the app image and version first (issue 16).
    // The manifest names what runs: unless the deploy succeeds (blocked, failed, rolled back,
    // refused, thrown), the manifest and the generated files are put back as they were.
    const oldFiles = await snapshotGenerated(loaded.dir);
    const edited = await checkoutRef(ctx, loaded, opts.ref);
    let code: number | undefined;
    try {
      code = await deployLocked(ctx, edited, lock, opts, started);
      return code;
    } finally {
      if (code !== 0) await putManifestBack(ctx, loaded, edited, oldFiles);
    }
  });
}

/**
 * Puts the manifest text `before` back (atomically) when the file still holds
 * `edited` (a file changed by someone else meanwhile is left alone, with a
 * warning), and the generated files of `oldFiles`.
 */
async function putManifestBack(
  ctx: Context,
  before: LoadedManifest,
  edited: LoadedManifest,
  oldFiles: Map<string, string | undefined>,
): Promise<void> {
  const current = await readIfExists(before.path);
  if (current !== undefined && sha256Hex(current) === edited.hash) {
    await atomicWrite(before.path, before.text);
    await restoreGenerated(before.dir, oldFiles);
    ctx.term.out(
      `manifest put back: ${before.path} names version ${before.manifest.services.version} again`,
    );
  } else if (current !== before.text) {
    ctx.term.err(
      `warning: ${before.path} changed during the deploy; it was not put back (it names --ref's image)`,
    );
  }
}

/** `deploy --ref`: builds the commit's image and writes it into the manifest (cli/source). */
async function checkoutRef(ctx: Context, loaded: LoadedManifest, ref: string) {
  const { applySourceRef } = await import("../source/mod.ts");
  const engine = await EngineClient.connect(ctx.env);
  try {
    const r = await applySourceRef(engine, loaded, {
      homeDir: ctx.home,
      stateDir: ctx.stateDir,
      ref,
      log: (l) => ctx.term.err(ctx.term.dim(l)),
    });
    ctx.term.out(
      `${mark(ctx.term, true)} source: ${r.build.sha.slice(0, 12)} → ${r.build.image} ` +
        `(version ${r.build.version}, ${r.build.rebuilt ? "built" : "up to date"}, ${
          r.build.seconds.toFixed(1)
        } s)`,
    );
    return r.loaded;
  } finally {
    engine.close();
  }
}

/** What a deploy under the lock is asked to do. */
export interface DeployLockedOptions {
  timeoutSeconds: number;
  retry?: boolean;
  /**
   * Set by `rollback`: the release being re-applied. The app switches at
   * once (never a canary), a spec a rollout rejected is not refused, and
   * the release is recorded as kind `rollback` (none when nothing changed).
   */
  rollbackOf?: ReleasePointer;
  /**
   * Set by `release promote` (issue 15): the release of the previous
   * environment this deploy promotes; the release is recorded as kind
   * `release-promote` naming it.
   */
  promotedFrom?: ReleasePointer & { environment: string };
  /** The recorder to keep (a promotion's gate was recorded into it already). */
  recorder?: ReleaseRecorder;
}

/**
 * The deploy lifecycle (ARCHITECTURE.md, steps 3-13) under a held change
 * lock, recording the attempt's evidence bundle whatever its outcome
 * (cli/release): good, failed (undone) or blocked (a gate refused it).
 * `rollback` runs the same path on the release's own manifest.
 *
 * @returns the exit code (0, or 3 when a policy denied)
 */
export async function deployLocked(
  ctx: Context,
  loaded: LoadedManifest,
  lock: Lock,
  opts: DeployLockedOptions,
  started = performance.now(),
): Promise<number> {
  const { term } = ctx;
  const m = loaded.manifest;
  if (targetOf(m) === "swarm") {
    const { deploySwarm, swarmContext } = await import("./swarm.ts");
    return await deploySwarm(await swarmContext(ctx), loaded, {
      timeoutSeconds: opts.timeoutSeconds,
    });
  }
  const { plan, files } = await generate(ctx, loaded);
  const retry = (opts.retry ?? false) || opts.rollbackOf !== undefined;
  const command = opts.rollbackOf ? "rollback" : "deploy";
  // 0. a rollout under way, or this very spec rolled back: refused before anything is written
  await refuseDuringRollout(ctx, plan, { retry, command });
  // The attempt's evidence (cli/release), written when it ends, whatever the outcome.
  const rec = opts.recorder ?? new ReleaseRecorder();
  // Written before the history event, which names it (`release`): the chain covers the bundle.
  const evidence = async (
    status: ReleaseStatus,
    extra: { reason?: string; steps?: readonly Step[] },
  ) =>
    releaseField(
      await recordRelease(ctx, loaded, rec, {
        kind: opts.rollbackOf ? "rollback" : opts.promotedFrom ? "release-promote" : "deploy",
        status,
        files,
        plan,
        ...(opts.rollbackOf ? { rollbackOf: opts.rollbackOf } : {}),
        ...(opts.promotedFrom ? { promotedFrom: opts.promotedFrom } : {}),
        ...extra,
      }),
    );
  // A deploy that ended without its stack: the history event names the release recorded for it.
  const recordFailure = async (reason: string, status: ReleaseStatus = "failed") =>
    await record(loaded, "deploy_failed", { reason, ...(await evidence(status, { reason })) });
  // 1. init, and the folders the containers bind: 0755 whatever the umask (their users are not root)
  const written = await writeGenerated(loaded.dir, files);
  await ensureHostDirs(plan);
  term.out(
    `${mark(term, true)} init: ${
      written.length ? `wrote ${written.join(", ")}` : "generated files up to date"
    }`,
  );

  // 2. validate: any failure stops here
  const validateStarted = performance.now();
  const report = await validate(ctx);
  rec.time("validate", performance.now() - validateStarted);
  const failed = report.checks.filter((c) => !c.ok);
  if (report.manifestError) throw report.manifestError;
  if (report.engineError) throw report.engineError;
  if (failed.length > 0) {
    for (const c of failed) term.out(`${mark(term, false)} FAIL ${c.name}: ${c.detail}`);
    const reason = `validate: ${failed.map((c) => `${c.name}: ${c.detail}`).join("; ")}`;
    for (const c of failed) rec.gate(`validate.${c.name}`, "fail", c.detail);
    await recordFailure(reason, "blocked");
    throw new SwiftDeployError(
      "CHECK_FAILED",
      `Cannot deploy: ${failed.length} pre-flight check(s) failed`,
      {
        hint: "run `swiftdeploy validate` for the full list",
      },
    );
  }
  term.out(`${mark(term, true)} validate: ${report.checks.length} checks passed`);
  rec.gate("validate", "pass", `${report.checks.length} checks passed`);

  // 3. pre-deploy policy with real host figures
  const engine = await EngineClient.connect(ctx.env);
  try {
    const info = await engine.info();
    const figures = await readHostFigures(info.DockerRootDir);
    const evaluator = rec.wrap(
      await openEvaluator(ctx, loaded, files["policy_data.json"]),
      limitsFor(m),
    );
    const denied = async (d: { reasons: string[] }) =>
      (await evidence("blocked", { reason: `policy infrastructure: ${d.reasons.join("; ")}` }))
        .release;
    if (!(await infrastructureAllows(term, loaded, evaluator, figures, denied))) {
      term.out(term.red("Deployment blocked by policy: infrastructure (nothing was started)"));
      return ExitCode.policyDenied;
    }

    // 4. create or replace what changed, wait healthy, confirm through nginx
    const progress = progressPrinter(ctx);
    const apply = {
      timeoutMs: opts.timeoutSeconds * 1000,
      nginxPort: m.nginx.port,
      log: (l: string) => {
        endProgress(ctx);
        term.out(`  ${l}`);
      },
      progress,
    };
    const desired = await desiredOnEngine(ctx, engine, loaded);
    const observed = await observeStack(engine, desired.plan);
    const release = opts.rollbackOf
      ? { kind: "switch" as const, why: "a rollback switches at once" }
      : releasePlan(loaded, desired, observed);
    const app = desired.plan.containers.find((c) => c.role === "app")!;
    checkNoActiveRollout(
      await readRolloutState(ctx.stateDir),
      specHash(app.configHash, observed.imageIds[app.body.Image]),
      { retry, command },
    );
    if (release.kind === "canary") {
      // 4b. a canary beside the serving stable, then the steps (issue 13)
      const shell = { ctx, loaded, engine, plan: desired.plan, evaluator, apply, recorder: rec };
      let state;
      try {
        state = await startRollout(shell, desired, release);
      } catch (error) {
        endProgress(ctx);
        await recordFailure(firstLine(error));
        throw error;
      }
      endProgress(ctx);
      term.out(
        `${mark(term, true)} Rollout ${state.id} started: ${state.canary.version} beside ` +
          `${state.stable.version}, ${state.steps.length} steps (\`swiftdeploy rollout status\` follows it)`,
      );
      // The steps take the change lock one transition at a time: `rollout pause|abort` act at once.
      await lock.release();
      return await driveToEnd(shell);
    }
    let result;
    const applyStarted = performance.now();
    try {
      result = await applyStack(engine, desired, apply);
    } catch (error) {
      endProgress(ctx);
      rec.time("apply", performance.now() - applyStarted);
      await recordFailure(firstLine(error));
      throw error;
    }
    endProgress(ctx);
    rec.time("apply", performance.now() - applyStarted);
    rec.gate(
      "health",
      "pass",
      `${result.steps.filter((s) => s.action.kind === "wait-healthy").length} container(s) healthy`,
      `${opts.timeoutSeconds} s`,
    );
    rec.gate(
      "confirm.nginx",
      "pass",
      `/healthz: mode ${m.services.mode}, version ${m.services.version}`,
    );
    warnCleanup(ctx, result.cleanupError);
    const ms = Math.round(performance.now() - started);
    if (!result.changed && opts.rollbackOf) {
      term.out(
        `${mark(term, true)} The running stack already is release ${opts.rollbackOf.number}`,
      );
      // Nothing changed, so no release: a second record of the same stack would only push an
      // older good release out of `releases.retain` (and its images out of reach of rollback).
      await record(loaded, "deploy_noop", {
        mode: m.services.mode,
        version: m.services.version,
        rollback_of: opts.rollbackOf.number,
      });
      return 0;
    }
    if (!result.changed) {
      await record(loaded, "deploy_noop", { mode: m.services.mode, version: m.services.version });
      term.out(
        `${mark(term, true)} Nothing to do: the running stack already matches ${loaded.path}`,
      );
      return 0;
    }
    const bundle = await evidence("good", { steps: result.steps });
    await record(loaded, "deploy", {
      mode: m.services.mode,
      version: m.services.version,
      image: m.services.image,
      containers: plan.containers.map((c) => c.name),
      duration_ms: ms,
      ...(opts.rollbackOf
        ? { kind: "rollback" as const, rollback_of: opts.rollbackOf.number }
        : {}),
      ...bundle,
    });
    term.out(
      `${
        mark(term, true)
      } Deployed ${m.project}: mode ${m.services.mode}, version ${m.services.version}, ` +
        `http://127.0.0.1:${m.nginx.port}/ healthy (${(ms / 1000).toFixed(1)} s)`,
    );
    return 0;
  } finally {
    engine.close();
  }
}

export async function runPromote(
  ctx: Context,
  target: string,
  opts: { dryRun?: boolean; timeoutSeconds: number },
): Promise<number> {
  const { term } = ctx;
  if (target !== "canary" && target !== "stable") {
    throw new SwiftDeployError("USAGE", `Invalid mode "${target}": expected "canary" or "stable"`, {
      exitCode: ExitCode.invalid,
    });
  }
  const started = performance.now();
  if (opts.dryRun) {
    const loaded = await loadManifest(ctx.manifestArg);
    const m = loaded.manifest;
    const promoted = {
      ...loaded,
      manifest: { ...m, services: { ...m.services, mode: target as typeof m.services.mode } },
    };
    if (targetOf(m) === "swarm") {
      const { dryRunSwarm, swarmContext } = await import("./swarm.ts");
      return await dryRunSwarm(
        await swarmContext(ctx),
        promoted,
        "the canary gate was not asked; ",
      );
    }
    return await printDryRun(ctx, promoted, "the canary gate was not asked; ", {
      command: `promote ${target}`,
    });
  }
  return await withLock(ctx, `promote ${target}`, async (loaded) => {
    const m = loaded.manifest;
    if (targetOf(m) === "swarm") {
      const { promoteSwarm, swarmContext } = await import("./swarm.ts");
      return await promoteSwarm(await swarmContext(ctx), loaded, target, {
        timeoutSeconds: opts.timeoutSeconds,
        progress: progressPrinter(ctx),
        endProgress: () => endProgress(ctx),
      });
    }
    const from = m.services.mode;
    checkNoActiveRollout(await readRolloutState(ctx.stateDir), undefined, {
      retry: false,
      command: `promote ${target}`,
    });
    const engine = await EngineClient.connect(ctx.env);
    try {
      // 1. the canary policy decides, from the window's figures
      const { files } = await generate(ctx, loaded);
      const rec = new ReleaseRecorder();
      const evaluator = rec.wrap(
        await openEvaluator(ctx, loaded, files["policy_data.json"]),
        limitsFor(m),
      );
      const progress = progressPrinter(ctx);
      let figures: CanaryMetricsInput = canaryMetricsInput(undefined);
      const input = () => ({
        current_mode: from,
        target_mode: target,
        window_seconds: m.policy_limits.canary.window_seconds,
        ...figures,
      });
      // Ask first without metrics: if the policy needs none for this direction, no window is waited for.
      let decision = await evaluator.evaluate("canary", input());
      if (!decision.allow && wantsEvidence(decision.checked)) {
        try {
          // Requests and 5xx as clients received them: counted by nginx (issue 11 case 2).
          const w = await collectGateWindow({
            metricsUrl: nginxUrl(loaded, "/metrics"),
            scrapesDir: scrapesDir(ctx.stateDir),
            stateDir: ctx.stateDir,
            windowSeconds: m.policy_limits.canary.window_seconds,
            progress,
          });
          endProgress(ctx);
          if (w.edgeError) term.out(`  ${term.yellow("!")} no edge counts: ${w.edgeError}`);
          figures = canaryMetricsInput(w.figures);
          term.out(`  ${windowSummary(w.figures)}`);
        } catch (error) {
          endProgress(ctx);
          // No metrics is not a pass: the policy gets nulls and decides.
          term.out(`  ${term.yellow("!")} no metrics: ${(error as Error).message}`);
        }
        decision = await evaluator.evaluate("canary", input());
      }
      printDecision(term, decision);
      if (!decision.allow) {
        const bundle = releaseField(
          await recordRelease(ctx, loaded, rec, {
            kind: "promote",
            status: "blocked",
            reason: `policy canary: ${decision.reasons.join("; ")}`,
            files,
          }),
        );
        await record(loaded, "promote_blocked", { from, to: target, decision, ...bundle });
        await record(loaded, "policy_violation", {
          domain: "canary",
          reasons: decision.reasons,
          error_rate_percent: figures.error_rate_percent,
          p99_latency_ms: figures.p99_latency_ms,
        });
        term.out(
          term.red(`Promotion blocked by policy: canary (manifest and containers untouched)`),
        );
        return ExitCode.policyDenied;
      }

      // 2. edit the manifest in place, regenerate, switch with zero downtime
      const edited = await setManifestValue(loaded, ["services", "mode"], target);
      const oldFiles = await snapshotGenerated(loaded.dir);
      try {
        const { plan, files: newFiles } = await generate(ctx, edited);
        await writeGenerated(edited.dir, newFiles);
        await ensureHostDirs(plan);
        term.out(
          `${mark(term, true)} manifest: services.mode ${from} → ${target}; files regenerated`,
        );
        const applied = await applyStack(engine, await desiredOnEngine(ctx, engine, edited), {
          timeoutMs: opts.timeoutSeconds * 1000,
          nginxPort: m.nginx.port,
          log: (l) => {
            endProgress(ctx);
            term.out(`  ${l}`);
          },
          progress,
        });
        endProgress(ctx);
        warnCleanup(ctx, applied.cleanupError);
        const ms = Math.round(performance.now() - started);
        rec.time("apply", ms);
        const bundle = releaseField(
          await recordRelease(ctx, edited, rec, {
            kind: "promote",
            status: "good",
            files: newFiles,
            plan,
            steps: applied.steps,
          }),
        );
        await record(edited, "promote", { from, to: target, duration_ms: ms, ...bundle });
        term.out(
          `${
            mark(term, true)
          } Promoted to ${target}: /healthz through nginx reports mode "${target}" (${
            (ms / 1000).toFixed(1)
          } s)`,
        );
        return 0;
      } catch (error) {
        endProgress(ctx);
        // Traffic stayed on the old container (applyStack undid its steps); restore the manifest and files.
        const current = await readIfExists(loaded.path);
        if (current !== undefined && (await sha256Hex(current)) === edited.hash) {
          await atomicWrite(loaded.path, loaded.text);
        }
        await restoreGenerated(loaded.dir, oldFiles);
        const bundle = releaseField(
          await recordRelease(ctx, edited, rec, {
            kind: "promote",
            status: "failed",
            reason: firstLine(error),
          }),
        );
        await record(loaded, "promote_failed", {
          from,
          to: target,
          reason: firstLine(error),
          ...bundle,
        });
        term.out(
          term.red(
            `Promotion to ${target} failed; the manifest was restored and the ${from} container keeps serving`,
          ),
        );
        throw error;
      }
    } finally {
      engine.close();
    }
  });
}

/** What the swarm target does not do yet: refused before anything changes (exit 2). */
function notOnSwarm(what: string, why: string): SwiftDeployError {
  return new SwiftDeployError("USAGE", `Cannot ${what} on target swarm: ${why}`, {
    exitCode: ExitCode.invalid,
    hint: 'see README, "Docker Swarm": what differs from the engine target',
  });
}

/** `rollout status|pause|resume|promote|abort` (cli/commands/rollout.ts does the work). */
export async function runRollout(
  ctx: Context,
  verb: "status" | "pause" | "resume" | "promote" | "abort",
  opts: { json?: boolean; force?: boolean },
): Promise<number> {
  const loaded = await loadManifest(ctx.manifestArg);
  if (targetOf(loaded.manifest) === "swarm") {
    throw notOnSwarm(`rollout ${verb}`, "canary steps are refused on swarm by the manifest");
  }
  if (verb === "abort" && opts.force) {
    const r = await import("./rollout.ts");
    const aside = await r.setDamagedStateAside(ctx);
    if (aside) {
      ctx.term.out(
        `${
          mark(ctx.term, true)
        } the damaged rollout state was set aside as ${aside}; nginx keeps ` +
          "its routes; `swiftdeploy deploy` converges the stack (its canary, if any, is drained)",
      );
      return 0;
    }
  }
  const { plan, files } = await generate(ctx, loaded);
  const engine = await EngineClient.connect(ctx.env);
  try {
    const evaluator = await openEvaluator(ctx, loaded, files["policy_data.json"]);
    const progress = progressPrinter(ctx);
    const shell = {
      ctx,
      loaded,
      engine,
      plan,
      evaluator,
      apply: {
        timeoutMs: 60_000,
        nginxPort: loaded.manifest.nginx.port,
        log: (l: string) => {
          endProgress(ctx);
          ctx.term.out(`  ${l}`);
        },
        progress,
      },
    };
    const r = await import("./rollout.ts");
    switch (verb) {
      case "status": {
        const report = await r.rolloutReport(shell);
        if (opts.json) ctx.term.out(JSON.stringify(report, null, 2));
        else {
          Deno.stdout.writeSync(new TextEncoder().encode(
            r.formatRolloutReport(report, loaded.manifest.rollout.analysis.window_seconds),
          ));
        }
        return 0;
      }
      case "pause":
        return await r.rolloutPause(shell);
      case "resume":
        return await r.rolloutResume(shell);
      case "promote":
        return await r.rolloutPromote(shell);
      case "abort":
        return await r.rolloutAbort(shell);
    }
  } finally {
    endProgress(ctx);
    engine.close();
  }
}

/** Says that the switch stands but tidying after it failed (the next deploy finishes it). */
function warnCleanup(ctx: Context, cleanupError: string | undefined): void {
  if (cleanupError === undefined) return;
  ctx.term.err(
    `${
      ctx.term.yellow("warning:")
    } the new stack serves, but tidying up after the switch failed: ${cleanupError}; \`swiftdeploy deploy\` finishes it`,
  );
}

/** The policy judged a figure we sent as null: it wants the window's figures. */
function wantsEvidence(checked: Record<string, unknown>): boolean {
  return Object.values(checked).some((v) => v === null);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}

async function snapshotGenerated(dir: string): Promise<Map<string, string | undefined>> {
  const snap = new Map<string, string | undefined>();
  for (const name of GENERATED_FILE_NAMES) snap.set(name, await readIfExists(join(dir, name)));
  return snap;
}

async function restoreGenerated(dir: string, snap: Map<string, string | undefined>): Promise<void> {
  for (const [name, text] of snap) {
    if (text === undefined) await Deno.remove(join(dir, name)).catch(() => {});
    else await atomicWrite(join(dir, name), text);
  }
}

export async function runTeardown(ctx: Context, opts: { clean: boolean }): Promise<number> {
  const { term } = ctx;
  return await withLock(ctx, "teardown", async (loaded) => {
    if (targetOf(loaded.manifest) === "swarm") {
      const { teardownSwarm, swarmContext } = await import("./swarm.ts");
      return await teardownSwarm(await swarmContext(ctx), loaded, opts);
    }
    const engine = await EngineClient.connect(ctx.env);
    let removed: string[];
    try {
      removed = await removeStack(engine, loaded.manifest.project, (l) => term.out(`  ${l}`));
    } finally {
      engine.close();
    }
    // Its containers are gone: a rollout (and the routes naming them) ends with the stack.
    await Deno.remove(join(ctx.stateDir, "rollout"), { recursive: true }).catch(() => {});
    await Deno.remove(join(ctx.stateDir, "nginx", "routes")).catch(() => {});
    const deleted: string[] = [];
    if (opts.clean) {
      for (const name of GENERATED_FILE_NAMES) {
        try {
          await Deno.remove(join(loaded.dir, name));
          deleted.push(name);
        } catch { /* already gone */ }
      }
      // Every state folder and file but the change lock (held now, never removed) and the
      // release bundles: evidence, kept like the history (issue 15; `releases prune` trims them).
      for (
        const sub of [
          "nginx",
          "opa",
          "scrapes",
          "edge",
          "nginx-admin",
          "last_chaos",
          "prometheus",
          "rollout",
          "status_variant_sample.json",
          "oom_seen.json",
        ]
      ) {
        await Deno.remove(join(ctx.stateDir, sub), { recursive: true }).catch(() => {});
      }
    }
    await record(loaded, "teardown", {
      clean: opts.clean,
      removed: [...removed, ...deleted.map((d) => `file ${d}`)],
    });
    term.out(
      `${
        mark(term, true)
      } Torn down ${loaded.manifest.project}: ${removed.length} object(s) removed` +
        (opts.clean ? `, ${deleted.length} generated file(s) deleted` : "") +
        " (history and releases kept)",
    );
    return 0;
  });
}
