/**
 * One change at a time per deployment: an exclusive kernel lock (flock) on
 * a lock file beside the manifest (`.swiftdeploy/lock.json`).
 *
 * The kernel lock alone decides. It belongs to the holder's open file, so
 * it ends with the holder however the holder ends (exit, crash, SIGKILL):
 * a stale lock cannot exist, a pid reused by another process cannot block,
 * and two acquirers can never both win. The file is never removed or
 * renamed (that would let two processes lock two different files).
 *
 * The holder writes its pid, host, command and start time into the file
 * after it has the lock, for display only ("locked by …", `lock status`),
 * and empties it on release. A record found in a file nobody holds
 * therefore names a change that ended without releasing (it was killed or
 * crashed): the next change reports it, so the operator knows it converged
 * over an interrupted run.
 *
 * @module
 */
import { hostname } from "node:os";
import { dirname } from "node:path";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { ensureDir, lockProbe, tryLockFile } from "../fs/mod.ts";

/** Who holds (or last held) the lock; for display only, never for deciding. */
export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  /** ISO 8601, seconds, UTC. */
  started_at: string;
}

export interface Lock {
  info: LockInfo;
  /** A record left in the lock file by a change that ended without releasing (killed or crashed). */
  interrupted?: LockInfo;
  /** Empties the record and releases the kernel lock; safe to call twice. */
  release(): Promise<void>;
}

/** What `lock status` shows. */
export type LockState =
  /** A process holds the kernel lock; `holder` is undefined while it has not written its record yet. */
  | { held: true; holder: LockInfo | undefined }
  /** Nobody holds it; `interrupted` is the record of a change that ended without releasing. */
  | { held: false; interrupted: LockInfo | undefined };

/** Milliseconds a busy lock is tried again: covers a `lock status` probe, never a real change. */
const PROBE_GRACE_MS = 50;

/** `"deploy" (pid 12 on host, since 2026-11-30T10:00:00Z)`. */
export function describeHolder(h: LockInfo): string {
  return `"${h.command}" (pid ${h.pid} on ${h.host}, since ${h.started_at})`;
}

/** The record in `text`, or undefined when it is empty or not a record (display only). */
export function parseLockInfo(text: string): LockInfo | undefined {
  if (text.trim() === "") return undefined;
  try {
    const v = JSON.parse(text) as Partial<LockInfo> | null;
    if (
      v && typeof v.pid === "number" && typeof v.host === "string" &&
      typeof v.command === "string" && typeof v.started_at === "string"
    ) {
      return { pid: v.pid, host: v.host, command: v.command, started_at: v.started_at };
    }
  } catch { /* a half-written or foreign file: no record to show */ }
  return undefined;
}

async function readRecord(path: string): Promise<LockInfo | undefined> {
  try {
    return parseLockInfo(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function readOpen(file: Deno.FsFile): Promise<string> {
  await file.seek(0, Deno.SeekMode.Start);
  const decoder = new TextDecoder();
  const buf = new Uint8Array(4096);
  let text = "";
  for (let n = await file.read(buf); n !== null; n = await file.read(buf)) {
    text += decoder.decode(buf.subarray(0, n), { stream: true });
  }
  return text + decoder.decode();
}

async function writeOpen(file: Deno.FsFile, text: string): Promise<void> {
  await file.truncate(0);
  await file.seek(0, Deno.SeekMode.Start);
  const bytes = new TextEncoder().encode(text);
  for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
}

/**
 * Takes the lock for `command` without waiting.
 *
 * @throws SwiftDeployError LOCKED (exit 4) naming the holder when another
 *   process holds the lock
 */
export async function acquireLock(path: string, command: string): Promise<Lock> {
  await ensureDir(dirname(path), 0o755);
  const file = await tryLockFile(path, { graceMs: PROBE_GRACE_MS });
  if (!file) {
    const holder = await readRecord(path);
    const who = holder
      ? describeHolder(holder)
      : "a process that has just started (it has not written its name yet)";
    throw new SwiftDeployError(
      "LOCKED",
      `Cannot start "${command}": another change holds the lock: ${who}`,
      {
        exitCode: ExitCode.locked,
        hint: "wait for it to finish; the lock ends with its holder, so if you stop that process " +
          "the next change can start (and deploy converges whatever it left)",
      },
    );
  }
  try {
    const interrupted = parseLockInfo(await readOpen(file));
    const info: LockInfo = {
      pid: Deno.pid,
      host: hostname(),
      command,
      started_at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    };
    await writeOpen(file, JSON.stringify(info) + "\n");
    let open = true;
    const lock: Lock = {
      info,
      release: async () => {
        if (!open) return;
        open = false;
        try {
          await file.truncate(0);
        } finally {
          file.close(); // closing releases the kernel lock
        }
      },
    };
    if (interrupted) lock.interrupted = interrupted;
    return lock;
  } catch (error) {
    file.close();
    throw error;
  }
}

/** Whether a process holds the lock at `path`, and the record it holds (or left). */
export async function lockStatus(path: string): Promise<LockState> {
  const held = await lockProbe(path);
  const record = await readRecord(path);
  return held ? { held, holder: record } : { held, interrupted: record };
}

/**
 * Clears the record of a change that ended without releasing. A held lock
 * cannot be taken from its holder: the kernel releases it when the holder
 * exits.
 *
 * @returns the record cleared, if any
 * @throws SwiftDeployError LOCKED (exit 4) naming the holder when the lock is held
 */
export async function clearLock(path: string): Promise<LockInfo | undefined> {
  let file: Deno.FsFile | undefined;
  try {
    await Deno.stat(path);
    file = await tryLockFile(path, { graceMs: PROBE_GRACE_MS });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  if (!file) {
    const holder = await readRecord(path);
    throw new SwiftDeployError(
      "LOCKED",
      `Cannot release the lock: a running change holds it: ${
        holder ? describeHolder(holder) : "a process that has just started"
      }`,
      {
        exitCode: ExitCode.locked,
        hint: `the lock ends when its holder exits; wait for it${
          holder ? `, or stop it with "kill ${holder.pid}"` : ""
        } (deploy converges whatever a stopped change left)`,
      },
    );
  }
  try {
    const record = parseLockInfo(await readOpen(file));
    await file.truncate(0);
    return record;
  } finally {
    file.close();
  }
}
