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

/** Makes a rename durable; a folder that cannot be opened for sync is fine. */
async function syncDirectory(dir: string): Promise<void> {
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
