/** File writes that never leave a half-written file behind. */
import { basename, dirname, join } from "node:path";

/** Writes `text` to a temp file in the same folder, fsyncs it, then renames it over `path`. */
export async function atomicWrite(path: string, text: string, mode?: number): Promise<void> {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`,
  );
  const file = await Deno.open(tmp, {
    write: true,
    createNew: true,
    ...(mode !== undefined ? { mode } : {}),
  });
  try {
    const bytes = new TextEncoder().encode(text);
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  file.close();
  try {
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
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
