/**
 * Host figures for the infrastructure policy: free disk on the engine's
 * data root, the 1-minute load average and MemAvailable as a percentage.
 * Parsing is pure; reading /proc and statfs is the thin shell.
 *
 * The disk figure is of the file system holding the engine's data root and
 * of nothing else: when that path is unknown (no engine answered) or not on
 * this host (a remote engine, a path this host does not have), the figure is
 * null and the policy denies saying it is missing; it is never measured on
 * another disk instead.
 */
import { statfsSync } from "node:fs";

export interface HostFigures {
  /** GiB available to unprivileged users on the data root's file system; null when unknown. */
  disk_free_gb: number | null;
  /** The 1-minute load average from /proc/loadavg. */
  cpu_load_1m: number;
  /** MemAvailable / MemTotal × 100 from /proc/meminfo. */
  mem_free_percent: number;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[?::1\]?)$/i;

/**
 * The local path whose disk the infrastructure policy judges, given where the
 * engine is and the data root it reports (`GET /info` `DockerRootDir`): the
 * data root itself for a unix socket or a loopback tcp address, null for an
 * engine on another host (its data root is not on this machine). Pure.
 */
export function localDataRoot(
  endpoint: { kind: "unix" } | { kind: "tcp"; host: string },
  dockerRootDir: string,
): string | null {
  if (!dockerRootDir.startsWith("/")) return null;
  if (endpoint.kind === "tcp" && !LOOPBACK.test(endpoint.host)) return null;
  return dockerRootDir;
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

/**
 * Reads the figures. `dataRoot` is the engine's data root on this host
 * (see {@link localDataRoot}); null, or a path statfs cannot read, gives
 * `disk_free_gb: null` rather than the figure of some other disk.
 * Free disk is `bavail × bsize` in GiB (1024³ bytes), rounded to 0.01.
 */
export async function readHostFigures(dataRoot: string | null): Promise<HostFigures> {
  let disk: number | null = null;
  if (dataRoot !== null) {
    try {
      const fs = statfsSync(dataRoot);
      disk = round2((Number(fs.bavail) * Number(fs.bsize)) / 1024 ** 3);
    } catch {
      disk = null;
    }
  }
  const [loadavg, meminfo] = await Promise.all([
    Deno.readTextFile("/proc/loadavg"),
    Deno.readTextFile("/proc/meminfo"),
  ]);
  return {
    disk_free_gb: disk,
    cpu_load_1m: round2(parseLoadavg(loadavg)),
    mem_free_percent: round2(parseMemFreePercent(meminfo)),
  };
}
