/**
 * The I/O shell of the manifest: read it from disk, and write one changed
 * value back atomically. Parsing and editing themselves are pure.
 */

import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { sha256Hex } from "../digest/mod.ts";
import { atomicWrite } from "../fs/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { editManifestText, type ManifestValue } from "./_edit_manifest.ts";
import { parseManifest } from "./_parse_manifest.ts";
import { environmentDir, selectEnvironment } from "./_environments.ts";
import type { LoadedManifest, ResolvedManifest } from "./types.ts";

/**
 * What `loadManifest` reads for this process besides the file: the
 * environment the global `-e/--env` option selects, and, for a promotion or
 * a rollback that re-applies a recorded release, the manifest text as that
 * release applied it and the images it ran (content addresses by role, e.g.
 * `{ app: "sha256:…" }`), so the normal deploy path runs exactly that.
 */
export interface ManifestSelection {
  /** An environment of `environments`; required when the manifest declares any. */
  environment?: string;
  /** Parse this text instead of the file (the file's path still names it). */
  text?: string;
  /** Images to run instead of the manifest's, by role. */
  images?: Partial<Record<"app" | "nginx" | "opa" | "prometheus", string>>;
}

let selection: ManifestSelection = {};

/** Sets what every later `loadManifest` of this process reads (see ManifestSelection). */
export function selectManifest(next: ManifestSelection): void {
  selection = { ...next };
}

/** What `selectManifest` set last ({} when nothing). */
export function manifestSelection(): ManifestSelection {
  return { ...selection };
}

/**
 * The manifest as `chosen` selects it: the environment's values over the
 * shared ones, the pinned images; `dir` is where its files live.
 *
 * @throws SwiftDeployError USAGE (exit 2) when an environment is needed and
 *   not chosen, chosen and not declared, or chosen for a manifest without any
 */
export function applySelection(
  manifest: ResolvedManifest,
  chosen: ManifestSelection,
  fileName: string,
  manifestDir: string,
): { manifest: ResolvedManifest; dir: string } {
  const names = (manifest.environments ?? []).map((e) => e.name);
  const env = chosen.environment;
  if (env === undefined && names.length > 0) {
    throw new SwiftDeployError(
      "USAGE",
      `Cannot choose a stack in "${fileName}": it declares environments ${
        names.map((n) => `"${n}"`).join(", ")
      } and none was chosen`,
      { exitCode: ExitCode.invalid, hint: `add -e/--env <name>, e.g. \`-e ${names[0]}\`` },
    );
  }
  if (env !== undefined && !names.includes(env)) {
    throw new SwiftDeployError(
      "USAGE",
      names.length === 0
        ? `Cannot use environment "${env}": "${fileName}" declares no environments`
        : `Cannot use environment "${env}": "${fileName}" declares ${
          names.map((n) => `"${n}"`).join(", ")
        }`,
      {
        exitCode: ExitCode.invalid,
        hint: names.length === 0
          ? "drop -e/--env (or SWIFTDEPLOY_ENV), or declare environments in the manifest"
          : "choose one of the declared environments",
      },
    );
  }
  let m = env === undefined ? manifest : selectEnvironment(manifest, env);
  const images = chosen.images;
  if (images) {
    m = {
      ...m,
      services: { ...m.services, image: images.app ?? m.services.image },
      nginx: { ...m.nginx, image: images.nginx ?? m.nginx.image },
      opa: { ...m.opa, image: images.opa ?? m.opa.image },
      prometheus: { ...m.prometheus, image: images.prometheus ?? m.prometheus.image },
    };
  }
  return {
    manifest: m,
    dir: env === undefined ? manifestDir : join(manifestDir, environmentDir(env)),
  };
}

/**
 * Reads, parses and validates the manifest at `path` (relative to the current
 * directory or absolute). Messages name the file as `path` was given.
 *
 * With an environment selected (`-e/--env`, see `selectManifest`), the
 * values are that environment's and `dir` is its folder
 * (`environments/<name>/`, created when missing).
 *
 * @throws SwiftDeployError MANIFEST_NOT_FOUND (exit 2) when the file cannot be read
 * @throws ManifestError when it is not a valid manifest
 * @throws SwiftDeployError USAGE (exit 2) when the environment does not fit the manifest
 */
export async function loadManifest(
  path: string,
  chosen: ManifestSelection = selection,
): Promise<LoadedManifest> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = chosen.text ?? await Deno.readTextFile(absolute);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "file not found"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new SwiftDeployError("MANIFEST_NOT_FOUND", `Cannot read manifest "${path}": ${reason}`, {
      exitCode: ExitCode.invalid,
      hint:
        "run the command in the folder holding manifest.yaml or pass its path with -f/--manifest",
      cause: error,
    });
  }
  const parsed = parseManifest(text, path, { canonical: resolvedIn(dirname(absolute)) });
  const { manifest, dir } = applySelection(parsed, chosen, path, dirname(absolute));
  if (chosen.environment !== undefined) await Deno.mkdir(dir, { recursive: true });
  return {
    path: absolute,
    dir,
    text,
    hash: sha256Hex(text),
    manifest,
    ...(chosen.environment === undefined ? {} : { environment: chosen.environment }),
  };
}

/**
 * Output-path comparison for `parseManifest`: `rel` (relative to `dir`) as
 * an absolute path with the symlinks of its existing part resolved; the part
 * that does not exist yet stays as written.
 */
export function resolvedIn(dir: string): (rel: string) => string {
  return (rel) => {
    const rest: string[] = [];
    for (let head = join(dir, rel);; head = dirname(head)) {
      try {
        return join(Deno.realPathSync(head), ...rest);
      } catch (error) {
        const absent = error instanceof Deno.errors.NotFound ||
          error instanceof Deno.errors.NotADirectory;
        if (!absent) throw error;
      }
      if (dirname(head) === head) return join(dir, rel);
      rest.unshift(basename(head));
    }
  };
}

/**
 * Sets one value of the manifest on disk, keeping every other byte (comments,
 * order, formatting). The edited text is validated before anything is written,
 * then replaces the file atomically (temp file in the same folder, fsync, rename).
 *
 * @throws SwiftDeployError MANIFEST_CHANGED when the file no longer has `loaded.hash`
 * @throws ManifestError when the new value makes the manifest invalid (nothing is written)
 * @throws SwiftDeployError USAGE when `keyPath` does not name a single value
 */
export async function setManifestValue(
  loaded: LoadedManifest,
  keyPath: string[],
  value: ManifestValue,
): Promise<LoadedManifest> {
  const fileName = displayName(loaded.path);
  await assertUnchanged(loaded, fileName);
  const text = editManifestText(loaded.text, keyPath, value, fileName);
  const parsed = parseManifest(text, fileName, { canonical: resolvedIn(dirname(loaded.path)) });
  // The edited manifest as this process selects it (its environment, its pinned images).
  const { manifest } = applySelection(
    parsed,
    { ...selection, ...(loaded.environment ? { environment: loaded.environment } : {}) },
    fileName,
    dirname(loaded.path),
  );
  if (text === loaded.text) return { ...loaded, manifest };
  await writeAtomically(loaded, text, fileName);
  return { ...loaded, text, hash: sha256Hex(text), manifest };
}

/** The manifest path as messages show it: relative to the current directory when inside it. */
function displayName(path: string): string {
  const rel = relative(Deno.cwd(), path);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

async function assertUnchanged(loaded: LoadedManifest, fileName: string): Promise<void> {
  let current: string;
  try {
    current = await Deno.readTextFile(loaded.path);
  } catch (error) {
    throw changed(fileName, "it can no longer be read", error);
  }
  if (sha256Hex(current) !== loaded.hash) {
    throw changed(fileName, "it changed on disk after it was read");
  }
}

function changed(fileName: string, detail: string, cause?: unknown): SwiftDeployError {
  return new SwiftDeployError(
    "MANIFEST_CHANGED",
    `Cannot update manifest "${fileName}": ${detail}`,
    {
      exitCode: ExitCode.failure,
      hint: "run the command again so it reads the current manifest; nothing was changed",
      cause,
    },
  );
}

async function writeAtomically(loaded: LoadedManifest, text: string, fileName: string) {
  try {
    // Last look just before the swap narrows the window for a concurrent edit.
    await atomicWrite(loaded.path, text, { beforeRename: () => assertUnchanged(loaded, fileName) });
  } catch (error) {
    if (error instanceof SwiftDeployError) throw error;
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot write manifest "${fileName}": ${error instanceof Error ? error.message : error}`,
      {
        hint: "check that the manifest folder is writable; the manifest was not changed",
        cause: error,
      },
    );
  }
}
