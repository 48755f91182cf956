/**
 * The lab's I/O on the machine: running `ip`, `nsenter` and friends, and
 * finding what of the lab is present (namespaces, links, processes,
 * mounts, folders, cgroups). Shell.
 */
import { SwiftDeployError } from "../errors/mod.ts";
import {
  isLabProcess,
  type LabLayout,
  labMounts,
  labNamespaces,
  type Leftovers,
  parseMountPoints,
  type ProcessView,
} from "./_layout.ts";

/** What a finished command printed and how it ended. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end; never throws for a non-zero exit (see {@link mustRun}). */
export async function runCommand(
  program: string,
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<CommandResult> {
  const child = new Deno.Command(program, {
    args,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(opts.env ? { env: opts.env } : {}),
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Runs a program and throws LAB_FAILED (exit 1) naming the command and its
 * stderr when it exits non-zero.
 */
export async function mustRun(program: string, args: string[]): Promise<string> {
  const r = await runCommand(program, args);
  if (r.code !== 0) {
    throw new SwiftDeployError(
      "LAB_FAILED",
      `Cannot build the lab: "${[program, ...args].join(" ")}" exited ${r.code}: ${
        r.stderr.trim() || r.stdout.trim()
      }`,
    );
  }
  return r.stdout;
}

/** The path of `cmd` on PATH (plus /usr/sbin and /usr/bin), or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin"])) {
    if (!dir) continue;
    try {
      const p = `${dir}/${cmd}`;
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * Starts a long-lived program detached from this process (its own session,
 * stdio to `logFile`), inside network namespace `netns` when given, with a
 * UTS namespace and host name of its own when `hostname` is given. The
 * process writes its pid to `pidFile` itself before it becomes `argv`
 * (nsenter, unshare and the shell all exec, so the pid stays the same).
 * Environment values in `env` reach the program only, never a file or argv.
 */
export async function startDetached(opts: {
  argv: string[];
  netns?: string;
  hostname?: string;
  pidFile: string;
  logFile: string;
  env?: Record<string, string>;
}): Promise<void> {
  const q = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  const script = [
    ...(opts.hostname ? [`hostname ${q(opts.hostname)}`] : []),
    `echo $$ > ${q(opts.pidFile)}`,
    `exec ${opts.argv.map(q).join(" ")} >>${q(opts.logFile)} 2>&1 </dev/null`,
  ].join(" && ");
  const prefix: string[] = [];
  if (opts.netns) prefix.push("nsenter", `--net=/run/netns/${opts.netns}`, "--");
  if (opts.hostname) prefix.push("unshare", "--uts", "--");
  const r = await runCommand("setsid", ["-f", ...prefix, "bash", "-c", script], {
    env: { ...Deno.env.toObject(), ...opts.env },
  });
  if (r.code !== 0) {
    throw new SwiftDeployError(
      "LAB_FAILED",
      `Cannot start "${opts.argv[0]}": setsid exited ${r.code}: ${r.stderr.trim()}`,
    );
  }
}

/**
 * The pid in `pidFile` when that process is alive, else undefined. A zombie
 * is dead: the lab's daemons are re-parented to PID 1, which may not reap
 * them at once (it did not in this sandbox), so /proc/PID alone would lie.
 */
export async function livePid(pidFile: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await Deno.readTextFile(pidFile)).trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return await isAlive(pid) ? pid : undefined;
}

/** True while /proc/PID exists and is not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Network namespace inode of a /run/netns file or a /proc/PID/ns/net link. */
async function nsInode(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).ino ?? undefined;
  } catch {
    return undefined;
  }
}

/** The lab's namespaces present in /run/netns. */
export async function presentNamespaces(layout: LabLayout): Promise<string[]> {
  const present: string[] = [];
  for (const name of labNamespaces(layout)) {
    try {
      await Deno.lstat(`/run/netns/${name}`);
      present.push(name);
    } catch { /* absent */ }
  }
  return present;
}

/** Every process of the lab (see isLabProcess), this process excluded. */
export async function labProcesses(
  layout: LabLayout,
): Promise<{ pid: number; cmdline: string }[]> {
  const inodes = new Set<number>();
  for (const name of labNamespaces(layout)) {
    const ino = await nsInode(`/run/netns/${name}`);
    if (ino !== undefined) inodes.add(ino);
  }
  const found: { pid: number; cmdline: string }[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    try {
      const view: ProcessView = {
        pid,
        cmdline: (await Deno.readTextFile(`/proc/${pid}/cmdline`)).replaceAll("\0", " ").trim(),
        cgroup: await Deno.readTextFile(`/proc/${pid}/cgroup`),
      };
      const ino = await nsInode(`/proc/${pid}/ns/net`);
      if (ino !== undefined) view.netns = ino;
      if (isLabProcess(layout, inodes, view) && await isAlive(pid)) {
        found.push({ pid, cmdline: view.cmdline });
      }
    } catch { /* gone meanwhile */ }
  }
  return found;
}

/** The lab's mount points, deepest first. */
export async function presentMounts(layout: LabLayout): Promise<string[]> {
  return labMounts(layout, parseMountPoints(await Deno.readTextFile("/proc/self/mountinfo")));
}

/** The lab's cgroup folders (each controller's `<prefix>-nodeN` and what is under it). */
export async function presentCgroups(layout: LabLayout): Promise<string[]> {
  const found: string[] = [];
  let controllers: string[] = [];
  try {
    for await (const e of Deno.readDir("/sys/fs/cgroup")) {
      if (e.isDirectory) controllers.push(e.name);
    }
  } catch {
    controllers = [];
  }
  const walk = async (dir: string): Promise<void> => {
    try {
      for await (const e of Deno.readDir(dir)) {
        if (e.isDirectory) await walk(`${dir}/${e.name}`);
      }
      found.push(dir);
    } catch { /* gone */ }
  };
  for (const c of controllers.sort()) {
    for (const node of layout.nodes) {
      const dir = `/sys/fs/cgroup/${c}${node.cgroupParent}`;
      try {
        await Deno.lstat(dir);
        await walk(dir);
      } catch { /* absent */ }
    }
  }
  return found;
}

/** Everything of the lab present on the machine (all lists empty: nothing). */
export async function leftovers(layout: LabLayout): Promise<Leftovers> {
  const links: string[] = [];
  const r = await runCommand("ip", ["-o", "link", "show", "dev", layout.hostLink]);
  if (r.code === 0) links.push(layout.hostLink);
  const folders: string[] = [];
  for (const dir of [layout.runDir, layout.dataDir]) {
    try {
      await Deno.lstat(dir);
      folders.push(dir);
    } catch { /* absent */ }
  }
  return {
    namespaces: await presentNamespaces(layout),
    links,
    processes: await labProcesses(layout),
    mounts: await presentMounts(layout),
    folders,
    cgroups: await presentCgroups(layout),
  };
}
