/**
 * The thin I/O around the routing table: the persisted file beside
 * nginx.conf and nginx's admin socket (`GET`/`PUT /routes`, served by
 * templates/nginx.conf.tmpl). A change is written to the file first, then
 * put to a running nginx, then read back.
 */
import { basename, dirname, join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import { atomicWrite, ensureDir, readIfExists } from "../fs/mod.ts";
import { unixHttpClient } from "../net/mod.ts";
import { MAX_SOCKET_PATH_BYTES, planAdminDir } from "../edge/mod.ts";
import { NGINX_ADMIN_SOCKET, type StackPlan } from "../plan/mod.ts";
import { encodeRoutes, parseRoutes, routesFilePath } from "./_codec.ts";
import type { Routes } from "./_routes.ts";

/** The path nginx serves the table on, on its admin socket. */
export const ROUTES_PATH = "/routes";

/** How often a `PUT` refused as stale (409: another writer raced us) is tried again. */
const CONFLICT_RETRIES = 3;

export interface RoutesOptions {
  /** Per admin-socket request, ms (default 2000). */
  timeoutMs?: number;
}

/**
 * The host path of nginx's admin socket for `plan`: the folder the plan binds
 * on NGINX_ADMIN_DIR, plus the socket's name.
 *
 * @throws SwiftDeployError INTERNAL when the plan's nginx binds no admin folder
 */
export function routesSocketPath(plan: StackPlan): string {
  return join(planAdminDir(plan, "reach nginx's routing table"), basename(NGINX_ADMIN_SOCKET));
}

/** nginx's answer to one admin request; `undefined` when nginx does not run (no socket, refused). */
async function admin(
  socket: string,
  init: { method: "GET" | "PUT"; body?: string },
  timeoutMs: number,
): Promise<{ status: number; text: string } | undefined> {
  if (new TextEncoder().encode(socket).length > MAX_SOCKET_PATH_BYTES) {
    throw unapplied(
      socket,
      `the path is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a unix socket address holds`,
    );
  }
  try {
    await Deno.lstat(socket);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw unapplied(socket, (error as Error).message, error);
  }
  try {
    const res = await fetch(`http://nginx-admin${ROUTES_PATH}`, {
      method: init.method,
      ...(init.body === undefined ? {} : { body: init.body }),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      client: unixHttpClient(socket),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, text: await res.text() };
  } catch (error) {
    // A socket file a killed nginx left behind: nobody listens.
    if (/refused|ECONNREFUSED|os error 111/i.test(String((error as Error)?.message ?? error))) {
      return undefined;
    }
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    throw unapplied(
      socket,
      timedOut ? `no answer within ${timeoutMs} ms` : (error as Error).message,
      error,
    );
  }
}

function unapplied(socket: string, detail: string, cause?: unknown): SwiftDeployError {
  return new SwiftDeployError(
    "ROUTES_UNAPPLIED",
    `Cannot change nginx's routing table through "${socket}": ${detail}`,
    {
      hint:
        "check that nginx is healthy (`swiftdeploy status`); the table is persisted and nginx reads it when it starts",
      cause,
    },
  );
}

/** The table nginx holds, `undefined` when nginx does not run or holds none yet. */
async function nginxRoutes(socket: string, timeoutMs: number): Promise<Routes | undefined> {
  const got = await admin(socket, { method: "GET" }, timeoutMs);
  if (!got || got.status === 404) return undefined;
  if (got.status !== 200) throw unapplied(socket, `GET ${ROUTES_PATH} answered HTTP ${got.status}`);
  return parseRoutes(got.text, `nginx's admin socket "${socket}"`);
}

/**
 * What is in effect: the table nginx holds (`nginx`: absent when nginx does
 * not run or holds none) and the persisted one (`file`: absent when there is
 * none).
 *
 * @throws SwiftDeployError ROUTES_INVALID when either is malformed;
 *   ROUTES_UNAPPLIED when nginx's socket exists but fails (timeout, error)
 */
export async function readRoutes(
  plan: StackPlan,
  opts: RoutesOptions = {},
): Promise<{ nginx?: Routes; file?: Routes }> {
  const path = routesFilePath(plan);
  const text = await readIfExists(path);
  const nginx = await nginxRoutes(routesSocketPath(plan), opts.timeoutMs ?? 2000);
  const file = text === undefined ? undefined : parseRoutes(text, `"${path}"`);
  return { ...(nginx ? { nginx } : {}), ...(file ? { file } : {}) };
}

/**
 * Puts `table` into effect. Its revision is 1 + the higher of the file's and
 * nginx's; the text is written atomically to the file FIRST (so a restarted
 * nginx never goes back to an older split), then `PUT` to nginx when it runs
 * (socket present and answering), then read back with `GET` and compared.
 * A `PUT` nginx refuses as stale (409: a concurrent writer) is retried with
 * a fresh revision, at most 3 times. When nginx does not run, the file alone
 * is the change: nginx loads it at its next fresh start.
 *
 * `ms` is the time from the call (the decision) to the table confirmed in
 * effect (read back from nginx; the file written, when nginx does not run),
 * from `performance.now()`.
 *
 * @throws SwiftDeployError INTERNAL when `table` breaks a rule (see
 *   `routesProblems`); ROUTES_UNAPPLIED when nginx refuses or fails, or reads
 *   back another table; ROUTES_INVALID when nginx answers a malformed table
 */
export async function applyRoutes(
  plan: StackPlan,
  table: Omit<Routes, "revision">,
  opts: RoutesOptions = {},
): Promise<{ routes: Routes; ms: number }> {
  const start = performance.now();
  const timeoutMs = opts.timeoutMs ?? 2000;
  const path = routesFilePath(plan);
  const socket = routesSocketPath(plan);
  await ensureDir(dirname(path), 0o755);
  for (let attempt = 0;; attempt++) {
    // A damaged file is replaced: its revision cannot be trusted, nginx's still counts.
    const fileText = await readIfExists(path);
    let fileRevision = 0;
    if (fileText !== undefined) {
      try {
        fileRevision = parseRoutes(fileText, `"${path}"`).revision;
      } catch { /* replaced below */ }
    }
    const held = await nginxRoutes(socket, timeoutMs);
    const routes: Routes = {
      ...table,
      revision: 1 + Math.max(fileRevision, held?.revision ?? 0),
    };
    const text = encodeRoutes(routes);
    await atomicWrite(path, text + "\n", { mode: 0o644 });
    const put = await admin(socket, { method: "PUT", body: text }, timeoutMs);
    if (!put) return { routes, ms: performance.now() - start };
    if (put.status === 409 && attempt < CONFLICT_RETRIES) continue;
    if (put.status !== 200) {
      throw unapplied(
        socket,
        `PUT ${ROUTES_PATH} answered HTTP ${put.status}: ${put.text.trim().slice(0, 200)}`,
      );
    }
    const now = await nginxRoutes(socket, timeoutMs);
    if (!now || encodeRoutes(now) !== text) {
      throw unapplied(
        socket,
        `nginx holds revision ${
          now?.revision ?? "none"
        } after revision ${routes.revision} was accepted`,
      );
    }
    return { routes, ms: performance.now() - start };
  }
}
