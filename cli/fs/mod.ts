/** File writes that never leave a half-written file behind. */
import { basename, dirname, join } from "node:path";

export interface AtomicWriteOptions {
  /** Permission bits of a new file; an existing file keeps its own. */
  mode?: number;
  /** Runs after the data is on disk, just before the swap; throwing cancels the write. */
  beforeRename?: () => Promise<void>;
}

/**
 * Writes `text` to a temp file beside the target, fsyncs it, then renames it
 * over the target (through a symlink to its target, so the link survives)
 * and syncs the folder. On any error the temp file is removed and the
 * target is untouched.
 */
export async function atomicWrite(
  path: string,
  text: string,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const target = await Deno.realPath(path).catch(() => path);
  const existingMode = await Deno.stat(target).then((s) => (s.mode ?? 0o644) & 0o777).catch(() =>
    undefined
  );
  const mode = existingMode ?? opts.mode ?? 0o644;
  const tmp = join(dirname(target), `.${basename(target)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode });
    try {
      const bytes = new TextEncoder().encode(text);
      for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.chmod(tmp, mode);
    await opts.beforeRename?.();
    await Deno.rename(tmp, target);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  await syncDirectory(dirname(target));
}

/** Makes a rename in `dir` durable (fsync of the folder); a folder that cannot be opened for sync is fine. */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch { /* best effort */ }
}

/** The file's text, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Creates `path` and any missing parents, then sets `mode` on `path` itself
 * (mkdir honours the umask: under `umask 027` a folder would be 0750, which
 * the non-root container users cannot enter). Use it only for folders this
 * program owns; parents it had to create get the same mode.
 *
 * @param mode permission bits, e.g. `0o755`
 */
export async function ensureDir(path: string, mode: number): Promise<void> {
  const missing: string[] = [];
  for (let dir = path;; dir = dirname(dir)) {
    const there = await Deno.stat(dir).then(() => true, (e) => {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    });
    if (there || dirname(dir) === dir) break;
    missing.push(dir);
  }
  await Deno.mkdir(path, { recursive: true });
  for (const dir of new Set([path, ...missing])) await Deno.chmod(dir, mode);
}

/**
 * Opens `path` (created with `mode` when missing) and tries to take an
 * exclusive kernel lock on it (`flock(LOCK_EX|LOCK_NB)`, through
 * `Deno.FsFile.tryLock`). The lock belongs to the open file: closing the
 * file, or the process ending in any way (SIGKILL included), releases it, so
 * a stale lock cannot exist and a reused pid cannot hold it.
 *
 * A busy lock is tried again for up to `graceMs` (polling every 5 ms), so a
 * momentary probe (`lockProbe`) never makes a real acquirer give up.
 *
 * @returns the open, locked file (close it to release), or undefined when
 *   another open file description still holds the lock after `graceMs`
 */
export async function tryLockFile(
  path: string,
  opts: { mode?: number; graceMs?: number } = {},
): Promise<Deno.FsFile | undefined> {
  const file = await Deno.open(path, {
    read: true,
    write: true,
    create: true,
    mode: opts.mode ?? 0o644,
  });
  const deadline = performance.now() + (opts.graceMs ?? 0);
  try {
    while (true) {
      if (await file.tryLock(true)) return file;
      if (performance.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 5));
    }
  } catch (error) {
    file.close();
    throw error;
  }
  file.close();
  return undefined;
}

/**
 * Runs `fn` while holding an exclusive kernel lock on `path` (created with
 * `mode` when missing), waiting as long as another holder has it
 * (`flock(LOCK_EX)`). Released when `fn` settles, or when the process dies.
 * For short critical sections that must not fail (the history's appends);
 * a change that must give up at once uses `tryLockFile`.
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: { mode?: number } = {},
): Promise<T> {
  const file = await Deno.open(path, {
    read: true,
    write: true,
    create: true,
    mode: opts.mode ?? 0o644,
  });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close(); // closing releases the lock
  }
}

/**
 * Whether some process holds an exclusive kernel lock on `path`, found by
 * taking a shared lock for an instant (never blocks, never creates the file).
 *
 * @returns false when the file does not exist
 */
export async function lockProbe(path: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  try {
    return !(await file.tryLock(false));
  } finally {
    file.close();
  }
}
