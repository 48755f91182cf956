/**
 * Host figures for the infrastructure policy: free disk on the engine's
 * data root, the 1-minute load average and MemAvailable as a percentage.
 * Parsing is pure; reading /proc and statfs is the thin shell.
 */
import { statfsSync } from "node:fs";

export interface HostFigures {
  disk_free_gb: number;
  cpu_load_1m: number;
  mem_free_percent: number;
}

export function parseLoadavg(text: string): number {
  const first = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(first)) throw new Error(`Cannot parse /proc/loadavg: "${text.trim()}"`);
  return first;
}

/** MemAvailable / MemTotal × 100 from /proc/meminfo. */
export function parseMemFreePercent(text: string): number {
  const field = (name: string) => {
    const m = text.match(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m"));
    if (!m?.[1]) throw new Error(`Cannot find ${name} in /proc/meminfo`);
    return Number(m[1]);
  };
  return (field("MemAvailable") / field("MemTotal")) * 100;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Reads the figures; `dataRoot` falls back to "/" when it is not a local path. */
export async function readHostFigures(dataRoot: string): Promise<HostFigures> {
  let fs;
  try {
    fs = statfsSync(dataRoot);
  } catch {
    fs = statfsSync("/");
  }
  const [loadavg, meminfo] = await Promise.all([
    Deno.readTextFile("/proc/loadavg"),
    Deno.readTextFile("/proc/meminfo"),
  ]);
  return {
    disk_free_gb: round2((Number(fs.bavail) * Number(fs.bsize)) / 1024 ** 3),
    cpu_load_1m: round2(parseLoadavg(loadavg)),
    mem_free_percent: round2(parseMemFreePercent(meminfo)),
  };
}
