/**
 * The window that gates a promotion, with the request and error counts taken
 * at the edge: the app's scrapes (latency, instance) and nginx's counters
 * (what clients received), read together at both ends of the window.
 */
import { join } from "node:path";
import { atomicWrite } from "../fs/mod.ts";
import {
  BASELINE_MAX_AGE_RATIO,
  computeWindow,
  type EdgeSample,
  pickBaseline,
  type WindowFigures,
} from "../metrics/mod.ts";
import { listKept, loadKept, pruneKept, scrapeAndKeep } from "../scrapes/mod.ts";
import { edgeSocketPath, readEdgeSample } from "./_read_edge.ts";

/** The `format` of a kept edge reading. */
export const EDGE_KEPT_FORMAT = "swiftdeploy-edge/1";
/**
 * Most milliseconds between a kept app scrape and the kept edge reading that
 * pairs with it as a window's start. Both are taken by one command, one
 * right after the other (well under a second on a working stack); 5 s is
 * the scrape timeout.
 */
export const EDGE_PAIR_TOLERANCE_MS = 5000;

/** Kept edge readings: `<state dir>/edge/<atMs>.json`. */
export function edgeKeptDir(stateDir: string): string {
  return join(stateDir, "edge");
}

/** A kept reading's text; undefined for a reading JSON cannot hold exactly (NaN, ±Infinity). */
export function encodeEdgeSample(s: EdgeSample): string | undefined {
  if (![s.atMs, s.requests, s.errors].every(Number.isFinite)) return undefined;
  return JSON.stringify({ format: EDGE_KEPT_FORMAT, ...s }) + "\n";
}

/** A kept reading back, or undefined when the text is damaged or foreign. */
export function decodeEdgeSample(text: string): EdgeSample | undefined {
  let d: unknown;
  try {
    d = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof d !== "object" || d === null) return undefined;
  const r = d as Record<string, unknown>;
  const { atMs, instance, requests, errors } = r;
  if (r["format"] !== EDGE_KEPT_FORMAT || typeof instance !== "string") return undefined;
  if (![atMs, requests, errors].every((v) => typeof v === "number" && Number.isFinite(v))) {
    return undefined;
  }
  return { atMs: atMs as number, instance, requests: requests as number, errors: errors as number };
}

/** Reads nginx's counters and keeps the reading (pruned after two hours). */
export async function readAndKeepEdge(stateDir: string, timeoutMs = 2000): Promise<EdgeSample> {
  const s = await readEdgeSample(edgeSocketPath(stateDir), { timeoutMs });
  const text = encodeEdgeSample(s);
  if (text !== undefined) {
    const dir = edgeKeptDir(stateDir);
    await Deno.mkdir(dir, { recursive: true });
    await atomicWrite(join(dir, `${s.atMs}.json`), text);
    await pruneKept(dir, s.atMs);
  }
  return s;
}

/** The kept reading closest to `atMs` (epoch ms) within EDGE_PAIR_TOLERANCE_MS, if any. */
export async function keptEdgeNear(
  stateDir: string,
  atMs: number,
): Promise<EdgeSample | undefined> {
  const dir = edgeKeptDir(stateDir);
  let best: EdgeSample | undefined;
  for (const f of await listKept(dir)) {
    if (Math.abs(f.at - atMs) > EDGE_PAIR_TOLERANCE_MS) continue;
    const text = await Deno.readTextFile(join(dir, f.name)).catch(() => "");
    const s = decodeEdgeSample(text);
    if (s && s.atMs === f.at && (!best || Math.abs(s.atMs - atMs) < Math.abs(best.atMs - atMs))) {
      best = s;
    }
  }
  return best;
}

export interface GateWindowOptions {
  /** The app's /metrics through nginx. */
  metricsUrl: string;
  /** Kept app scrapes (cli/scrapes). */
  scrapesDir: string;
  /** The deployment's state folder (`.swiftdeploy/`): the admin socket and kept edge readings. */
  stateDir: string;
  windowSeconds: number;
  progress: (line: string) => void;
  timeoutMs?: number;
}

export interface GateWindow {
  figures: WindowFigures;
  /** True when the window was waited out rather than started from kept readings. */
  waited: boolean;
  /**
   * Why an edge reading failed, when one did. The request figures are then
   * unknown (the window needs edge readings at both ends): the gate fails
   * closed rather than fall back to the app's own counts, which miss what
   * nginx answered itself.
   */
  edgeError?: string;
}

/**
 * The promotion gate's window ending now. Request and 5xx counts come from
 * nginx's edge counters, latency from the app: `computeWindow(older, newer,
 * { edge })`. A kept app scrape about one window old (`pickBaseline`) is the
 * start when a kept edge reading was taken within EDGE_PAIR_TOLERANCE_MS of
 * it; otherwise both are read now, the window is waited out with progress,
 * and both are read again.
 *
 * @throws what `scrape` throws (METRICS_UNREACHABLE, METRICS_INVALID) for the
 *   app's /metrics; an edge failure is not thrown but reported in `edgeError`
 */
export async function collectGateWindow(opts: GateWindowOptions): Promise<GateWindow> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const windowMs = opts.windowSeconds * 1000;
  let edgeError: string | undefined;
  const edge = async (): Promise<EdgeSample[]> => {
    try {
      return [await readAndKeepEdge(opts.stateDir, timeoutMs)];
    } catch (error) {
      edgeError ??= (error as Error).message;
      return [];
    }
  };
  const now = Date.now();
  const kept = await loadKept(opts.scrapesDir, now - windowMs * BASELINE_MAX_AGE_RATIO, now);
  const baseline = pickBaseline(kept, now, opts.windowSeconds);
  const keptEdge = baseline ? await keptEdgeNear(opts.stateDir, baseline.at) : undefined;
  if (baseline && keptEdge) {
    const newest = await scrapeAndKeep(opts.metricsUrl, opts.scrapesDir, timeoutMs);
    const samples = [keptEdge, ...await edge()];
    const figures = computeWindow(baseline, newest, { edge: samples });
    return { figures, waited: false, ...(edgeError ? { edgeError } : {}) };
  }
  const first = await scrapeAndKeep(opts.metricsUrl, opts.scrapesDir, timeoutMs);
  const start = await edge();
  const end = first.at + windowMs;
  while (Date.now() < end) {
    const left = Math.ceil((end - Date.now()) / 1000);
    opts.progress(`collecting a ${opts.windowSeconds} s metrics window: ${left} s left`);
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, end - Date.now()))));
  }
  const last = await scrapeAndKeep(opts.metricsUrl, opts.scrapesDir, timeoutMs);
  const samples = [...start, ...await edge()];
  const figures = computeWindow(first, last, { edge: samples });
  return { figures, waited: true, ...(edgeError ? { edgeError } : {}) };
}
