/**
 * Sealing: what makes a rewritten history detectable by someone who holds a
 * key the rewriter does not.
 *
 * A hash chain alone can be recomputed by anyone: drop a line, re-hash every
 * `prev` after it and the head, and the chain is whole again. So each line
 * written by this version carries an HMAC-SHA256 (RFC 2104) of its own bytes
 * (which include `prev`, hence the whole chain before it) under a 256-bit key
 * kept OUTSIDE the project folder, and each append also records a checkpoint
 * (line count and last line hash) beside the key. In the spirit of
 * journald's Forward Secure Sealing, minus the forward security: one key,
 * not an evolving one.
 *
 * Where the key lives (the key folder):
 *   `$SWIFTDEPLOY_KEY_DIR`, else `$XDG_STATE_HOME/swiftdeploy/keys`, else
 *   `$HOME/.local/state/swiftdeploy/keys`; created 0700. A key folder inside
 *   the history's own folder is refused: a key beside the lines it seals
 *   protects nothing.
 * Which key: `<key folder>/<key id>.key` (64 hex digits, mode 0600, created
 *   on first use), key id = the first 32 hex digits of
 *   sha256("swiftdeploy-history\0" + the history's absolute real path): one
 *   key per history path. Each sealed line names its key id, so a line sealed
 *   before the folder moved is still checked with the key it was sealed with.
 * The checkpoint: `<key folder>/<key id>.checkpoint`, `{"v":1,"lines":n,
 *   "last":"<sha256 of line n>"}`, rewritten (atomically) after each append.
 *
 * The key is never printed, logged or written anywhere but its own file.
 */

import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { atomicWrite } from "../fs/mod.ts";

import { SealKey } from "./_mac.ts";

const encoder = new TextEncoder();
const HEX64 = /^[0-9a-f]{64}$/;

/** The key folder from the environment (see the module doc), or undefined when none can be named. */
export function keyDir(env: (name: string) => string | undefined = envGet): string | undefined {
  const explicit = env("SWIFTDEPLOY_KEY_DIR");
  if (explicit) return resolve(explicit);
  const state = env("XDG_STATE_HOME");
  if (state && isAbsolute(state)) return join(state, "swiftdeploy", "keys");
  const home = env("HOME");
  if (home && isAbsolute(home)) return join(home, ".local", "state", "swiftdeploy", "keys");
  return undefined;
}

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission
  }
}

/** The history's absolute path with its folder's symlinks resolved (the file need not exist). */
async function canonicalPath(file: string): Promise<string> {
  const abs = resolve(file);
  const dir = await Deno.realPath(dirname(abs)).catch(() => dirname(abs));
  return join(dir, basename(abs));
}

/** Key id of the history at `file` (see the module doc). */
export async function keyIdFor(file: string): Promise<string> {
  const path = await canonicalPath(file);
  return createHash("sha256").update(`swiftdeploy-history\0${path}`).digest("hex").slice(0, 32);
}

function keyError(message: string, hint: string, cause?: unknown): SwiftDeployError {
  return new SwiftDeployError("HISTORY_KEY", message, {
    exitCode: ExitCode.failure,
    hint,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Where a key lives: its folder, its file and its checkpoint file. */
export interface KeyLocation {
  dir: string;
  id: string;
  keyFile: string;
  checkpointFile: string;
}

export function keyLocation(dir: string, id: string): KeyLocation {
  return {
    dir,
    id,
    keyFile: join(dir, `${id}.key`),
    checkpointFile: join(dir, `${id}.checkpoint`),
  };
}

function parseKey(text: string, file: string): Uint8Array {
  const hex = text.trim();
  if (!HEX64.test(hex)) {
    throw keyError(
      `Cannot use the history key "${file}": it is not 64 hex digits`,
      "restore the key file from a backup; a new key cannot check lines sealed with the old one",
    );
  }
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** Reads the key at `loc`; undefined when its file does not exist. Throws HISTORY_KEY when it is not a key. */
export async function readKey(loc: KeyLocation): Promise<SealKey | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(loc.keyFile);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw keyError(
      `Cannot read the history key "${loc.keyFile}": ${(error as Error).message}`,
      "the key must be readable by the user who runs swiftdeploy",
      error,
    );
  }
  return new SealKey(loc.id, parseKey(text, loc.keyFile));
}

/** Throws HISTORY_KEY when the key folder lies inside `projectDir` (or is it). */
export function assertOutside(dir: string, projectDir: string): void {
  const rel = relative(resolve(projectDir), resolve(dir));
  if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) {
    throw keyError(
      `Cannot keep the history key in "${dir}": it is inside the project folder "${projectDir}"`,
      "a key beside the history it seals protects nothing: set SWIFTDEPLOY_KEY_DIR to a folder " +
        "outside the project (by default $XDG_STATE_HOME or ~/.local/state/swiftdeploy/keys)",
    );
  }
}

/**
 * The key of the history at `file`, created (32 random bytes, 0600, in a
 * 0700 folder) when there is none. Throws HISTORY_KEY when no key folder can
 * be named, when it is inside the history's folder, when it cannot be
 * written, or when the key is missing though lines were sealed with it (the
 * last line names it, `opts.lastKeyId`, or its checkpoint exists).
 */
export async function loadOrCreateKey(
  file: string,
  dir: string | undefined,
  opts: { lastKeyId?: string | undefined; projectDir?: string } = {},
): Promise<SealKey> {
  if (dir === undefined) {
    throw keyError(
      "Cannot seal the history: no folder for its key (neither SWIFTDEPLOY_KEY_DIR, XDG_STATE_HOME nor HOME is set)",
      "set SWIFTDEPLOY_KEY_DIR to a folder outside the project that only you can read",
    );
  }
  assertOutside(dir, dirname(resolve(file)));
  if (opts.projectDir !== undefined) assertOutside(dir, opts.projectDir);
  const loc = keyLocation(dir, await keyIdFor(file));
  const existing = await readKey(loc);
  if (existing) return existing;
  // A new key would make every line sealed with the lost one unverifiable.
  if (opts.lastKeyId === loc.id || (await readCheckpoint(loc)).status !== "missing") {
    throw keyError(
      `Cannot seal the history: its key "${loc.keyFile}" is missing, though lines were sealed with it`,
      `restore "${loc.keyFile}" from a backup (or point SWIFTDEPLOY_KEY_DIR at the folder that holds it)`,
    );
  }
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const f = await Deno.open(loc.keyFile, { write: true, createNew: true, mode: 0o600 });
    try {
      const data = encoder.encode(Buffer.from(bytes).toString("hex") + "\n");
      for (let done = 0; done < data.length;) done += await f.write(data.subarray(done));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.chmod(loc.keyFile, 0o600);
    return new SealKey(loc.id, bytes);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      const raced = await readKey(loc);
      if (raced) return raced;
    }
    throw keyError(
      `Cannot create the history key "${loc.keyFile}": ${(error as Error).message}`,
      "set SWIFTDEPLOY_KEY_DIR to a writable folder outside the project",
      error,
    );
  }
}

// ---- checkpoints -----------------------------------------------------------

/** The last state of a history as recorded beside its key. */
export interface Checkpoint {
  v: 1;
  /** Lines in the history (all segments) after the append. */
  lines: number;
  /** sha256 hex of line `lines`. */
  last: string;
}

export type CheckpointState =
  | { status: "missing" }
  | { status: "invalid"; problem: string }
  | { status: "ok"; checkpoint: Checkpoint };

export async function readCheckpoint(loc: KeyLocation): Promise<CheckpointState> {
  let text: string;
  try {
    text = await Deno.readTextFile(loc.checkpointFile);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { status: "missing" };
    return { status: "invalid", problem: (error as Error).message };
  }
  try {
    const { v, lines, last } = JSON.parse(text) as Record<string, unknown>;
    if (
      v === 1 && typeof lines === "number" && Number.isInteger(lines) && lines > 0 &&
      typeof last === "string" && HEX64.test(last)
    ) {
      return { status: "ok", checkpoint: { v: 1, lines, last } };
    }
  } catch { /* reported below */ }
  return { status: "invalid", problem: "not a checkpoint {v, lines, last}" };
}

export async function writeCheckpoint(loc: KeyLocation, checkpoint: Checkpoint): Promise<void> {
  await atomicWrite(
    loc.checkpointFile,
    JSON.stringify({ v: 1, lines: checkpoint.lines, last: checkpoint.last }) + "\n",
    { mode: 0o600 },
  );
}
