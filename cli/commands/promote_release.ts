/**
 * `swiftdeploy release promote N --to <env>` (issue 15): deploys release N
 * of the environment before `<env>` (its identical artefact: the manifest
 * text it applied and the images it ran, by content address) to `<env>`,
 * gated by `swiftdeploy.promotion`, then through the normal deploy path and
 * its gates. The new release of `<env>` records where it came from.
 *
 * 1. load the current manifest for `<env>`: the previous environment is the
 *    source; the promotion rules (soak, production, registries, freezes)
 *    are the current file's;
 * 2. read release N of the source and verify its bundle;
 * 3. take `<env>`'s change lock; select the release's text and images for
 *    every manifest this process loads (`selectManifest`);
 * 4. ask the promotion policy with the release's evidence and what the
 *    source runs now; a denial records a blocked release in `<env>` and
 *    exits 3 with the reasons;
 * 5. deploy under the same lock (validate, infrastructure policy, start
 *    beside, healthy, switch, drain) and record a `release-promote` release.
 */
import { join } from "node:path";
import type { Context } from "./context.ts";
import { EngineClient } from "../engine/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { acquireLock } from "../lock/mod.ts";
import {
  environmentDir,
  loadManifest,
  previousEnvironment,
  selectManifest,
  targetOf,
} from "../manifest/mod.ts";
import { parseManifest } from "../manifest/mod.ts";
import { createWasmEvaluator, type PolicyEvaluator } from "../policy/mod.ts";
import {
  builtPolicyBundleHash,
  pinnedImages,
  promotionInput,
  readSourceRelease,
  sourceNow,
} from "../promotion/mod.ts";
import { ReleaseRecorder } from "../release/mod.ts";
import { promotionLimits } from "../render/mod.ts";
import { mark } from "../term/mod.ts";
import { lockPath, openEvaluator, printDecision, record } from "./_shared.ts";
import { recordRelease, releaseField } from "./_release_evidence.ts";

/** The context of environment `env` of the same manifest (its folder, its state). */
export function environmentContext(ctx: Context, env: string): Context {
  const manifestDir = join(ctx.manifestPath, "..");
  const dir = join(manifestDir, environmentDir(env));
  return { ...ctx, environment: env, dir, stateDir: join(dir, ".swiftdeploy") };
}

export interface PromoteReleaseOptions {
  to: string;
  timeoutSeconds: number;
}

/**
 * Promotes release `n` of the environment before `opts.to` to `opts.to`.
 *
 * @returns 0 when it serves there, 3 when the promotion (or another) policy denied
 * @throws SwiftDeployError USAGE (exit 2) for an unknown or first environment,
 *   RELEASE_NOT_FOUND (exit 2), RELEASE_DAMAGED, LOCKED (exit 4)
 */
export async function runReleasePromote(
  ctx: Context,
  n: number,
  opts: PromoteReleaseOptions,
): Promise<number> {
  const t = ctx.term;
  const started = performance.now();
  // 1. the current manifest, for the target: its rules and its order
  const current = await loadManifest(ctx.manifestArg, { environment: opts.to });
  const from = previousEnvironment(current.manifest, opts.to);
  if (from === undefined) {
    throw new SwiftDeployError(
      "USAGE",
      `Cannot promote to "${opts.to}": it is the first environment, nothing comes before it`,
      {
        exitCode: ExitCode.invalid,
        hint: `deploy to it: \`swiftdeploy -e ${opts.to} deploy\``,
      },
    );
  }
  if (targetOf(current.manifest) === "swarm") {
    throw new SwiftDeployError(
      "USAGE",
      `Cannot promote to "${opts.to}" on target swarm yet: a promotion runs images by id, which only the engine target can`,
      { exitCode: ExitCode.invalid, hint: "promote to an environment on target engine" },
    );
  }
  // 2. release N of the source, verified
  const source = environmentContext(ctx, from.name);
  const src = await readSourceRelease(source.stateDir, from.name, n);
  t.out(
    `${
      mark(t, true)
    } release ${n} of "${from.name}" (${src.record.kind}, version ${src.record.manifest.version}, sha256 ${
      src.record.hash.slice(0, 12)
    }): bundle verified`,
  );
  const written = parseManifest(src.text, `release ${n} of "${from.name}"`);
  const refs: Record<string, string> = {
    app: written.services.image,
    nginx: written.nginx.image,
    opa: written.opa.image,
    ...(written.prometheus.enabled ? { prometheus: written.prometheus.image } : {}),
  };

  // 3. the target's lock; every later load reads the release's text and images for the target
  const target = environmentContext(ctx, opts.to);
  const lock = await acquireLock(lockPath(target), `release promote ${n} --to ${opts.to}`);
  try {
    selectManifest({ environment: opts.to, text: src.text, images: pinnedImages(src.record) });
    const loaded = await loadManifest(ctx.manifestArg);

    // 4. the promotion gate
    const engine = await EngineClient.connect(ctx.env);
    let now;
    try {
      now = await sourceNow(engine, from.project, src.record);
    } finally {
      engine.close();
    }
    const input = promotionInput({
      release: src.record,
      refs,
      currentRelease: now.runsRelease ? src.latest : null,
      sourceHealthy: now.healthy,
      policyBundleHash: await builtPolicyBundleHash(ctx.home),
      now: new Date(),
    });
    const rec = new ReleaseRecorder();
    const gateStarted = performance.now();
    const evaluator = rec.wrap(await promotionEvaluator(target, current, loaded), () => ({
      ...(promotionLimits(current.manifest) ?? {}),
    }));
    let decision;
    try {
      decision = await evaluator.evaluate("promotion", input);
    } finally {
      evaluator.close?.();
    }
    rec.time("promotion_policy", performance.now() - gateStarted);
    printDecision(t, decision);
    const promotedFrom = {
      environment: from.name,
      number: src.record.number,
      hash: src.record.hash,
    };
    if (!decision.allow) {
      t.out(t.red(`Promotion to "${opts.to}" blocked by policy: promotion (nothing was started)`));
      const r = await recordRelease(target, loaded, rec, {
        kind: "release-promote",
        status: "blocked",
        reason: `policy promotion: ${decision.reasons.join("; ")}`,
        promotedFrom,
      });
      await record(loaded, "deploy_blocked", { decision, ...releaseField(r) });
      await record(loaded, "policy_violation", { domain: "promotion", reasons: decision.reasons });
      return ExitCode.policyDenied;
    }

    // 5. the normal deploy path, under the same lock
    const { deployLocked } = await import("./lifecycle.ts");
    const code = await deployLocked(target, loaded, lock, {
      timeoutSeconds: opts.timeoutSeconds,
      promotedFrom,
      recorder: rec,
    }, started);
    if (code === 0) {
      t.out(
        `${
          mark(t, true)
        } Promoted release ${n} of "${from.name}" to "${opts.to}": version ${loaded.manifest.services.version} serves on port ${loaded.manifest.nginx.port} (${
          ((performance.now() - started) / 1000).toFixed(1)
        } s)`,
      );
    }
    return code;
  } finally {
    await lock.release();
  }
}

/**
 * The evaluator of the promotion gate: in-process with the promotion rules
 * of the CURRENT manifest for the target (a freeze or a registry rule added
 * after release N was made applies to it), or the target's OPA sidecar
 * (`--policy-engine sidecar`), which holds the data its last deploy
 * rendered.
 */
async function promotionEvaluator(
  target: Context,
  current: Awaited<ReturnType<typeof loadManifest>>,
  loaded: Awaited<ReturnType<typeof loadManifest>>,
): Promise<PolicyEvaluator> {
  if (target.policyEngine === "sidecar") {
    return await openEvaluator(target, loaded, "{}");
  }
  return await createWasmEvaluator({
    bundleDir: join(target.home, "build", "policy"),
    policiesDir: join(target.home, "policies"),
    data: { limits: { promotion: promotionLimits(current.manifest) } },
  });
}
