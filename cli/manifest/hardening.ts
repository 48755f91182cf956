/**
 * Production hardening settings of a manifest (issue 17): who may reach
 * nginx's `/chaos` and `/metrics`, how big logs may grow, and how much
 * memory, CPU and how many processes each container may use.
 *
 *   nginx:
 *     private_sources: []          # IPv4 addresses or CIDRs besides the host itself
 *   logs:
 *     containers: { driver: json-file, max_size: 10m, max_files: 3 }
 *     nginx: { max_size: 10m, max_files: 3 }
 *   resources:
 *     app: { memory: 256m, cpus: 1.0, pids: 128 }
 *     nginx | opa | prometheus: (the same keys)
 *
 * Sizes are an integer with `k`, `m` or `g` (binary: 1k = 1,024 bytes, the
 * way Docker reads `--memory` and json-file's `max-size`). Pure: no I/O.
 */
import type { ContainerResources, HardeningSpec, ResourceRole } from "./types.ts";

/** A size as Docker writes it: digits and a unit k, m or g. */
export const SIZE_PATTERN = /^([1-9][0-9]{0,9})([kmg])$/;

const UNIT: Readonly<Record<string, number>> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes of a size such as "10m" (binary units); undefined when it is not one. */
export function sizeBytes(text: string): number | undefined {
  const m = SIZE_PATTERN.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * UNIT[m[2]!]!;
}

/**
 * A size check between `min` and `max` bytes (inclusive), for the schema:
 * the message names the form and the bounds.
 */
export function sizeBetween(min: string, max: string): (value: unknown) => string | undefined {
  const lo = sizeBytes(min)!;
  const hi = sizeBytes(max)!;
  return (value) => {
    const bytes = typeof value === "string" ? sizeBytes(value) : undefined;
    return bytes !== undefined && bytes >= lo && bytes <= hi
      ? undefined
      : `must be a size from ${min} to ${max}: an integer and a unit k, m or g, such as "10m"`;
  };
}

/** The IPv4 address as a 32-bit number; undefined for anything else. */
export function ipv4Number(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o, i) => o > 255 || (m[i + 1]!.length > 1 && m[i + 1]!.startsWith("0")))) {
    return undefined;
  }
  return octets.reduce((acc, o) => acc * 256 + o, 0);
}

/**
 * What is wrong with a private source (an IPv4 address or CIDR whose host
 * bits are zero), or undefined when it is one.
 */
export function privateSourceProblem(value: unknown): string | undefined {
  const shape = 'must be an IPv4 address or CIDR, such as "203.0.113.7" or "10.0.0.0/8"';
  if (typeof value !== "string") return shape;
  const [addr, bits, extra] = value.split("/");
  if (extra !== undefined || addr === undefined) return shape;
  const ip = ipv4Number(addr);
  if (ip === undefined) return shape;
  if (bits === undefined) return undefined;
  if (!/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(bits)) return shape;
  const size = 2 ** (32 - Number(bits));
  if (ip % size !== 0) {
    const base = ipv4Text(Math.floor(ip / size) * size);
    return `must have its host bits zero, such as "${base}/${bits}"`;
  }
  return undefined;
}

function ipv4Text(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** Addresses a private source covers: 1 for an address, 2^(32-bits) for a CIDR. */
export function sourceSize(source: string): number {
  const bits = source.split("/")[1];
  return bits === undefined ? 1 : 2 ** (32 - Number(bits));
}

/**
 * The caps each container gets by default: memory in Docker's size form,
 * CPUs as a fraction of one core, pids as the cgroup's processes and
 * threads. Sized from what the stack used under 200,000 wrk requests at
 * about 11,000 requests/s (tests/hardening_test.ts, cgroup v1 figures; the
 * pids seen by `docker stats` include the healthcheck's busybox):
 *
 * | container  | RSS      | usage with page cache | pids  | cap               |
 * | ---------- | -------- | --------------------- | ----- | ----------------- |
 * | app        | 27.6 MiB | 53.2 MiB              | 3–9   | 256m, 1 CPU, 128  |
 * | nginx      | 6.8 MiB  | 27.7 MiB (its logs)   | 3–9   | 128m, 1 CPU, 64   |
 * | opa        | 22.1 MiB | 25.1 MiB              | 12–14 | 128m, 0.5 CPU, 64 |
 * | prometheus | not measured: its TSDB is a 256m tmpfs, charged to it | 512m, 0.5 CPU, 128 |
 *
 * Memory is about five times the peak (a leak is caught in seconds, a busy
 * hour is not), processes several times the peak (a fork loop stops there).
 */
export const DEFAULT_RESOURCES: Readonly<
  Record<ResourceRole, { memory: string; cpus: number; pids: number }>
> = {
  app: { memory: "256m", cpus: 1, pids: 128 },
  nginx: { memory: "128m", cpus: 1, pids: 64 },
  opa: { memory: "128m", cpus: 0.5, pids: 64 },
  prometheus: { memory: "512m", cpus: 0.5, pids: 128 },
};

/** Seed 004's container log cap: 10 MB × 3 files, json-file. */
export const DEFAULT_CONTAINER_LOGS = {
  driver: "json-file",
  max_size: "10m",
  max_files: 3,
} as const;
/** nginx's access and error logs on the volume: rotated before 10 MB, 3 files each. */
export const DEFAULT_NGINX_LOGS = { max_size: "10m", max_files: 3 } as const;

export const RESOURCE_ROLES: readonly ResourceRole[] = ["app", "nginx", "opa", "prometheus"];

/** Resolved limits of one container from its written (or default) values. */
export function containerResources(
  memory: string,
  cpus: number,
  pids: number,
): ContainerResources {
  return {
    memory,
    memory_bytes: sizeBytes(memory)!,
    // The Engine API's NanoCpus: billionths of a CPU.
    nano_cpus: Math.round(cpus * 1e9),
    pids,
  };
}

/** The resolved hardening of a manifest that leaves every key out (a fresh copy). */
export function defaultHardening(): HardeningSpec {
  const resources = {} as Record<ResourceRole, ContainerResources>;
  for (const role of RESOURCE_ROLES) {
    const d = DEFAULT_RESOURCES[role];
    resources[role] = containerResources(d.memory, d.cpus, d.pids);
  }
  return {
    private_sources: [],
    container_logs: { ...DEFAULT_CONTAINER_LOGS },
    nginx_logs: {
      max_size: DEFAULT_NGINX_LOGS.max_size,
      max_size_bytes: sizeBytes(DEFAULT_NGINX_LOGS.max_size)!,
      max_files: DEFAULT_NGINX_LOGS.max_files,
    },
    resources,
  };
}

/** The hardening of a resolved manifest, the defaults when absent (a hand-built manifest). */
export function hardeningSpec(manifest: { hardening?: HardeningSpec }): HardeningSpec {
  return manifest.hardening ?? defaultHardening();
}

/**
 * What `validate` warns about `nginx.private_sources`: undefined when none
 * is listed (only the host reaches /chaos and /metrics); otherwise the
 * sources and how many addresses they open the two paths to, with a
 * stronger word for a range of more than 65,536 addresses (wider than a /16)
 * or 0.0.0.0/0, which is everyone.
 */
export function privateSourcesWarning(sources: readonly string[]): string | undefined {
  if (sources.length === 0) return undefined;
  const addresses = sources.reduce((n, s) => n + sourceSize(s), 0);
  const everyone = sources.some((s) => s.endsWith("/0"));
  const listed = sources.map((s) => `"${s}"`).join(", ");
  const what = everyone
    ? "everyone (0.0.0.0/0): anyone who reaches nginx can set chaos and read every path's counts"
    : `${addresses.toLocaleString("en-US")} address${
      addresses === 1 ? "" : "es"
    } besides the host` +
      (addresses > 65536 ? ", more than a /16" : "");
  return `nginx.private_sources opens /chaos and /metrics through nginx to ${what}: ${listed}`;
}
