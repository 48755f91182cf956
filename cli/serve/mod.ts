/**
 * `swiftdeploy serve`: one long-running process per manifest that serves
 * the admin API (`/v1`, JSON; docs/api.md) on a unix socket beside the
 * state (`.swiftdeploy/serve.sock`, mode 0600) and, when asked, on HTTP
 * bound to a loopback address only, where it also serves the dashboard.
 *
 * Request lifecycle:
 * 1. The HTTP listener sends `/` and `/assets/*` to the dashboard
 *    (`serveWeb`); everything else goes through the route table.
 * 2. Unknown path: 404; known path, other method: 405 with `Allow`.
 * 3. `POST /v1/hooks/git` goes to the webhook handler, which authenticates
 *    by the delivery's HMAC signature.
 * 4. Every other route needs `Authorization: Bearer <token>`: none, unknown
 *    or revoked: 401; a read token on a change: 403.
 * 5. A change's JSON body is read with a size cap (413) and a time cap
 *    (408), checked strictly (400), then refused with 409 naming the holder
 *    while another change holds the lock; otherwise it starts as an
 *    operation (202 + `Location: /v1/operations/{id}`).
 * 6. One JSON line per request goes to the request log: time, listener,
 *    method, path (never the query), status, milliseconds, the token's name
 *    (never the token), the operation id; never a header value or a body.
 *
 * SIGTERM (see `RunningServer.stop`): changes are refused (503), running
 * operations finish (SIGTERM to them after the grace period) and their
 * final state is written, event streams get a `shutdown` event and end,
 * the listeners close and the socket is removed.
 *
 * @module
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { ensureDir, tryLockFile } from "../fs/mod.ts";
import { appendEvent, readHistoryLines } from "../history/mod.ts";
import { describeHolder, lockStatus } from "../lock/mod.ts";
import {
  BUNDLE_FILES,
  listReleases,
  parseGatesTsv,
  readBundleFile,
  readRelease,
  type ReleaseRecord,
  verifyRelease,
} from "../release/mod.ts";
import { scopeAllows, TokenCache } from "../token/mod.ts";
import { readCappedBody } from "./_body.ts";
import { EventHub } from "./_hub.ts";
import { type CliSpawner, type OperationDoc, Operations, summary } from "./_operations.ts";
import { matchRoute, ROLLOUT_ACTIONS, type RouteSpec } from "./_routes.ts";
import { resumeLine } from "./_sse.ts";
import type { HookDeps } from "./_types.ts";
import { serveWeb } from "./_web.ts";
import { handleGitHook } from "./_webhook.ts";

export { matchRoute, ROUTES } from "./_routes.ts";
export { resumeLine, sseFrame } from "./_sse.ts";
export type { CliSpawner, OperationDoc } from "./_operations.ts";
export type { HookDeps, OperationRef } from "./_types.ts";
// The webhook's and the dashboard's own exports (their tests import them through this door).
export * from "./_webhook.ts";
export * from "./_web.ts";

/** Largest JSON body a change accepts (bytes); larger: 413. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Milliseconds a request body may take to arrive; slower: 408. */
export const BODY_TIMEOUT_MS = 10_000;
/** Milliseconds `GET /v1/status` waits for the first status document; then 503. */
const FIRST_STATUS_WAIT_MS = 20_000;

export interface ServeOptions {
  manifestPath: string;
  /** `.swiftdeploy/` beside the manifest. */
  stateDir: string;
  /** The manifest's history file (absolute). */
  historyFile: string;
  /** Unix socket path (default `<stateDir>/serve.sock`). */
  socketPath?: string;
  /** Also listen on HTTP at this loopback address (port 0: any free port). */
  http?: { hostname: string; port: number };
  /** Seconds between status refreshes (each one a `status --once --json` run). */
  statusIntervalSeconds: number;
  /** Seconds running operations get to finish on stop before they are sent SIGTERM. */
  stopGraceSeconds: number;
  /** Starts this CLI with `-f <manifest>` and `argv`. */
  spawnCli: CliSpawner;
  /** One line of the request log (JSON). */
  log: (line: string) => void;
}

export interface RunningServer {
  socketPath: string;
  /** The HTTP listener's port, when there is one. */
  httpPort: number | undefined;
  /** Graceful stop (see the module doc); safe to call twice. */
  stop(): Promise<void>;
}

/** A unix socket address holds at most this many bytes (sun_path is 108, with its NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Parses `--http`'s `HOST:PORT` (`127.0.0.1:8080`, `[::1]:8080`,
 * `localhost:8080`). Only loopback addresses are accepted: the API must not
 * be reachable from another host. Pure.
 *
 * @throws SwiftDeployError USAGE (exit 2) on anything else
 */
export function parseListenAddress(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const bad = (why: string) =>
    new SwiftDeployError("USAGE", `Invalid --http "${text}": ${why}`, {
      exitCode: ExitCode.invalid,
      hint: "give a loopback address and a port, e.g. --http 127.0.0.1:8080",
    });
  if (!m) throw bad("expected HOST:PORT");
  const port = Number(m[3]);
  if (port > 65535) throw bad("the port must be between 0 and 65535");
  const host = (m[1] ?? m[2] ?? "").toLowerCase();
  if (host === "localhost") return { hostname: "127.0.0.1", port };
  if (host === "::1") return { hostname: "::1", port };
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4 && v4.slice(1).every((o) => Number(o) <= 255)) return { hostname: host, port };
  throw bad(
    "only a loopback address (127.0.0.0/8, ::1, localhost) is accepted: the admin API is not for other hosts",
  );
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });

const problem = (
  status: number,
  error: string,
  message: string,
  headers?: Record<string, string>,
) => json(status, { error, message }, headers);

/** Reads a JSON object body within the caps; an empty body is `{}`. */
async function readJsonBody(
  req: Request,
): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; response: Response }> {
  const read = await readCappedBody(req, MAX_BODY_BYTES, BODY_TIMEOUT_MS);
  if (!read.ok) {
    return {
      ok: false,
      response: problem(read.status, read.error, read.message, { connection: "close" }),
    };
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(read.body).trim();
  if (text === "") return { ok: true, value: {} };
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return {
        ok: false,
        response: problem(400, "bad_json", "The body must be a JSON object"),
      };
    }
    return { ok: true, value: value as Record<string, unknown> };
  } catch {
    return { ok: false, response: problem(400, "bad_json", "The body is not valid JSON") };
  }
}

/**
 * The CLI arguments of a change request, or a 400 message. Unknown fields
 * are refused, so a typo never silently does the default. Pure.
 */
export function changeArgv(
  route: RouteSpec["name"],
  params: Record<string, string>,
  body: Record<string, unknown>,
): { ok: true; kind: string; argv: string[] } | { ok: false; message: string } {
  const allowed: Record<string, string[]> = {
    deploy: ["retry", "timeout_seconds"],
    promote: ["mode", "timeout_seconds"],
    rollout: params.action === "abort" ? ["force"] : [],
    rollback: ["release"],
  };
  const keys = allowed[route] ?? [];
  const extra = Object.keys(body).filter((k) => !keys.includes(k));
  if (extra.length > 0) {
    return {
      ok: false,
      message: `Unknown field${extra.length > 1 ? "s" : ""} ${
        extra.map((k) => `"${k}"`).join(", ")
      } (expected ${keys.length ? keys.map((k) => `"${k}"`).join(", ") : "an empty object"})`,
    };
  }
  const timeout: string[] = [];
  if (body.timeout_seconds !== undefined) {
    const t = body.timeout_seconds;
    if (typeof t !== "number" || !Number.isFinite(t) || t <= 0 || t > 3600) {
      return { ok: false, message: '"timeout_seconds" must be a number of seconds in (0, 3600]' };
    }
    timeout.push("--timeout", String(t));
  }
  const flag = (name: string, cli: string): string[] | string => {
    const v = body[name];
    if (v === undefined || v === false) return [];
    if (v === true) return [cli];
    return `"${name}" must be true or false`;
  };
  switch (route) {
    case "deploy": {
      const retry = flag("retry", "--retry");
      if (typeof retry === "string") return { ok: false, message: retry };
      return { ok: true, kind: "deploy", argv: ["deploy", ...retry, ...timeout] };
    }
    case "promote": {
      if (body.mode !== "canary" && body.mode !== "stable") {
        return { ok: false, message: '"mode" must be "canary" or "stable"' };
      }
      return { ok: true, kind: "promote", argv: ["promote", body.mode, ...timeout] };
    }
    case "rollout": {
      const action = params.action as (typeof ROLLOUT_ACTIONS)[number];
      if (!ROLLOUT_ACTIONS.includes(action)) {
        return { ok: false, message: `Unknown rollout action "${params.action}"` };
      }
      const force = flag("force", "--force");
      if (typeof force === "string") return { ok: false, message: force };
      return { ok: true, kind: `rollout ${action}`, argv: ["rollout", action, ...force] };
    }
    case "rollback": {
      // The CLI's `rollback [n]` takes a release number: 7 and "7" alike, nothing else.
      const r = body.release;
      const n = typeof r === "number" ? String(r) : r;
      if (n !== undefined && (typeof n !== "string" || !/^[1-9][0-9]{0,8}$/.test(n))) {
        return { ok: false, message: '"release" must be a release number (1, 2, …)' };
      }
      return { ok: true, kind: "rollback", argv: ["rollback", ...(n ? [n] : [])] };
    }
    default:
      return { ok: false, message: `Not a change: ${route}` };
  }
}

function bearer(req: Request): string | undefined {
  const h = req.headers.get("authorization");
  if (!h) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
  return m ? m[1] : "";
}

/** Runs a read-only CLI verb and parses its JSON stdout (the releases routes). */
async function cliJson(
  spawn: CliSpawner,
  argv: string[],
): Promise<{ code: number; value: unknown; stderr: string }> {
  const out = await spawn(argv, { NO_COLOR: "1" }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  let value: unknown = undefined;
  try {
    value = stdout.trim() === "" ? undefined : JSON.parse(stdout);
  } catch { /* not JSON: reported below */ }
  return { code: out.code, value, stderr };
}

/**
 * Starts the server.
 *
 * @throws SwiftDeployError SERVE_FAILED (exit 4) when another `serve` runs
 *   for this manifest; (exit 1) when the socket path is too long or a
 *   listener cannot be opened
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  await ensureDir(opts.stateDir, 0o755);
  const socketPath = opts.socketPath ?? join(opts.stateDir, "serve.sock");
  if (new TextEncoder().encode(socketPath).length > MAX_SOCKET_PATH_BYTES) {
    throw new SwiftDeployError(
      "SERVE_FAILED",
      `Cannot listen on "${socketPath}": the path is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a unix socket address holds`,
      { hint: "move the manifest's folder to a shorter path" },
    );
  }
  const serveLock = await tryLockFile(join(opts.stateDir, "serve.lock"), { mode: 0o600 });
  if (!serveLock) {
    throw new SwiftDeployError(
      "SERVE_FAILED",
      `Cannot serve "${opts.manifestPath}": another "swiftdeploy serve" runs for this manifest`,
      { exitCode: ExitCode.locked, hint: `its socket is "${socketPath}"; stop it first` },
    );
  }
  const tokens = new TokenCache(opts.stateDir);
  const ops = new Operations(opts.stateDir, opts.spawnCli);
  const hub = new EventHub({
    historyFile: opts.historyFile,
    statusIntervalSeconds: opts.statusIntervalSeconds,
    runStatus: async () => {
      const r = await cliJson(opts.spawnCli, ["status", "--once", "--json"]);
      if (r.value === undefined) {
        throw new Error(`status exited ${r.code}: ${r.stderr.split("\n")[0] ?? ""}`);
      }
      return r.value;
    },
    onError: (what, error) =>
      opts.log(JSON.stringify({
        ts: new Date().toISOString(),
        level: "warn",
        msg: `${what} failed`,
        error: (error instanceof Error ? error.message : String(error)).split("\n")[0],
      })),
  });
  let stopping = false;
  const lockFile = join(opts.stateDir, "lock.json");

  /** 409 body when a change cannot start now, else undefined. */
  const busy = async (kind: string): Promise<Response | undefined> => {
    if (stopping) return problem(503, "stopping", "The server is stopping; no change starts now");
    const state = await lockStatus(lockFile);
    if (state.held) {
      const who = state.holder ? describeHolder(state.holder) : "a process that has just started";
      return json(409, {
        error: "locked",
        message: `Cannot start "${kind}": another change holds the lock: ${who}`,
        holder: state.holder ?? null,
      });
    }
    // A rollout's verbs act on a rollout another operation drives (as the CLI allows);
    // any other change waits for this server's running operations.
    const own = kind.startsWith("rollout ") ? [] : ops.running();
    const first = own[0];
    if (first) {
      return json(409, {
        error: "locked",
        message:
          `Cannot start "${kind}": operation ${first.id} ("${first.kind}" by ${first.actor}) is running`,
        holder: { operation: first.id, kind: first.kind, actor: first.actor },
      });
    }
    return undefined;
  };

  const hookDeps: HookDeps = {
    manifestPath: opts.manifestPath,
    stateDir: opts.stateDir,
    startOperation: (argv, actor) => {
      if (stopping) {
        throw new SwiftDeployError("SERVE_FAILED", "The server is stopping; no change starts now");
      }
      const first = ops.running()[0];
      if (first) {
        throw new SwiftDeployError(
          "LOCKED",
          `Cannot start "${
            argv.join(" ")
          }": operation ${first.id} ("${first.kind}" by ${first.actor}) is running`,
          { exitCode: ExitCode.locked },
        );
      }
      // Another process holding the change lock makes the child exit 4 (its operation fails).
      const doc = ops.start(argv.join(" "), argv, actor);
      return { id: doc.id, url: `/v1/operations/${doc.id}` };
    },
    appendHistory: async (event, data) => {
      await appendEvent(opts.historyFile, event, data, {
        projectDir: opts.manifestPath.replace(/\/[^/]*$/, ""),
        actor: { user: "serve", host: hostname(), pid: Deno.pid },
      });
    },
  };

  const handle = async (
    req: Request,
    listener: "unix" | "http",
    note: { token?: string; operation?: string },
  ): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    if (
      listener === "http" && !path.startsWith("/v1/") &&
      (req.method === "GET" || req.method === "HEAD")
    ) {
      const page = await serveWeb(req);
      if (page) return page;
    }
    const match = matchRoute(req.method, path);
    if (!match.ok) {
      return match.status === 405
        ? problem(405, "method_not_allowed", `${req.method} is not allowed on ${path}`, {
          allow: match.allow.join(", "),
        })
        : problem(404, "not_found", "No such route");
    }
    const { route, params } = match;
    if (route.auth === "hmac") return await handleGitHook(req, hookDeps);
    const check = await tokens.check(bearer(req));
    if (!check.ok) {
      return problem(
        401,
        "unauthorized",
        check.reason === "missing"
          ? "A bearer token is required (Authorization: Bearer <token>)"
          : "The token is not valid (unknown or revoked)",
        { "www-authenticate": 'Bearer realm="swiftdeploy"' },
      );
    }
    note.token = check.name;
    if (!scopeAllows(check.scope, route.auth)) {
      return problem(
        403,
        "forbidden",
        `Token "${check.name}" has scope "${check.scope}"; this route needs "${route.auth}"`,
      );
    }
    if (route.change) {
      const body = await readJsonBody(req);
      if (!body.ok) return body.response;
      const argv = changeArgv(route.name, params, body.value);
      if (!argv.ok) {
        return argv.message.startsWith("Unknown rollout action")
          ? problem(404, "not_found", argv.message)
          : problem(400, "bad_request", argv.message);
      }
      if (argv.kind === "rollback" && argv.argv[1] !== undefined) {
        const n = Number(argv.argv[1]);
        if (!(await readRelease(opts.stateDir, n).catch(() => undefined))) {
          return problem(404, "not_found", `No release ${n} (GET /v1/releases lists them)`);
        }
      }
      const refused = await busy(argv.kind);
      if (refused) return refused;
      const doc = ops.start(argv.kind, argv.argv, `token:${check.name}`);
      note.operation = doc.id;
      return json(202, summary(doc), { location: `/v1/operations/${doc.id}` });
    }
    switch (route.name) {
      case "status": {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const doc = await Promise.race([
          hub.status(),
          new Promise((r) => {
            timer = setTimeout(() => r(undefined), FIRST_STATUS_WAIT_MS);
          }),
        ]);
        clearTimeout(timer);
        return doc === undefined
          ? problem(
            503,
            "unavailable",
            "No status document yet (the status run fails; see the server's log)",
          )
          : json(200, doc, { "cache-control": "no-store" });
      }
      case "history":
        return await historyPage(opts.historyFile, url.searchParams);
      case "events": {
        const after = resumeLine(
          req.headers.get("last-event-id") ?? url.searchParams.get("last_event_id"),
        );
        const body = await hub.subscribe(after);
        return new Response(body, { headers: sseHeaders });
      }
      case "operations": {
        const limit = Math.min(Math.max(Number(url.searchParams.get("limit") ?? 50) || 50, 1), 500);
        return json(200, { operations: await ops.list(limit) });
      }
      case "operation":
      case "operation_events": {
        const doc = await ops.get(params.id!);
        if (!doc) return problem(404, "not_found", `No operation "${params.id}"`);
        note.operation = doc.id;
        const wantsStream = route.name === "operation_events" ||
          (req.headers.get("accept") ?? "").includes("text/event-stream");
        if (!wantsStream) return json(200, doc);
        const last = req.headers.get("last-event-id");
        const after = last !== null && /^\d{1,9}$/.test(last.trim()) ? Number(last) : undefined;
        return new Response(ops.follow(doc, after), { headers: sseHeaders });
      }
      case "releases":
        return json(200, { releases: await listReleases(opts.stateDir) });
      case "release": {
        const n = /^[1-9][0-9]{0,8}$/.test(params.id!) ? Number(params.id) : undefined;
        const record = n === undefined ? undefined : await readRelease(opts.stateDir, n);
        if (n === undefined || !record) {
          return problem(404, "not_found", `No release "${params.id}"`);
        }
        return json(200, await releaseEvidence(opts.stateDir, n, record));
      }
      default:
        return problem(404, "not_found", "No such route");
    }
  };

  const serveAndLog = (listener: "unix" | "http") => async (req: Request): Promise<Response> => {
    const started = performance.now();
    const note: { token?: string; operation?: string } = {};
    let res: Response;
    try {
      res = await handle(req, listener, note);
    } catch (error) {
      res = problem(
        500,
        "internal",
        error instanceof Error ? error.message.split("\n")[0]! : "error",
      );
    }
    let path = "";
    try {
      path = new URL(req.url).pathname.slice(0, 256);
    } catch { /* unparsable: logged empty */ }
    opts.log(JSON.stringify({
      ts: new Date().toISOString(),
      listener,
      method: req.method.slice(0, 16),
      path,
      status: res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      token: note.token ?? null,
      ...(note.operation ? { operation: note.operation } : {}),
    }));
    return res;
  };

  await hub.start();

  // Bind the socket in a private 0700 folder, make it 0600, then rename it
  // into place: it is never reachable with looser permissions.
  const privateDir = join(opts.stateDir, `.serve-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.mkdir(privateDir, { mode: 0o700 });
  await Deno.chmod(privateDir, 0o700);
  await Deno.remove(socketPath).catch(() => {}); // a socket left by a killed server (we hold serve.lock)
  const bound = join(privateDir, "s");
  const servers: Deno.HttpServer[] = [];
  try {
    servers.push(
      Deno.serve({ transport: "unix", path: bound, onListen() {} }, serveAndLog("unix")),
    );
    await Deno.chmod(bound, 0o600);
    await Deno.rename(bound, socketPath);
  } finally {
    await Deno.remove(privateDir, { recursive: true }).catch(() => {});
  }
  let httpPort: number | undefined;
  if (opts.http) {
    try {
      const http = Deno.serve(
        { hostname: opts.http.hostname, port: opts.http.port, onListen() {} },
        serveAndLog("http"),
      );
      servers.push(http);
      httpPort = (http.addr as Deno.NetAddr).port;
    } catch (error) {
      for (const s of servers) await s.shutdown();
      await Deno.remove(socketPath).catch(() => {});
      serveLock.close();
      await hub.stop();
      throw new SwiftDeployError(
        "SERVE_FAILED",
        `Cannot listen on http://${opts.http.hostname}:${opts.http.port}: ${
          (error as Error).message
        }`,
        { hint: "choose another port", cause: error },
      );
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    socketPath,
    httpPort,
    stop: () => {
      stopped ??= (async () => {
        stopping = true;
        await ops.drain(opts.stopGraceSeconds * 1000);
        await hub.stop();
        await Promise.all(servers.map((s) => s.shutdown()));
        await Deno.remove(socketPath).catch(() => {});
        serveLock.close();
      })();
      return stopped;
    },
  };
}

const sseHeaders = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  "x-accel-buffering": "no",
};

/**
 * `GET /v1/history`: `cursor` (the last line already seen, default 0) and
 * `limit` (1–1000, default 100) page forward; `tail=N` gives the last N
 * events. `next_cursor` is null at the end.
 */
async function historyPage(file: string, q: URLSearchParams): Promise<Response> {
  const num = (name: string, dflt: number, min: number, max: number): number | string => {
    const raw = q.get(name);
    if (raw === null) return dflt;
    if (!/^\d{1,9}$/.test(raw)) return `"${name}" must be a whole number`;
    const n = Number(raw);
    if (n < min || n > max) return `"${name}" must be between ${min} and ${max}`;
    return n;
  };
  const cursor = num("cursor", 0, 0, 1e9);
  const limit = num("limit", 100, 1, 1000);
  const tail = num("tail", 0, 0, 1000);
  for (const v of [cursor, limit, tail]) {
    if (typeof v === "string") return problem(400, "bad_request", v);
  }
  const events: { line: number; record: unknown }[] = [];
  const malformed: number[] = [];
  let more = false;
  for await (const l of readHistoryLines(file)) {
    if (!l.ok) {
      if (l.line > (cursor as number)) malformed.push(l.line);
      continue;
    }
    if ((tail as number) > 0) {
      events.push({ line: l.line, record: l.event });
      if (events.length > (tail as number)) events.shift();
      continue;
    }
    if (l.line <= (cursor as number)) continue;
    if (events.length === limit) {
      more = true;
      break;
    }
    events.push({ line: l.line, record: l.event });
  }
  const last = events[events.length - 1];
  return json(200, {
    events,
    next_cursor: more && last ? last.line : null,
    malformed_lines: malformed.slice(0, 100),
  });
}

/**
 * `GET /v1/releases/{n}`: the record, its bundle's integrity (problems
 * found by re-hashing; empty when intact) and the evidence: gates, policy
 * decisions with their inputs, the executor's actions, the manifest as
 * applied and the rollback pointer.
 */
async function releaseEvidence(stateDir: string, n: number, record: ReleaseRecord) {
  const lines = (text: string | undefined) =>
    (text ?? "").split("\n").filter((l) => l.trim() !== "").map((l) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        return { unreadable: l.slice(0, 200) };
      }
    });
  const file = (name: string) => readBundleFile(stateDir, n, name);
  const problems = await verifyRelease(stateDir, record);
  return {
    release: record,
    integrity: { intact: problems.length === 0, problems },
    evidence: {
      gates: parseGatesTsv((await file(BUNDLE_FILES.gates)) ?? ""),
      decisions: lines(await file(BUNDLE_FILES.decisions)),
      actions: lines(await file(BUNDLE_FILES.actions)),
      manifest: (await file(BUNDLE_FILES.manifest)) ?? null,
      previous: ((await file(BUNDLE_FILES.previous)) ?? "").trim() || null,
      files: Object.keys(record.files ?? {}).sort(),
    },
  };
}

/** For tests and the command: an operation's document without its output. */
export function operationSummary(doc: OperationDoc): ReturnType<typeof summary> {
  return summary(doc);
}
