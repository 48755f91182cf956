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
import type { LoadedManifest } from "./types.ts";

/**
 * Reads, parses and validates the manifest at `path` (relative to the current
 * directory or absolute). Messages name the file as `path` was given.
 *
 * @throws SwiftDeployError MANIFEST_NOT_FOUND (exit 2) when the file cannot be read
 * @throws ManifestError when it is not a valid manifest
 */
export async function loadManifest(path: string): Promise<LoadedManifest> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await Deno.readTextFile(absolute);
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
  const manifest = parseManifest(text, path, { canonical: resolvedIn(dirname(absolute)) });
  return { path: absolute, dir: dirname(absolute), text, hash: sha256Hex(text), manifest };
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
  const manifest = parseManifest(text, fileName, { canonical: resolvedIn(loaded.dir) });
  if (text === loaded.text) return { ...loaded, manifest };
  await writeAtomically(loaded, text, fileName);
  return { path: loaded.path, dir: loaded.dir, text, hash: sha256Hex(text), manifest };
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
