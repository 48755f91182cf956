/**
 * Kept scrapes: each scrape of the app's /metrics is stored beside the
 * manifest (`.swiftdeploy/scrapes/<epoch-ms>.prom`) so that `promote` can
 * use one taken about a window ago by `status` or an earlier command.
 */
import { join } from "node:path";
import { ExitCode, SwiftDeployError } from "../errors.ts";
import { atomicWrite } from "../fsutil.ts";
import {
  BASELINE_MAX_AGE_RATIO,
  computeWindow,
  parsePrometheusText,
  pickBaseline,
  type Scrape,
  type WindowFigures,
} from "../metrics/mod.ts";

/** Scrapes older than this are pruned (the longest window is 3,600 s, kept twice). */
const KEEP_MS = 2 * 3600 * 1000;
const MAX_FILES = 400;

export function scrapesDir(stateDir: string): string {
  return join(stateDir, "scrapes");
}

/** Fetches `/metrics`, keeps the text, and returns the parsed scrape. */
export async function scrapeAndKeep(url: string, dir: string, timeoutMs: number): Promise<Scrape> {
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  } catch (error) {
    throw new SwiftDeployError(
      "METRICS_UNREACHABLE",
      `Cannot scrape metrics from "${url}": ${(error as Error).message}`,
      {
        exitCode: ExitCode.failure,
        hint: "check that the stack is deployed and healthy",
        cause: error,
      },
    );
  }
  const at = Date.now();
  const series = parsePrometheusText(text);
  await Deno.mkdir(dir, { recursive: true });
  await atomicWrite(join(dir, `${at}.prom`), text);
  await prune(dir, at);
  return { at, series };
}

async function listTimes(dir: string): Promise<number[]> {
  const times: number[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = e.name.match(/^(\d+)\.prom$/);
      if (e.isFile && m) times.push(Number(m[1]));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return times.sort((a, b) => a - b);
}

async function prune(dir: string, now: number): Promise<void> {
  const times = await listTimes(dir);
  const excess = times.length - MAX_FILES;
  for (const [i, t] of times.entries()) {
    if (now - t > KEEP_MS || i < excess) await Deno.remove(join(dir, `${t}.prom`)).catch(() => {});
  }
}

/** Kept scrapes taken between `from` and `to` (epoch ms), oldest first; unreadable ones are skipped. */
export async function loadKept(dir: string, from: number, to: number): Promise<Scrape[]> {
  const out: Scrape[] = [];
  for (const at of await listTimes(dir)) {
    if (at < from || at > to) continue;
    try {
      out.push({
        at,
        series: parsePrometheusText(await Deno.readTextFile(join(dir, `${at}.prom`))),
      });
    } catch { /* a damaged file is not a baseline */ }
  }
  return out;
}

/**
 * Figures over the manifest's window ending now: a fresh scrape against the
 * kept scrape closest to one window old; when there is none, scrape, wait
 * out the window (with progress), and scrape again.
 */
export async function collectWindow(
  url: string,
  dir: string,
  windowSeconds: number,
  progress: (line: string) => void,
  timeoutMs = 5000,
): Promise<{ figures: WindowFigures; waited: boolean }> {
  const windowMs = windowSeconds * 1000;
  const now = Date.now();
  const kept = await loadKept(dir, now - windowMs * BASELINE_MAX_AGE_RATIO, now);
  const baseline = pickBaseline(kept, now, windowSeconds);
  if (baseline) {
    const newest = await scrapeAndKeep(url, dir, timeoutMs);
    return { figures: computeWindow(baseline, newest), waited: false };
  }
  const first = await scrapeAndKeep(url, dir, timeoutMs);
  const end = first.at + windowMs;
  while (Date.now() < end) {
    const left = Math.ceil((end - Date.now()) / 1000);
    progress(`collecting a ${windowSeconds} s metrics window: ${left} s left`);
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, end - Date.now()))));
  }
  const last = await scrapeAndKeep(url, dir, timeoutMs);
  return { figures: computeWindow(first, last), waited: true };
}
