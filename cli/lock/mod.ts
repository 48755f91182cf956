/**
 * One change at a time per deployment: a lock file beside the manifest
 * holding pid, host, command and start time, created exclusively. A lock
 * whose process is dead (same host) is taken over with a warning.
 */
import { hostname } from "node:os";
import { dirname } from "node:path";
import { ExitCode, SwiftDeployError } from "../errors.ts";

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  started_at: string;
}

export interface Lock {
  info: LockInfo;
  /** The dead holder this lock was taken over from, if any. */
  takenOverFrom?: LockInfo;
  release(): Promise<void>;
}

export function describeHolder(h: LockInfo): string {
  return `"${h.command}" (pid ${h.pid} on ${h.host}, since ${h.started_at})`;
}

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

export async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as LockInfo;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof SyntaxError) {
      return { pid: 0, host: "unknown", command: "unreadable lock file", started_at: "unknown" };
    }
    throw error;
  }
}

/** True when the holder is certainly gone: same host and no such process. */
export function isStale(h: LockInfo): boolean {
  return h.pid === 0 || (h.host === hostname() && !processAlive(h.pid));
}

export async function acquireLock(path: string, command: string): Promise<Lock> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const info: LockInfo = {
    pid: Deno.pid,
    host: hostname(),
    command,
    started_at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  };
  let takenOverFrom: LockInfo | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const f = await Deno.open(path, { write: true, createNew: true });
      await f.write(new TextEncoder().encode(JSON.stringify(info) + "\n"));
      await f.sync();
      f.close();
      const lock: Lock = {
        info,
        release: async () => {
          const current = await readLock(path);
          if (current && current.pid === info.pid && current.host === info.host) {
            await Deno.remove(path).catch(() => {});
          }
        },
      };
      if (takenOverFrom) lock.takenOverFrom = takenOverFrom;
      return lock;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      const holder = await readLock(path);
      if (!holder) continue; // released between our two calls
      if (!isStale(holder)) {
        throw new SwiftDeployError(
          "LOCKED",
          `Cannot start "${command}": another change holds the lock: ${describeHolder(holder)}`,
          {
            exitCode: ExitCode.locked,
            hint: "wait for it to finish; if that process is gone, run `swiftdeploy lock release`",
          },
        );
      }
      takenOverFrom = holder;
      // Remove only if it is still the stale holder's file.
      const again = await readLock(path);
      if (again && again.pid === holder.pid && again.started_at === holder.started_at) {
        await Deno.remove(path).catch(() => {});
      }
    }
  }
  throw new SwiftDeployError("LOCKED", `Cannot take the lock "${path}": it keeps changing`, {
    exitCode: ExitCode.locked,
  });
}

/** Removes the lock whoever holds it (operator override). */
export async function releaseLock(path: string): Promise<LockInfo | undefined> {
  const holder = await readLock(path);
  if (holder) await Deno.remove(path).catch(() => {});
  return holder;
}
