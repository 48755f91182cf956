/**
 * The thin I/O around the edge counters: the admin folder nginx's socket
 * lives in, and one read of the counters over that unix socket.
 */
import { unixHttpClient } from "../net/mod.ts";
import { basename, join } from "node:path";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { ensureDir } from "../fs/mod.ts";
import type { EdgeSample } from "../metrics/mod.ts";
import {
  CONTAINER_USERS,
  NGINX_ADMIN_DIR,
  NGINX_ADMIN_DIR_NAME,
  NGINX_ADMIN_SOCKET,
  type StackPlan,
} from "../plan/mod.ts";
import { edgeSampleFromText } from "./_parse_edge.ts";
import { type VariantSample, variantSampleFromText } from "./_variants.ts";

/** The path nginx serves its counters on, on the admin socket. */
export const EDGE_METRICS_PATH = "/edge-metrics";

/** Longest path a unix socket address holds (`sun_path` is 108 bytes on Linux, NUL included). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** `<state dir>/nginx-admin`: bound on nginx's admin folder (see cli/plan). */
export function edgeAdminDir(stateDir: string): string {
  return join(stateDir, NGINX_ADMIN_DIR_NAME);
}

/** The host path of nginx's admin socket for the deployment whose state folder is `stateDir`. */
export function edgeSocketPath(stateDir: string): string {
  return join(edgeAdminDir(stateDir), basename(NGINX_ADMIN_SOCKET));
}

/**
 * The host folder `plan` binds on nginx's NGINX_ADMIN_DIR (where its admin
 * socket lives). `purpose` completes "Cannot …" in the error.
 *
 * @throws SwiftDeployError INTERNAL when the plan's nginx binds no admin folder
 */
export function planAdminDir(plan: StackPlan, purpose: string): string {
  const nginx = plan.containers.find((c) => c.role === "nginx");
  const dir = (nginx?.body.HostConfig.Binds ?? [])
    .map((bind) => bind.split(":"))
    .find(([, target]) => target === NGINX_ADMIN_DIR)?.[0];
  if (dir === undefined) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot ${purpose}: the plan binds nothing on "${NGINX_ADMIN_DIR}"`,
    );
  }
  return dir;
}

/**
 * Creates the admin folder the plan binds on nginx's NGINX_ADMIN_DIR: mode
 * 0700, owned by nginx's user (10002), so only nginx and root (the CLI) can
 * reach the socket, whatever the umask. Must run before the nginx container
 * is created: a missing bind source would be created by the engine as root,
 * and nginx could not bind its socket there. Returns the folder.
 *
 * @throws SwiftDeployError INTERNAL when the plan's nginx binds no admin
 *   folder; CHECK_FAILED when the folder cannot be given to nginx's user
 *   (not root, and it is not already its owner)
 */
export async function ensureEdgeAdminDir(plan: StackPlan): Promise<string> {
  const dir = planAdminDir(plan, "prepare nginx's admin folder");
  await ensureDir(dir, 0o700);
  const uid = Number(CONTAINER_USERS.nginx.split(":")[0]);
  const gid = Number(CONTAINER_USERS.nginx.split(":")[1]);
  const st = await Deno.stat(dir);
  if (st.uid !== uid || st.gid !== gid) {
    try {
      await Deno.chown(dir, uid, gid);
    } catch (error) {
      throw new SwiftDeployError(
        "CHECK_FAILED",
        `Cannot prepare nginx's admin folder "${dir}": giving it to uid ${uid} failed: ${
          (error as Error).message
        }`,
        { hint: `run as root, or chown ${uid}:${gid} "${dir}" once`, cause: error },
      );
    }
  }
  return dir;
}

/**
 * Reads nginx's edge counters once, over its admin unix socket (Deno's
 * fetch with a unix-socket HttpClient), within `timeoutMs`. `atMs` is taken
 * when the answer arrived.
 *
 * @throws SwiftDeployError METRICS_UNREACHABLE (no socket, refused, timeout,
 *   non-200, a path too long for a socket address) or METRICS_INVALID (see
 *   `edgeSampleFromText`)
 */
export async function readEdgeSample(
  socketPath: string,
  opts: { timeoutMs?: number; now?: () => number } = {},
): Promise<EdgeSample> {
  const { text, atMs } = await readEdgeText(socketPath, opts);
  return edgeSampleFromText(text, atMs);
}

/**
 * Reads nginx's per-variant figures once (the same /edge-metrics answer as
 * `readEdgeSample`) for the deployment whose state folder is `stateDir`.
 *
 * @throws SwiftDeployError METRICS_UNREACHABLE (see `readEdgeSample`) or
 *   METRICS_INVALID (see `variantSampleFromText`)
 */
export async function readVariantSample(
  stateDir: string,
  opts: { timeoutMs?: number; now?: () => number } = {},
): Promise<VariantSample> {
  const { text, atMs } = await readEdgeText(edgeSocketPath(stateDir), opts);
  return variantSampleFromText(text, atMs);
}

async function readEdgeText(
  socketPath: string,
  opts: { timeoutMs?: number; now?: () => number },
): Promise<{ text: string; atMs: number }> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const unreachable = (detail: string, cause?: unknown) =>
    new SwiftDeployError(
      "METRICS_UNREACHABLE",
      `Cannot read the edge counters from "${socketPath}": ${detail}`,
      {
        exitCode: ExitCode.failure,
        hint: "check that the stack is deployed and nginx healthy (`swiftdeploy status`)",
        cause,
      },
    );
  if (new TextEncoder().encode(socketPath).length > MAX_SOCKET_PATH_BYTES) {
    throw unreachable(
      `the path is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a unix socket address holds`,
    );
  }
  const client = unixHttpClient(socketPath);
  let response: Response;
  let text: string;
  try {
    response = await fetch(`http://nginx-admin${EDGE_METRICS_PATH}`, {
      client,
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    throw unreachable(
      timedOut ? `no answer within ${timeoutMs} ms` : (error as Error).message,
      error,
    );
  }
  const atMs = (opts.now ?? Date.now)();
  if (response.status !== 200) throw unreachable(`HTTP ${response.status}`);
  return { text, atMs };
}
