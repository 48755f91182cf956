/**
 * What `status` shows of issue 17's hardening (pure): each container's
 * restarts and whether the kernel killed it for memory, the size of the
 * logs volume, and which OOM kills the history has not recorded yet.
 */

/** One container of the stack as the engine reports it (GET /containers/{id}/json). */
export interface ContainerFacts {
  /** `io.swiftdeploy.role`: app, nginx, opa, prometheus. */
  role: string;
  name: string;
  /** `State.Status`: running, restarting, exited… */
  status: string;
  /** `RestartCount`: restarts by the engine's restart policy. */
  restarts: number;
  /** `State.OOMKilled`: the last exit was the memory cgroup's OOM kill (kept after a restart). */
  oom_killed: boolean;
  /** `State.FinishedAt` of the last exit (ISO 8601), null when it never exited. */
  finished_at: string | null;
  /** `HostConfig.Memory`, bytes; 0: no cap. */
  memory_limit_bytes: number;
}

/** One log file on the logs volume, from nginx's admin socket (`/log-files`). */
export interface LogFile {
  name: string;
  bytes: number;
}

/** The logs volume as `status` shows it, or why it could not be read. */
export type LogVolume = { bytes: number; files: LogFile[] } | { error: string };

/**
 * The files of `/log-files` ("<name> <bytes>" per line); lines of another
 * shape are skipped.
 */
export function parseLogFiles(text: string): LogFile[] {
  const out: LogFile[] = [];
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9._-]+) (\d+)$/.exec(line.trim());
    if (m) out.push({ name: m[1]!, bytes: Number(m[2]) });
  }
  return out;
}

/** The volume's total from its files. */
export function logVolume(files: LogFile[]): LogVolume {
  return { bytes: files.reduce((n, f) => n + f.bytes, 0), files };
}

/** The `container.oom_killed` history event's data. */
export interface OomKilledData {
  container: string;
  role: string;
  /** When the killed process exited (the engine's FinishedAt). */
  finished_at: string;
  /** The engine's restart count when SwiftDeploy saw it. */
  restart_count: number;
  memory_limit_bytes: number;
}

/**
 * The OOM kills not recorded yet: a container whose last exit was an OOM
 * kill (`oom_killed`) at a `finished_at` other than the one `seen` holds
 * for its name. Returns them and the updated `seen` (container name → the
 * last recorded `finished_at`), which the caller keeps for the next look.
 * One event per exit: a container killed twice between two looks is seen
 * once, with the restart count telling how many restarts there were.
 */
export function newOomKills(
  facts: readonly ContainerFacts[],
  seen: Readonly<Record<string, string>>,
): { events: OomKilledData[]; seen: Record<string, string> } {
  const next: Record<string, string> = {};
  const events: OomKilledData[] = [];
  for (const f of facts) {
    const last = seen[f.name];
    if (last !== undefined) next[f.name] = last;
    if (!f.oom_killed || f.finished_at === null || f.finished_at === last) continue;
    events.push({
      container: f.name,
      role: f.role,
      finished_at: f.finished_at,
      restart_count: f.restarts,
      memory_limit_bytes: f.memory_limit_bytes,
    });
    next[f.name] = f.finished_at;
  }
  return { events, seen: next };
}

/** Bytes as "12.3 MiB" (binary units, as the manifest's sizes). */
export function bytesText(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Colours the lines use (a subset of the dashboard's Paint). */
interface Paint {
  red(s: string): string;
  yellow(s: string): string;
}

/**
 * The dashboard's "Containers" block: one line per container (status,
 * restarts, the memory cap, OOM-killed in red), then the logs volume.
 */
export function renderHardening(
  containers: readonly ContainerFacts[],
  logs: LogVolume | undefined,
  paint: Paint,
  rule: (title: string) => string,
): string[] {
  const lines = [rule("Containers")];
  for (const c of containers) {
    const cap = c.memory_limit_bytes > 0 ? `, memory cap ${bytesText(c.memory_limit_bytes)}` : "";
    const restarts = `${c.restarts} restart${c.restarts === 1 ? "" : "s"}`;
    const oom = c.oom_killed ? paint.red(", last exit OOM-killed") : "";
    const status = c.status === "running" ? c.status : paint.yellow(c.status);
    lines.push(
      `  ${c.role.padEnd(11)} : ${status}, ${
        c.restarts > 0 ? paint.yellow(restarts) : restarts
      }${oom}${cap}`,
    );
  }
  if (logs !== undefined) {
    lines.push(
      "error" in logs
        ? paint.yellow(`  logs volume : unknown (${logs.error})`)
        : `  logs volume : ${bytesText(logs.bytes)} in ${logs.files.length} file${
          logs.files.length === 1 ? "" : "s"
        }`,
    );
  }
  return lines;
}
