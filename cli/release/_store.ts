/**
 * The release store on disk: `.swiftdeploy/releases/<n>/` bundles, each
 * written whole into a temporary folder and renamed into place (see
 * types.ts for the layout). Callers write under the change lock, which
 * serialises numbering.
 */
import { join } from "node:path";
import { ensureDir, readIfExists, syncDirectory } from "../fs/mod.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { BUNDLE_FILES, bundleFiles, finishRecord, verifyRecord } from "./_record.ts";
import { sortKeys } from "../digest/mod.ts";
import type { ReleaseDraft, ReleaseEvidence, ReleaseRecord, ReleaseSummary } from "./types.ts";

/** The releases folder under a deployment's state folder. */
export function releasesDir(stateDir: string): string {
  return join(stateDir, "releases");
}

/** The bundle folder of release `n`. */
export function releaseDir(stateDir: string, n: number): string {
  return join(releasesDir(stateDir), String(n));
}

/**
 * Every release record in the store, oldest first. A folder whose
 * release.json is missing or not JSON is skipped (only complete bundles are
 * ever renamed into place; such a folder was put there by hand).
 */
export async function listRecords(stateDir: string): Promise<ReleaseRecord[]> {
  const dir = releasesDir(stateDir);
  const out: ReleaseRecord[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  for (const e of entries) {
    if (!e.isDirectory || !/^[1-9][0-9]*$/.test(e.name)) continue;
    const text = await readIfExists(join(dir, e.name, BUNDLE_FILES.record));
    if (text === undefined) continue;
    try {
      const r = JSON.parse(text) as ReleaseRecord;
      if (typeof r.number === "number" && typeof r.hash === "string") out.push(r);
    } catch { /* not a bundle we wrote */ }
  }
  return out.sort((a, b) => a.number - b.number);
}

/** Summaries of every release, oldest first (what `swiftdeploy releases` prints). */
export async function listReleases(stateDir: string): Promise<ReleaseSummary[]> {
  return (await listRecords(stateDir)).map((r) => summarize(stateDir, r));
}

/** The line `releases` prints for one record, as data. */
export function summarize(stateDir: string, r: ReleaseRecord): ReleaseSummary {
  const s: ReleaseSummary = {
    number: r.number,
    hash: r.hash,
    kind: r.kind,
    status: r.status,
    version: r.manifest?.version ?? "?",
    mode: r.manifest?.mode ?? "?",
    created_at: r.created_at,
    dir: releaseDir(stateDir, r.number),
  };
  if (r.environment !== undefined) s.environment = r.environment;
  return s;
}

/**
 * Release `n`'s record, or undefined when there is none.
 *
 * @throws SwiftDeployError RELEASE_DAMAGED when its release.json is not JSON
 */
export async function readRelease(stateDir: string, n: number): Promise<ReleaseRecord | undefined> {
  const text = await readIfExists(join(releaseDir(stateDir, n), BUNDLE_FILES.record));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as ReleaseRecord;
  } catch (error) {
    throw new SwiftDeployError(
      "RELEASE_DAMAGED",
      `Cannot read release ${n}: release.json is not JSON (${(error as Error).message})`,
    );
  }
}

/** A file of release `n`'s bundle (bundle-relative path), or undefined when absent. */
export function readBundleFile(
  stateDir: string,
  n: number,
  name: string,
): Promise<string | undefined> {
  return readIfExists(join(releaseDir(stateDir, n), name));
}

/** Problems with release `n`'s bundle (hash, missing or changed files); empty when intact. */
export async function verifyRelease(stateDir: string, record: ReleaseRecord): Promise<string[]> {
  const files: Record<string, string | undefined> = {};
  for (const name of Object.keys(record.files ?? {})) {
    files[name] = await readBundleFile(stateDir, record.number, name);
  }
  return verifyRecord(record, files);
}

async function writeSynced(path: string, text: string): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
  try {
    const data = new TextEncoder().encode(text);
    let off = 0;
    while (off < data.length) off += await file.write(data.subarray(off));
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * Writes a release: numbers it after the last one, points it at the newest
 * good release, hashes it, writes every file into `.tmp-<n>-<random>/`
 * (each fsynced), then renames the folder to `<n>` and fsyncs the parent.
 * Call it under the change lock (numbering is read, then written).
 *
 * @returns the record as written and its folder
 */
export async function writeRelease(
  stateDir: string,
  draft: ReleaseDraft,
  evidence: ReleaseEvidence,
): Promise<{ record: ReleaseRecord; dir: string; bytes: number }> {
  const root = releasesDir(stateDir);
  await ensureDir(root, 0o755);
  const existing = await listRecords(stateDir);
  const probe = finishRecord(draft, existing, {});
  const files = bundleFiles(evidence, probe.previous);
  const record = finishRecord(draft, existing, files, probe.previous);
  const tmp = join(root, `.tmp-${record.number}-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.mkdir(join(tmp, BUNDLE_FILES.filesDir), { recursive: true, mode: 0o755 });
  let bytes = 0;
  try {
    for (const [name, text] of Object.entries(files)) {
      await writeSynced(join(tmp, name), text);
      bytes += new TextEncoder().encode(text).length;
    }
    const json = JSON.stringify(sortKeys(record), null, 2) + "\n";
    await writeSynced(join(tmp, BUNDLE_FILES.record), json);
    bytes += new TextEncoder().encode(json).length;
    await syncDirectory(join(tmp, BUNDLE_FILES.filesDir));
    await syncDirectory(tmp);
    const dir = releaseDir(stateDir, record.number);
    await Deno.rename(tmp, dir);
    await syncDirectory(root);
    return { record, dir, bytes };
  } catch (error) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** Removes left-over `.tmp-*` folders of writes that were killed (never a whole bundle). */
export async function removePartialBundles(stateDir: string): Promise<string[]> {
  const removed: string[] = [];
  try {
    for await (const e of Deno.readDir(releasesDir(stateDir))) {
      if (e.isDirectory && e.name.startsWith(".tmp-")) {
        await Deno.remove(join(releasesDir(stateDir), e.name), { recursive: true });
        removed.push(e.name);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return removed;
}
