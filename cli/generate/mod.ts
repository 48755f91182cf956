/**
 * Manifest → plan → generated files, and writing or checking them beside
 * the manifest. Everything is rendered in memory first, so a failure
 * writes nothing; each file is then written atomically.
 */
import { basename, join, relative } from "node:path";
import type { Context } from "../commands/context.ts";
import { unifiedDiff } from "./_unified_diff.ts";
import { atomicWrite, readIfExists } from "../fs/mod.ts";
import type { LoadedManifest } from "../manifest/mod.ts";
import { type PlanContext, planStack, type StackPlan } from "../plan/mod.ts";
import {
  GENERATED_FILE_NAMES,
  readTemplates,
  renderAll,
  type RenderedFiles,
} from "../render/mod.ts";

export interface Generated {
  plan: StackPlan;
  files: RenderedFiles;
}

/**
 * Plans and renders in memory. `engine` carries what only the engine path
 * knows (the addressing chosen from the engine's state, the policy sources'
 * hash); without it, what `init` writes beside the manifest.
 */
export async function generate(
  ctx: Context,
  loaded: LoadedManifest,
  engine: Pick<PlanContext, "addressing" | "policiesHash"> = {},
): Promise<Generated> {
  const plan = planStack(loaded.manifest, {
    manifestDir: loaded.dir,
    installDir: ctx.home,
    ...engine,
  });
  const templates = await readTemplates(join(ctx.home, "templates"));
  let relPoliciesDir = relative(loaded.dir, join(ctx.home, "policies")) || ".";
  if (!relPoliciesDir.startsWith(".") && !relPoliciesDir.startsWith("/")) {
    relPoliciesDir = `./${relPoliciesDir}`;
  }
  const files = renderAll(loaded.manifest, {
    manifestHash: loaded.hash,
    manifestFileName: basename(loaded.path),
    relPoliciesDir,
    plan,
    templates,
  });
  return { plan, files };
}

/** Writes the files that differ; returns the names written. */
export async function writeGenerated(dir: string, files: RenderedFiles): Promise<string[]> {
  const written: string[] = [];
  for (const name of GENERATED_FILE_NAMES) {
    const path = join(dir, name);
    if ((await readIfExists(path)) === files[name]) continue;
    await atomicWrite(path, files[name]);
    written.push(name);
  }
  return written;
}

export interface Drift {
  name: string;
  problem: "missing" | "differs";
  diff: string;
}

/** Compares the files on disk with what the manifest renders to. */
export async function checkGenerated(dir: string, files: RenderedFiles): Promise<Drift[]> {
  const drift: Drift[] = [];
  for (const name of GENERATED_FILE_NAMES) {
    const onDisk = await readIfExists(join(dir, name));
    if (onDisk === files[name]) continue;
    drift.push({
      name,
      problem: onDisk === undefined ? "missing" : "differs",
      diff: unifiedDiff(onDisk ?? "", files[name], name),
    });
  }
  return drift;
}
