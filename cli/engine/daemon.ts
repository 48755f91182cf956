/**
 * `engine start|status|stop`: a Docker daemon with project-local data and
 * exec roots, started only when no engine answers, stopped only when this
 * project started it (by the pid it recorded).
 */
import { join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import { EngineApiVersionError, EngineClient, EngineUnreachableError } from "./_client.ts";
import { DEFAULT_SOCKET, parseDockerHost } from "./_endpoint.ts";

export interface DaemonPaths {
  stateDir: string;
  dataRoot: string;
  execRoot: string;
  pidFile: string;
  logFile: string;
  /** The socket this project's daemon listens on. */
  socket: string;
}

export function daemonPaths(homeDir: string, dockerHost: string | undefined): DaemonPaths {
  const stateDir = join(homeDir, ".state", "engine");
  let socket = DEFAULT_SOCKET;
  if (dockerHost) {
    const ep = parseDockerHost(dockerHost);
    if (ep.kind !== "unix") {
      throw new SwiftDeployError(
        "ENGINE_UNREACHABLE",
        `Cannot start a Docker daemon for DOCKER_HOST "${dockerHost}": only a local unix socket can be started here`,
        { hint: "unset DOCKER_HOST to use a local daemon, or start the remote engine yourself" },
      );
    }
    socket = ep.path;
  }
  return {
    stateDir,
    dataRoot: join(stateDir, "data"),
    execRoot: join(stateDir, "exec"),
    pidFile: join(stateDir, "dockerd.pid"),
    logFile: join(stateDir, "dockerd.log"),
    socket,
  };
}

/** What `engine status` reports. */
export interface EngineStatus {
  /** An engine answered `GET /version`. */
  reachable: boolean;
  /**
   * The engine shares an API version with this client. False (with
   * `problem`) when it answers but cannot be used; absent when unreachable.
   */
  usable?: boolean;
  endpoint?: string;
  /** The engine's release, e.g. "29.0.0". */
  version?: string;
  /** The API version spoken (negotiated). */
  apiVersion?: string;
  /** The engine's API range ("1.44-1.52") when it cannot be used. */
  engineApiRange?: string;
  /** Why the engine cannot be used. */
  problem?: string;
  dataRoot?: string;
  /** Pid of the daemon this project started, when it is alive. */
  ownPid?: number;
}

async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(pidFile)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function isDockerd(pid: number): Promise<boolean> {
  try {
    const comm = (await Deno.readTextFile(`/proc/${pid}/comm`)).trim();
    return comm === "dockerd";
  } catch {
    return false;
  }
}

/**
 * Asks the engine (DOCKER_HOST, else the default socket) whether it answers
 * and can be used. An engine that answers without an API version in common
 * is reported (`usable: false`, `problem`), not thrown.
 *
 * @throws DockerHostError when DOCKER_HOST is malformed
 */
export async function engineStatus(
  paths: DaemonPaths,
  env: { dockerHost?: string | undefined },
): Promise<EngineStatus> {
  const pid = await readPid(paths.pidFile);
  const ownPid = pid !== undefined && await isDockerd(pid) ? pid : undefined;
  try {
    const client = await EngineClient.connect({ dockerHost: env.dockerHost });
    try {
      const [version, info] = await Promise.all([client.version(), client.info()]);
      const status: EngineStatus = {
        reachable: true,
        usable: true,
        endpoint: client.endpoint.label,
        version: version.Version,
        apiVersion: client.apiVersion,
        dataRoot: info.DockerRootDir,
      };
      if (ownPid !== undefined) status.ownPid = ownPid;
      return status;
    } finally {
      client.close();
    }
  } catch (error) {
    if (error instanceof EngineApiVersionError) {
      const status: EngineStatus = {
        reachable: true,
        usable: false,
        endpoint: error.endpoint,
        problem: error.message,
      };
      if (error.engineRelease !== undefined) status.version = error.engineRelease;
      if (error.engine) status.engineApiRange = `${error.engine.min}-${error.engine.max}`;
      if (ownPid !== undefined) status.ownPid = ownPid;
      return status;
    }
    if (!(error instanceof EngineUnreachableError)) throw error;
    return ownPid !== undefined ? { reachable: false, ownPid } : { reachable: false };
  }
}

function which(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin"])) {
    try {
      const p = join(dir, cmd);
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * Starts dockerd unless an engine already answers; waits until it does
 * (at most `timeoutMs`). Returns the status and whether it started one.
 */
export async function engineStart(
  paths: DaemonPaths,
  env: { dockerHost?: string | undefined },
  log: (line: string) => void,
  timeoutMs = 30_000,
): Promise<{ started: boolean; status: EngineStatus }> {
  const before = await engineStatus(paths, env);
  if (before.reachable) return { started: false, status: before };
  if (before.ownPid !== undefined) {
    log(`dockerd (pid ${before.ownPid}) is running but not answering yet; waiting`);
  } else {
    const dockerd = which("dockerd");
    if (!dockerd) {
      throw new SwiftDeployError(
        "TOOL_MISSING",
        "Cannot start the Docker Engine: dockerd is not installed",
        {
          hint: "run build/bootstrap.sh (it installs Debian's docker.io)",
        },
      );
    }
    if (Deno.uid() !== 0) {
      throw new SwiftDeployError(
        "ENGINE_UNREACHABLE",
        "Cannot start the Docker Engine: dockerd needs root",
        {
          hint: "start Docker as root (e.g. `sudo ./swiftdeploy engine start`) or set DOCKER_HOST",
        },
      );
    }
    for (const dir of [paths.stateDir, paths.dataRoot, paths.execRoot]) {
      await Deno.mkdir(dir, { recursive: true });
    }
    await Deno.mkdir(join(paths.socket, ".."), { recursive: true });
    // A stale socket file from a daemon that died would make dockerd refuse to start.
    await Deno.remove(paths.socket).catch(() => {});
    const args = [
      dockerd,
      "--host",
      `unix://${paths.socket}`,
      "--data-root",
      paths.dataRoot,
      "--exec-root",
      paths.execRoot,
      "--pidfile",
      paths.pidFile,
      "--log-level",
      "warn",
    ];
    const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    const cmd = new Deno.Command("setsid", {
      args: ["-f", "bash", "-c", `exec ${quoted} >>'${paths.logFile}' 2>&1 </dev/null`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    });
    const { success } = await cmd.output();
    if (!success) {
      throw new SwiftDeployError(
        "ENGINE_UNREACHABLE",
        "Cannot start the Docker Engine: setsid failed",
      );
    }
    log(`starting dockerd (data root ${paths.dataRoot})`);
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const status = await engineStatus(paths, env);
    if (status.reachable) return { started: true, status };
  }
  let tail = "";
  try {
    tail = (await Deno.readTextFile(paths.logFile)).trim().split("\n").slice(-5).join("\n");
  } catch { /* no log */ }
  throw new SwiftDeployError(
    "ENGINE_UNREACHABLE",
    `Cannot start the Docker Engine: no answer on "${paths.socket}" after ${timeoutMs / 1000} s` +
      (tail ? `\n${tail}` : ""),
    { hint: `see ${paths.logFile}` },
  );
}

/** Stops the daemon this project started (by its recorded pid); never another one. */
export async function engineStop(
  paths: DaemonPaths,
  log: (line: string) => void,
  timeoutMs = 20_000,
): Promise<{ stopped: boolean; reason?: string }> {
  const pid = await readPid(paths.pidFile);
  if (pid === undefined || !(await isDockerd(pid))) {
    return { stopped: false, reason: "no Docker daemon started by this project is running" };
  }
  Deno.kill(pid, "SIGTERM");
  log(`stopping dockerd (pid ${pid})`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isDockerd(pid))) return { stopped: true };
    await new Promise((r) => setTimeout(r, 200));
  }
  Deno.kill(pid, "SIGKILL");
  return { stopped: true, reason: "dockerd did not stop in time and was killed" };
}
