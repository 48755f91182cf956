/**
 * Writes a change's evidence bundle (cli/release) when the change ends,
 * whatever its outcome: what the engine runs (image ids and digests, the
 * containers and their health), the policy bundle's hash, the recorder's
 * decisions, gates, actions and timings; the caller names it in its
 * history event (`data.release`, see `releaseField`). Used by deploy,
 * promote, rollouts and rollback.
 */
import { basename, join, relative } from "node:path";
import type { Context } from "./context.ts";
import { describeAction, type Step } from "../actions/mod.ts";
import { EngineClient } from "../engine/mod.ts";
import { defaultActor, type ReleaseRef } from "../history/mod.ts";
import type { LoadedManifest } from "../manifest/mod.ts";
import { hashPolicySources } from "../policy/mod.ts";
import { LABEL_PROJECT, LABEL_ROLE, type StackPlan } from "../plan/mod.ts";
import { generate } from "../generate/mod.ts";
import { builtPolicyBundleHash } from "../promotion/mod.ts";
import {
  type ReleaseImage,
  type ReleaseKind,
  type ReleasePointer,
  type ReleaseRecord,
  ReleaseRecorder,
  type ReleaseStatus,
  writeRelease,
} from "../release/mod.ts";
import type { ResolvedManifest } from "../manifest/mod.ts";

/**
 * `{ release: { number, hash, status } }` for a change's history event, or
 * `{}` when no bundle was written: spread into the event's data.
 */
export function releaseField(r: ReleaseRecord | undefined): { release?: ReleaseRef } {
  return r ? { release: { number: r.number, hash: r.hash, status: r.status } } : {};
}

/** The limits each policy domain judges against (gates.tsv's limit column). */
export function limitsFor(m: ResolvedManifest) {
  return (domain: string): Record<string, unknown> | undefined => {
    if (domain === "infrastructure") return { ...m.policy_limits.infrastructure };
    if (domain === "canary") return { ...m.policy_limits.canary };
    if (domain === "rollout") {
      const a = m.rollout.analysis;
      return {
        max_error_rate_percent: a.max_error_rate_percent,
        max_p99_latency_ms: a.max_p99_latency_ms,
        min_requests: a.min_requests,
      };
    }
    return undefined;
  };
}

/** How the change ended, and what kind of change it was. */
export interface ReleaseOutcome {
  kind: ReleaseKind;
  status: ReleaseStatus;
  reason?: string;
  rolloutId?: string;
  rollbackOf?: ReleasePointer;
  /** For kind `release-promote`: the release of the previous environment it deploys. */
  promotedFrom?: ReleasePointer & { environment: string };
  /** The steps the executor ran (the action log). */
  steps?: readonly Step[];
  /** The rendered files as applied; rendered again from `loaded` when absent. */
  files?: Record<string, string>;
  plan?: StackPlan;
  /**
   * What the change runs, when it is not the engine's containers of `plan`
   * (the swarm target: images by digest reference, one entry per task);
   * the engine is then not asked and `files` must be given.
   */
  observed?: {
    images: ReleaseImage[];
    containers: ReleaseRecord["containers"];
    health: ReleaseRecord["health"];
  };
}

/**
 * Writes the release for a change that ended (under the change lock) and
 * prints one line naming it; the caller names it in its history event
 * (`releaseField`), written after the bundle. Never throws: a bundle
 * that cannot be written is a warning (the change itself stands or failed on
 * its own), and undefined is returned.
 */
export async function recordRelease(
  ctx: Context,
  loaded: LoadedManifest,
  rec: ReleaseRecorder,
  outcome: ReleaseOutcome,
): Promise<ReleaseRecord | undefined> {
  try {
    return await writeEvidence(ctx, loaded, rec, outcome);
  } catch (error) {
    ctx.term.err(
      `${ctx.term.yellow("warning:")} the release's evidence bundle was not written: ${
        (error as Error).message
      }`,
    );
    return undefined;
  }
}

async function writeEvidence(
  ctx: Context,
  loaded: LoadedManifest,
  rec: ReleaseRecorder,
  outcome: ReleaseOutcome,
): Promise<ReleaseRecord> {
  const m = loaded.manifest;
  let files = outcome.files;
  let plan = outcome.plan;
  if (!files || (!plan && !outcome.observed)) {
    const g = await generate(ctx, loaded);
    files ??= g.files;
    if (!outcome.observed) plan ??= g.plan;
  }
  if (outcome.steps) {
    rec.steps(
      outcome.steps.map((s) => ({ kind: s.action.kind, description: describeAction(s.action) })),
    );
  }
  const images: ReleaseImage[] = [];
  const containers: ReleaseRecord["containers"] = [];
  const health: ReleaseRecord["health"] = [...rec.health];
  if (outcome.observed) {
    images.push(...outcome.observed.images);
    containers.push(...outcome.observed.containers);
    health.push(
      ...outcome.observed.health.filter((h) =>
        !rec.health.some((r) => r.container === h.container)
      ),
    );
  }
  const engine = outcome.observed
    ? undefined
    : await EngineClient.connect(ctx.env).catch(() => undefined);
  if (engine && plan) {
    try {
      const seen = new Set<string>();
      for (const c of plan.containers) {
        if (seen.has(c.body.Image)) continue;
        seen.add(c.body.Image);
        const i = await engine.imageInspect(c.body.Image).catch(() => undefined);
        const digests = (i as { RepoDigests?: string[] | null } | undefined)?.RepoDigests ?? [];
        images.push({ role: c.role, ref: c.body.Image, id: i?.Id ?? null, digests });
      }
      const running = await engine.containerList([`${LABEL_PROJECT}=${m.project}`], false);
      for (const c of running.sort((a, b) => (a.Names[0] ?? "").localeCompare(b.Names[0] ?? ""))) {
        const name = (c.Names[0] ?? c.Id).replace(/^\//, "");
        containers.push({ name, role: c.Labels[LABEL_ROLE] ?? "?", image_id: c.ImageID });
        if (!rec.health.some((h) => h.container === name)) {
          health.push({
            container: name,
            healthy: /\(healthy\)/.test(c.Status),
            detail: c.Status,
          });
        }
      }
    } finally {
      engine.close();
    }
  }
  const sources = await hashPolicySources(join(ctx.home, "policies")).catch(() => undefined);
  const created = new Date();
  const draft = {
    kind: outcome.kind,
    status: outcome.status,
    ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}),
    project: m.project,
    ...(ctx.environment !== undefined ? { environment: ctx.environment } : {}),
    started_at: rec.started.toISOString(),
    created_at: created.toISOString(),
    duration_ms: created.getTime() - rec.started.getTime(),
    timings: rec.timings,
    actor: defaultActor(),
    manifest: {
      file: basename(loaded.path),
      sha256: loaded.hash,
      version: m.services.version,
      mode: m.services.mode,
      resolved: m,
    },
    images,
    containers,
    policy: {
      bundle_hash: await builtPolicyBundleHash(ctx.home),
      sources_hash: sources?.hash ?? null,
    },
    health,
    ...(outcome.rollbackOf ? { rollback_of: outcome.rollbackOf } : {}),
    ...(outcome.promotedFrom ? { promoted_from: outcome.promotedFrom } : {}),
    ...(outcome.rolloutId ? { rollout_id: outcome.rolloutId } : {}),
  };
  const written = await writeRelease(ctx.stateDir, draft, {
    manifestText: loaded.text,
    files,
    gates: rec.gates,
    decisions: rec.decisions,
    actions: rec.actions,
  });
  const r = written.record;
  const bundle = relative(loaded.dir, written.dir);
  const t = ctx.term;
  const word = r.status === "good" ? t.green("release") : t.yellow(`${r.status} attempt`);
  ctx.term.out(
    `  ${word} ${r.number} recorded: ${bundle} (sha256 ${
      r.hash.slice(0, 12)
    }, ${written.bytes} bytes)`,
  );
  return r;
}
