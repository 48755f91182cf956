/**
 * Where a rollout is persisted: `<state dir>/rollout/state.json`, replaced
 * atomically (temp file, fsync, rename) at every transition, and the
 * driver's lock beside it (a kernel flock held by whichever process walks
 * the steps, so a second driver is refused and a killed one frees it).
 */
import { join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import { atomicWrite, ensureDir, lockProbe, readIfExists, tryLockFile } from "../fs/mod.ts";
import type { RolloutState } from "./_state.ts";

const PHASES = new Set(["progressing", "paused", "completing", "completed", "aborting", "aborted"]);

/** `<state dir>/rollout`. */
export function rolloutDir(stateDir: string): string {
  return join(stateDir, "rollout");
}

/** `<state dir>/rollout/state.json`. */
export function rolloutStatePath(stateDir: string): string {
  return join(rolloutDir(stateDir), "state.json");
}

/**
 * The persisted rollout, or undefined when none was ever started.
 *
 * @throws SwiftDeployError CHECK_FAILED naming the file when it is not a
 *   rollout state (never guessed: a damaged state must be looked at)
 */
export async function readRolloutState(stateDir: string): Promise<RolloutState | undefined> {
  const path = rolloutStatePath(stateDir);
  const text = await readIfExists(path);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw damaged(path, (error as Error).message);
  }
  const s = value as Partial<RolloutState>;
  if (
    typeof s !== "object" || s === null || typeof s.id !== "string" ||
    !PHASES.has(String(s.phase)) || !Array.isArray(s.steps) ||
    typeof s.step_index !== "number" || typeof s.weight !== "number" ||
    typeof s.stable?.address !== "string" || typeof s.canary?.address !== "string" ||
    !Array.isArray(s.analyses)
  ) {
    throw damaged(path, "it is not a rollout state");
  }
  return s as RolloutState;
}

function damaged(path: string, why: string): SwiftDeployError {
  return new SwiftDeployError("CHECK_FAILED", `Cannot read the rollout state ${path}: ${why}`, {
    hint: "look at the file; `swiftdeploy rollout abort --force` sets it aside (renamed, " +
      "kept) and `swiftdeploy deploy` then converges the stack",
  });
}

/** Persists `state` atomically; the folder is created 0755 when missing. */
export async function writeRolloutState(stateDir: string, state: RolloutState): Promise<void> {
  await ensureDir(rolloutDir(stateDir), 0o755);
  await atomicWrite(rolloutStatePath(stateDir), JSON.stringify(state, null, 2) + "\n");
}

/** The driver's lock: held while a process walks the steps. */
export function driverLockPath(stateDir: string): string {
  return join(rolloutDir(stateDir), "driver.lock");
}

/**
 * Takes the driver lock without waiting; undefined when another process
 * drives. Closing the returned file releases it (so does the process's end).
 */
export async function tryDriverLock(stateDir: string): Promise<Deno.FsFile | undefined> {
  await ensureDir(rolloutDir(stateDir), 0o755);
  return await tryLockFile(driverLockPath(stateDir));
}

/** True when some process holds the driver lock (walks the steps) now. */
export async function driverAlive(stateDir: string): Promise<boolean> {
  if ((await readIfExists(driverLockPath(stateDir))) === undefined) return false;
  return await lockProbe(driverLockPath(stateDir));
}

/**
 * `<state dir>/rollout/evidence.json`: the evidence a rollout gathered from
 * its start (the deploy's gates and decisions, the actions of every
 * transition), kept for the release recorded when it ends, whichever
 * process ends it.
 */
export function rolloutEvidencePath(stateDir: string): string {
  return join(rolloutDir(stateDir), "evidence.json");
}

/**
 * The evidence persisted for rollout `id`, or undefined when there is none
 * for it (none written, another rollout's, or not JSON: a release then
 * holds what the ending process knows).
 */
export async function readRolloutEvidence<T>(stateDir: string, id: string): Promise<T | undefined> {
  const text = await readIfExists(rolloutEvidencePath(stateDir));
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as { id?: unknown; evidence?: T };
    return v.id === id ? v.evidence : undefined;
  } catch {
    return undefined;
  }
}

/** Persists rollout `id`'s evidence atomically (replacing any earlier rollout's). */
export async function writeRolloutEvidence(
  stateDir: string,
  id: string,
  evidence: unknown,
): Promise<void> {
  await ensureDir(rolloutDir(stateDir), 0o755);
  await atomicWrite(rolloutEvidencePath(stateDir), JSON.stringify({ id, evidence }) + "\n");
}
