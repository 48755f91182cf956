/**
 * `swiftdeploy releases`, `releases show N`, `releases prune` and
 * `rollback [N]` (issue 15): the evidence bundles under
 * `.swiftdeploy/releases/`, and re-applying a retained good release through
 * the deploy path (its gates, zero downtime), without rebuilding.
 */
import { join, relative } from "node:path";
import type { Context } from "./context.ts";
import { EngineClient } from "../engine/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { atomicWrite, readIfExists } from "../fs/mod.ts";
import { acquireLock } from "../lock/mod.ts";
import {
  loadManifest,
  type ManifestSelection,
  type ResolvedManifest,
  selectManifest,
  targetOf,
} from "../manifest/mod.ts";
import { imagesFileText, readPushedImages } from "../registry/mod.ts";
import { swarmRollbackImages } from "./_swarm_release.ts";
import { pinnedImages } from "../promotion/mod.ts";
import { readRolloutState } from "../rollout/mod.ts";
import { mark } from "../term/mod.ts";
import {
  BUNDLE_FILES,
  DEFAULT_RETAIN,
  describeKeyChanges,
  listRecords,
  manifestKeyChanges,
  namedImages,
  parseGatesTsv,
  protectedImageIds,
  prunePlan,
  readBundleFile,
  readRelease,
  releaseDir,
  type ReleaseRecord,
  ReleaseRecorder,
  retainedReleases,
  rollbackTarget,
  summarize,
  verifyRelease,
} from "../release/mod.ts";
import { lockPath, record } from "./_shared.ts";
import { recordRelease, releaseField } from "./_release_evidence.ts";
import { sha256Hex } from "../digest/mod.ts";
import { checkNoActiveRollout } from "./rollout.ts";

/** `releases.retain` of the manifest when it loads, else the default (5). */
async function retainOf(ctx: Context): Promise<number> {
  try {
    return (await loadManifest(ctx.manifestArg)).manifest.releases?.retain ?? DEFAULT_RETAIN;
  } catch {
    return DEFAULT_RETAIN;
  }
}

const shortHash = (h: string) => h.slice(0, 12);

/** `swiftdeploy releases [--json]`: every bundle, oldest first, the serving release marked. */
export async function runReleases(ctx: Context, opts: { json?: boolean }): Promise<number> {
  const records = await listRecords(ctx.stateDir);
  const summaries = records.map((r) => summarize(ctx.stateDir, r));
  if (opts.json) {
    ctx.term.out(JSON.stringify(summaries, null, 2));
    return 0;
  }
  const t = ctx.term;
  if (records.length === 0) {
    t.out(`No releases yet in ${relative(Deno.cwd(), join(ctx.stateDir, "releases")) || "."}`);
    return 0;
  }
  const retained = new Set(retainedReleases(records, await retainOf(ctx)).map((r) => r.number));
  const newestGood = [...records].reverse().find((r) => r.status === "good")?.number;
  const rows = summaries.map((s) => {
    const notes = [
      s.number === newestGood ? "latest good" : "",
      retained.has(s.number) ? "retained" : "",
      s.environment ? `env ${s.environment}` : "",
    ].filter(Boolean).join(", ");
    return {
      status: s.status,
      cells: [
        String(s.number),
        s.status,
        s.kind,
        s.version,
        s.mode,
        s.created_at.slice(0, 19).replace("T", " "),
        shortHash(s.hash),
      ],
      notes,
    };
  });
  const header = ["#", "status", "kind", "version", "mode", "created (UTC)", "sha256"];
  const widths = columnWidths([header, ...rows.map((r) => r.cells)]);
  const color = (status: string, text: string) =>
    status === "good" ? t.green(text) : status === "failed" ? t.red(text) : t.yellow(text);
  t.out(t.bold(formatRow(header, widths)));
  for (const r of rows) {
    // Padded before coloring: escape codes take no column.
    const cells = r.cells.map((c, i) => i === 1 ? color(r.status, c.padEnd(widths[i]!)) : c);
    t.out(formatRow(cells, widths) + (r.notes ? `  ${t.dim(`(${r.notes})`)}` : ""));
  }
  return 0;
}

/**
 * Each column's width: the longest cell in it (text length; cells hold no
 * escape codes).
 */
export function columnWidths(rows: readonly (readonly string[])[]): number[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, c.length));
  }
  return widths;
}

/**
 * One table line: the first column (a number) right-aligned, the others
 * left-aligned, two spaces apart, the last one not padded. A cell already
 * padded (and colored) is kept as it is.
 */
export function formatRow(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) =>
    i === cells.length - 1 ? c : i === 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)
  ).join("  ");
}

/**
 * Release `n` or a typed error (exit 2: no such release).
 *
 * @throws SwiftDeployError RELEASE_NOT_FOUND
 */
async function mustRead(ctx: Context, n: number): Promise<ReleaseRecord> {
  const r = await readRelease(ctx.stateDir, n);
  if (!r) {
    throw new SwiftDeployError("RELEASE_NOT_FOUND", `Cannot find release ${n}`, {
      exitCode: ExitCode.invalid,
      hint: "`swiftdeploy releases` lists them",
    });
  }
  return r;
}

/** `swiftdeploy releases show N [--json]`: one release, its gates and decisions, verified. */
export async function runReleaseShow(
  ctx: Context,
  n: number,
  opts: { json?: boolean },
): Promise<number> {
  const r = await mustRead(ctx, n);
  const problems = await verifyRelease(ctx.stateDir, r);
  const gates = parseGatesTsv(await readBundleFile(ctx.stateDir, n, BUNDLE_FILES.gates) ?? "");
  if (opts.json) {
    ctx.term.out(
      JSON.stringify({ record: r, gates, verified: problems.length === 0, problems }, null, 2),
    );
    return problems.length === 0 ? 0 : 1;
  }
  const t = ctx.term;
  const dir = releaseDir(ctx.stateDir, n);
  t.out(t.bold(`Release ${r.number}: ${r.kind}, ${r.status}`) + (r.reason ? ` (${r.reason})` : ""));
  t.out(`  sha256     ${r.hash}`);
  t.out(
    `  verified   ${
      problems.length === 0
        ? t.green("yes: release.json and every file match")
        : t.red(problems.join("; "))
    }`,
  );
  t.out(`  bundle     ${dir}`);
  t.out(`  project    ${r.project}${r.environment ? ` (environment ${r.environment})` : ""}`);
  t.out(
    `  version    ${r.manifest.version}, mode ${r.manifest.mode} (${r.manifest.file}, sha256 ${
      shortHash(r.manifest.sha256)
    })`,
  );
  t.out(
    `  when       ${r.started_at} → ${r.created_at} (${
      (r.duration_ms / 1000).toFixed(1)
    } s) by ${r.actor.user}@${r.actor.host}`,
  );
  t.out(
    `  previous   ${
      r.previous
        ? `release ${r.previous.number} (${shortHash(r.previous.hash)})`
        : "none (first good release)"
    }`,
  );
  if (r.rollback_of) {
    t.out(`  rollback   of release ${r.rollback_of.number} (${shortHash(r.rollback_of.hash)})`);
  }
  if (r.rollout_id) t.out(`  rollout    ${r.rollout_id}`);
  t.out(
    `  policy     bundle ${
      r.policy.bundle_hash ? shortHash(r.policy.bundle_hash) : "none"
    }, sources ${r.policy.sources_hash ? shortHash(r.policy.sources_hash) : "?"}`,
  );
  t.out(t.bold("  images"));
  for (const i of r.images) {
    // Every registry the image was pushed to has a digest; one is enough here (--json has all).
    const digests = i.digests.length === 0
      ? ""
      : `  ${i.digests[0]}${i.digests.length > 1 ? ` (+${i.digests.length - 1} more)` : ""}`;
    t.out(`    ${i.role.padEnd(10)} ${i.ref}  ${i.id ?? "(not on the engine)"}${digests}`);
  }
  t.out(t.bold("  containers"));
  for (const c of r.containers) t.out(`    ${c.role.padEnd(10)} ${c.name}  ${c.image_id}`);
  for (const h of r.health) {
    t.out(`    ${mark(t, h.healthy)} ${h.container}${h.detail ? `: ${h.detail}` : ""}`);
  }
  t.out(t.bold("  gates"));
  for (const g of gates) {
    const ok = g.result === "pass" ? true : g.result === "fail" ? false : "warn" as const;
    t.out(
      `    ${mark(t, ok)} ${g.name}: ${g.figure || "-"}${g.limit ? `  (limit ${g.limit})` : ""}`,
    );
  }
  const timings = Object.entries(r.timings).map(([k, v]) => `${k} ${v} ms`).join(", ");
  if (timings) t.out(`  timings    ${timings}`);
  t.out(t.dim(`  files: ${Object.keys(r.files).join(", ")}, release.json`));
  return problems.length === 0 ? 0 : 1;
}

/** `name:tag` → [name, tag]; a digest reference (`@sha256:`) gives undefined (it cannot move). */
export function splitReference(ref: string): [string, string] | undefined {
  if (ref.includes("@")) return undefined;
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, "latest"];
}

/**
 * `swiftdeploy rollback [N]`: re-applies release N (default: the good
 * release before the newest good one) from its bundle alone. Under the
 * change lock: refused during an active rollout (exit 4); the bundle is
 * verified; every image it ran must still be on the engine (by id), else
 * it is refused before anything is touched (exit 2, a blocked `rollback`
 * release records the attempt); then the deploy path runs (validate, the
 * infrastructure policy, start beside, healthy, switch, drain) and records
 * a `rollback` release.
 *
 * The desired state follows the rollback:
 * - without environments, the manifest file gets the release's text (put
 *   back if the rollback fails; both are printed), and a tag that moved
 *   since is pointed back at the release's image id (no rebuild);
 * - with an environment (`-e`), the manifest file is shared by every
 *   environment and stays untouched, and so do the tags: the release's
 *   text and its images by id are selected for this process
 *   (`selectManifest`), as `release promote` does.
 *
 * On `target: swarm` (a release the swarm ran) no image is looked for on
 * the engine: the release's by-digest references (app, nginx, opa) are in
 * the registry already and are re-applied through `deploySwarm` as they are
 * (no rebuild, no push; Swarm's rolling update); `.swiftdeploy/images.json`
 * is pointed at them (put back if the rollback fails). A release naming an
 * image by tag only is refused before anything changes (exit 2).
 *
 * @returns 0 when the release serves again, 3 when a policy denied, 1 when the deploy failed
 * @throws SwiftDeployError RELEASE_NOT_FOUND or RELEASE_IMAGE_MISSING (exit 2),
 *   RELEASE_DAMAGED (exit 1), LOCKED (exit 4)
 */
export async function runRollback(
  ctx: Context,
  n: number | undefined,
  opts: { timeoutSeconds: number },
): Promise<number> {
  const t = ctx.term;
  const started = performance.now();
  const lock = await acquireLock(lockPath(ctx), n === undefined ? "rollback" : `rollback ${n}`);
  try {
    checkNoActiveRollout(await readRolloutState(ctx.stateDir), undefined, {
      retry: true,
      command: "rollback",
    });
    const records = await listRecords(ctx.stateDir);
    const target = rollbackTarget(records, n);
    if (typeof target === "string") {
      throw new SwiftDeployError("RELEASE_NOT_FOUND", `Cannot roll back: ${target}`, {
        exitCode: ExitCode.invalid,
        hint: "`swiftdeploy releases` lists the good releases",
      });
    }
    const problems = await verifyRelease(ctx.stateDir, target);
    if (problems.length > 0) {
      throw new SwiftDeployError(
        "RELEASE_DAMAGED",
        `Cannot roll back to release ${target.number}: its bundle ${problems.join("; ")}`,
        { hint: "pick another release with `swiftdeploy rollback N`" },
      );
    }
    const text = (await readBundleFile(ctx.stateDir, target.number, BUNDLE_FILES.manifest))!;
    t.out(
      `${
        mark(t, true)
      } release ${target.number} (${target.kind}, version ${target.manifest.version}, ` +
        `sha256 ${shortHash(target.hash)}): bundle verified`,
    );
    const environment = ctx.environment;
    // The release's text and images by id, for every manifest this process loads from here on.
    const selection = {
      ...(environment !== undefined ? { environment } : {}),
      text,
      images: pinnedImages(target),
    };

    // On a swarm the release's images are digests in the registry: re-applied as they are.
    const swarm = targetOf(target.manifest.resolved as ResolvedManifest) === "swarm";
    const swarmImages = swarm ? swarmRollbackImages(target) : undefined;
    if (typeof swarmImages === "string") {
      const message = `Cannot roll back to release ${target.number}: ${swarmImages}`;
      await recordRefusal(ctx, target, selection, message);
      throw new SwiftDeployError("RELEASE_IMAGE_MISSING", message, {
        exitCode: ExitCode.invalid,
        hint: "nothing was changed; pick a release deployed from `swiftdeploy build`'s digests",
      });
    }

    // 1. its images, by id: all still there, or refused before anything is touched
    const engine = swarm ? undefined : await EngineClient.connect(ctx.env);
    if (engine) {
      try {
        const missing: string[] = [];
        for (const i of target.images) {
          if (!i.id || !(await engine.imageInspect(i.id))) {
            missing.push(`${i.role} image ${i.ref} (${i.id ?? "no id recorded"})`);
          }
        }
        if (missing.length > 0) {
          const message = `Cannot roll back to release ${target.number}: its ${
            missing.join(", its ")
          } ${missing.length === 1 ? "is" : "are"} no longer on the engine`;
          await recordRefusal(ctx, target, selection, message);
          throw new SwiftDeployError("RELEASE_IMAGE_MISSING", message, {
            exitCode: ExitCode.invalid,
            hint:
              "nothing was changed; SwiftDeploy keeps the images of the last `releases.retain` good releases: rebuild it or pick a newer release",
          });
        }
        // Without environments the manifest's tags follow the rollback; with them, tags are
        // shared by every environment and the images run by id instead.
        for (const i of environment === undefined ? target.images : []) {
          const now = await engine.imageInspect(i.ref);
          const parts = splitReference(i.ref);
          if (now?.Id !== i.id && parts) {
            await engine.imageTag(i.id!, parts[0], parts[1]);
            t.out(
              `  ${i.ref} points at ${i.id!.slice(0, 19)} again (it named ${
                now?.Id.slice(0, 19) ?? "nothing"
              })`,
            );
          }
        }
      } finally {
        engine.close();
      }
    }

    // 2. the desired state
    let restore = async () => {};
    if (environment !== undefined) {
      selectManifest(selection);
      t.out(
        `  environment "${environment}": release ${target.number}'s manifest text and images ` +
          `(by id) are applied from its bundle; ${ctx.manifestArg} is shared by every ` +
          `environment and is not changed`,
      );
    } else {
      const before = await readIfExists(ctx.manifestPath);
      if (before !== text) {
        await atomicWrite(ctx.manifestPath, text);
        t.out(
          `  ${t.yellow("!")} ${ctx.manifestArg} ${
            before === undefined ? "recreated" : "changed"
          }: it now holds release ${target.number}'s manifest (version ${target.manifest.version}, ` +
            `sha256 ${shortHash(target.manifest.sha256)}); it held ${
              heldText(records, before)
            } (put back if the rollback fails)`,
        );
        // Settings newer than the release vanish with the text it replaces: name them.
        const keys = before === undefined
          ? ""
          : describeKeyChanges(manifestKeyChanges(before, text));
        if (keys) t.out(`    the restored text ${keys}`);
        restore = async () => {
          if (before === undefined) await Deno.remove(ctx.manifestPath).catch(() => {});
          else await atomicWrite(ctx.manifestPath, before);
          t.out(`  ${ctx.manifestArg} put back as it was`);
        };
      }
    }
    if (swarmImages && environment === undefined) {
      // images.json follows the rollback, as the tags do on the engine: a later deploy keeps it.
      const pushed = join(ctx.stateDir, "images.json");
      const before = await readIfExists(pushed);
      const now = imagesFileText({ ...(await readPushedImages(ctx.stateDir)), ...swarmImages });
      if (before !== now) {
        await atomicWrite(pushed, now, { mode: 0o644 });
        t.out(`  .swiftdeploy/images.json names release ${target.number}'s digests again`);
        const restoreManifest = restore;
        restore = async () => {
          if (before === undefined) await Deno.remove(pushed).catch(() => {});
          else await atomicWrite(pushed, before, { mode: 0o644 });
          await restoreManifest();
        };
      }
    }
    let code: number;
    try {
      const loaded = await loadManifest(ctx.manifestArg);
      if (swarmImages) {
        const { deploySwarm, swarmContext } = await import("./swarm.ts");
        code = await deploySwarm(await swarmContext(ctx), loaded, {
          timeoutSeconds: opts.timeoutSeconds,
          rollbackOf: { number: target.number, hash: target.hash },
          images: swarmImages,
        });
      } else {
        if (targetOf(loaded.manifest) === "swarm") {
          throw new SwiftDeployError(
            "USAGE",
            `Cannot roll back to release ${target.number} on target swarm: it was recorded on the engine target`,
            {
              exitCode: ExitCode.invalid,
              hint: "pick a release the swarm ran (`swiftdeploy releases`)",
            },
          );
        }
        const { deployLocked } = await import("./lifecycle.ts");
        code = await deployLocked(ctx, loaded, lock, {
          timeoutSeconds: opts.timeoutSeconds,
          rollbackOf: { number: target.number, hash: target.hash },
        }, started);
      }
    } catch (error) {
      await restore();
      throw error;
    }
    if (code !== 0) {
      await restore();
      return code;
    }
    t.out(
      `${
        mark(t, true)
      } Rolled back to release ${target.number}: version ${target.manifest.version} serves ` +
        `(${((performance.now() - started) / 1000).toFixed(1)} s)` +
        (environment === undefined ? "" : ` in "${environment}"`),
    );
    return 0;
  } finally {
    await lock.release();
  }
}

/** What the manifest file held before a rollback changed it, for the message. */
function heldText(records: readonly ReleaseRecord[], before: string | undefined): string {
  if (before === undefined) return "nothing (it was missing)";
  const hash = sha256Hex(before);
  const same = [...records].reverse().find((r) => r.manifest.sha256 === hash);
  return same
    ? `release ${same.number}'s text`
    : `text no release applied (sha256 ${shortHash(hash)})`;
}

/**
 * Records a rollback refused before anything was touched: a `blocked`
 * `rollback` release whose bundle holds the release's text and a failed
 * `rollback.images` gate, named by a `deploy_failed` history line. Never
 * throws (a bundle that cannot be written is a warning).
 */
async function recordRefusal(
  ctx: Context,
  target: ReleaseRecord,
  selection: ManifestSelection,
  reason: string,
): Promise<void> {
  try {
    const loaded = await loadManifest(ctx.manifestArg, selection);
    const rec = new ReleaseRecorder();
    rec.gate("rollback.images", "fail", reason.replace(/^Cannot roll back to [^:]*: /, ""));
    const r = await recordRelease(ctx, loaded, rec, {
      kind: "rollback",
      status: "blocked",
      reason,
      rollbackOf: { number: target.number, hash: target.hash },
    });
    await record(loaded, "deploy_failed", { reason, ...releaseField(r) });
  } catch (error) {
    ctx.term.err(
      `${ctx.term.yellow("warning:")} the refused rollback's evidence was not recorded: ${
        (error as Error).message
      }`,
    );
  }
}

/**
 * `swiftdeploy releases prune [--dry-run]`: removes the images that only
 * older releases name. Never removed: an image of the last `releases.retain`
 * good releases, one a container (of any project) uses, one the manifest
 * names now. Bundles are evidence and are all kept. Prints what it keeps
 * and removes, and why.
 */
export async function runReleasesPrune(ctx: Context, opts: { dryRun?: boolean }): Promise<number> {
  const t = ctx.term;
  const retain = await retainOf(ctx);
  const lock = await acquireLock(lockPath(ctx), "releases prune");
  try {
    const records = await listRecords(ctx.stateDir);
    const kept = retainedReleases(records, retain).map((r) => r.number).sort((a, b) => a - b);
    const engine = await EngineClient.connect(ctx.env);
    try {
      const inUse: Record<string, string> = {};
      for (const c of await engine.containerList([], true)) {
        inUse[c.ImageID] ??= `container ${(c.Names[0] ?? c.Id).replace(/^\//, "")} uses it`;
      }
      const loaded = await loadManifest(ctx.manifestArg).catch(() => undefined);
      if (loaded) {
        const m = loaded.manifest;
        for (const ref of [m.services.image, m.nginx.image, m.opa.image, m.prometheus.image]) {
          const id = (await engine.imageInspect(ref).catch(() => undefined))?.Id;
          if (id) inUse[id] ??= `the manifest names it (${ref})`;
        }
      }
      const named = [];
      for (const img of namedImages(records)) {
        if (await engine.imageInspect(img.id)) named.push(img);
      }
      const plan = prunePlan(named, protectedImageIds(records, retain), inUse);
      t.out(
        `releases.retain ${retain}: the images of good releases ${
          kept.join(", ") || "(none)"
        } are kept; ` +
          `bundles are evidence and are all kept`,
      );
      for (const k of plan.keep) {
        t.out(`  keep    ${k.id.slice(0, 19)}  ${k.refs.join(", ")}  (${k.why})`);
      }
      for (const r of plan.remove) {
        if (!opts.dryRun) await engine.imageRemove(r.id);
        t.out(
          `  ${opts.dryRun ? "would remove" : "removed"} ${r.id.slice(0, 19)}  ${
            r.refs.join(", ")
          }`,
        );
      }
      t.out(
        `${mark(t, true)} ${plan.remove.length} image(s) ${
          opts.dryRun ? "would be " : ""
        }removed, ${plan.keep.length} kept`,
      );
      return 0;
    } finally {
      engine.close();
    }
  } finally {
    await lock.release();
  }
}
