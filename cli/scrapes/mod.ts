/**
 * Kept scrapes: each scrape of the app's /metrics is stored beside the
 * manifest (`.swiftdeploy/scrapes/<epoch-ms>.json`) so that `promote` and
 * `status` can use one taken about a window ago by an earlier command.
 *
 * A kept scrape is the figures a window needs (`Scrape`: instance, gauges,
 * request counters by class, duration buckets, time), not the raw text: it
 * is read back without re-parsing. The file format is
 *
 *   {"format": "swiftdeploy-scrape/2", "at": <epoch ms>, "instance": string|null,
 *    "state": {"mode", "chaos", "uptime_seconds"},
 *    "requests": [[key, app, error, value], …], "buckets": [[key, app, le, value], …]}
 *
 * where a number that JSON cannot hold (NaN, ±Infinity: the `+Inf` bucket
 * bound, or a broken counter the window must still see) is the string
 * "NaN", "+Inf" or "-Inf". Raw text kept by earlier versions
 * (`<epoch-ms>.prom`) is still read (parsed once); a damaged or foreign
 * file of either kind is skipped, never a crash.
 */
import { join } from "node:path";
import { atomicWrite } from "../fs/mod.ts";
import {
  type AppState,
  type BucketCounter,
  type RequestCounter,
  type Scrape,
  scrape,
  scrapeFromText,
} from "../metrics/mod.ts";

/** Scrapes older than this are pruned (the longest window is 3,600 s, kept twice). */
const KEEP_MS = 2 * 3600 * 1000;
const MAX_FILES = 400;
/** The `format` of a kept scrape file written by this version. */
export const KEPT_FORMAT = "swiftdeploy-scrape/2";

/** The kept scrapes folder inside the per-deployment state folder. */
export function scrapesDir(stateDir: string): string {
  return join(stateDir, "scrapes");
}

type Encoded = number | "NaN" | "+Inf" | "-Inf";

function encodeNumber(v: number): Encoded {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
}

/** The number of an encoded value; undefined for anything else. */
function decodeNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  return undefined;
}

/** The JSON text of a kept scrape (see the module comment). */
export function encodeKept(s: Scrape): string {
  return JSON.stringify({
    format: KEPT_FORMAT,
    at: s.at,
    instance: s.instance,
    state: s.state,
    requests: s.requests.map((c) => [c.key, c.app, c.error, encodeNumber(c.value)]),
    buckets: s.buckets.map((c) => [c.key, c.app, encodeNumber(c.le), encodeNumber(c.value)]),
  });
}

const MODES = new Set(["stable", "canary", null]);
const CHAOS = new Set(["none", "slow", "error", null]);

/**
 * A kept scrape from its JSON text, or undefined when the text is not one
 * (other format, missing or mistyped field): the caller skips it.
 */
export function decodeKept(text: string): Scrape | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== "object" || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  if (d["format"] !== KEPT_FORMAT || typeof d["at"] !== "number") return undefined;
  const instance = d["instance"];
  if (instance !== null && typeof instance !== "string") return undefined;
  const st = d["state"] as Record<string, unknown> | null;
  if (typeof st !== "object" || st === null) return undefined;
  const uptime = st["uptime_seconds"];
  if (!MODES.has(st["mode"] as string) || !CHAOS.has(st["chaos"] as string)) return undefined;
  if (uptime !== null && typeof uptime !== "number") return undefined;
  const state = { mode: st["mode"], chaos: st["chaos"], uptime_seconds: uptime } as AppState;
  if (!Array.isArray(d["requests"]) || !Array.isArray(d["buckets"])) return undefined;
  const requests: RequestCounter[] = [];
  for (const r of d["requests"] as unknown[]) {
    if (!Array.isArray(r) || r.length !== 4) return undefined;
    const [key, app, error, raw] = r;
    const value = decodeNumber(raw);
    if (typeof key !== "string" || typeof app !== "boolean" || typeof error !== "boolean") {
      return undefined;
    }
    if (value === undefined) return undefined;
    requests.push({ key, app, error, value });
  }
  const buckets: BucketCounter[] = [];
  for (const b of d["buckets"] as unknown[]) {
    if (!Array.isArray(b) || b.length !== 4) return undefined;
    const [key, app, rawLe, raw] = b;
    const le = decodeNumber(rawLe);
    const value = decodeNumber(raw);
    if (typeof key !== "string" || typeof app !== "boolean") return undefined;
    if (le === undefined || Number.isNaN(le) || value === undefined) return undefined;
    buckets.push({ key, app, le, value });
  }
  return { at: d["at"], instance, state, requests, buckets };
}

/** Writes `s` as `<at>.json` in `dir` (created if missing) and prunes old files. */
export async function keep(dir: string, s: Scrape): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await atomicWrite(join(dir, `${s.at}.json`), encodeKept(s));
  await pruneKept(dir, s.at);
}

/** Fetches `/metrics`, keeps its figures, and returns them. */
export async function scrapeAndKeep(
  url: string,
  dir: string,
  timeoutMs: number,
  headers?: Record<string, string>,
): Promise<Scrape> {
  const s = await scrape(url, timeoutMs, headers ? { headers } : {});
  await keep(dir, s);
  return s;
}

/** A kept file: `<epoch ms>.<ext>` in a kept folder. */
export interface KeptFile {
  /** Epoch ms from the name. */
  at: number;
  name: string;
}

const KEPT_NAME = /^(\d+)\.(json|prom)$/;

/**
 * The kept files in `dir` named `<epoch ms>.json` (or `.prom`, raw text kept
 * by an earlier version), oldest first; a missing folder holds none. Shared
 * by the kept scrapes and cli/edge's kept readings.
 */
export async function listKept(dir: string): Promise<KeptFile[]> {
  const files: KeptFile[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = e.name.match(KEPT_NAME);
      if (e.isFile && m) files.push({ at: Number(m[1]), name: e.name });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files.sort((a, b) => a.at - b.at);
}

/**
 * Removes kept files older than two hours before `now` (epoch ms; the
 * longest window is 3,600 s, kept twice), and the oldest beyond 400.
 */
export async function pruneKept(dir: string, now: number): Promise<void> {
  const files = await listKept(dir);
  const excess = files.length - MAX_FILES;
  for (const [i, f] of files.entries()) {
    if (now - f.at > KEEP_MS || i < excess) await Deno.remove(join(dir, f.name)).catch(() => {});
  }
}

/** One kept file read back, or undefined when it is damaged or foreign. */
async function readKept(dir: string, f: KeptFile): Promise<Scrape | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, f.name));
  } catch {
    return undefined;
  }
  if (f.name.endsWith(".json")) {
    const s = decodeKept(text);
    return s && s.at === f.at ? s : undefined;
  }
  try {
    return scrapeFromText(text, f.at); // raw text kept by an earlier version
  } catch {
    return undefined;
  }
}

/**
 * Kept scrapes taken between `from` and `to` (epoch ms, inclusive), oldest
 * first; damaged or foreign files are skipped.
 */
export async function loadKept(dir: string, from: number, to: number): Promise<Scrape[]> {
  const out: Scrape[] = [];
  for (const f of await listKept(dir)) {
    if (f.at < from || f.at > to) continue;
    const s = await readKept(dir, f);
    if (s) out.push(s);
  }
  return out;
}
