/**
 * The HTTP service as a handler factory: `createHandler(config, deps)` gives
 * `(req: Request) => Promise<Response>`. No listening, no signals, no exits
 * here (that is `main.ts`), so tests call the handler with a `Request`.
 *
 * Routes (JSON bodies, `Content-Type: application/json`):
 *   GET  /         welcome (the only application path: chaos applies here)
 *   GET  /healthz  liveness with uptime
 *   GET  /metrics  Prometheus text
 *   POST /chaos    set chaos (canary only, 403 in stable)
 * HEAD is answered like GET without a body. A known path with another method
 * is a 405 with an `Allow` header; anything else is a 404.
 *
 * Every request is counted in the metrics, whatever its status. A `/metrics`
 * request is recorded after its text is rendered, so a scrape shows every
 * earlier request but not itself.
 */

import {
  allocateWithoutBound,
  Chaos,
  chaosActiveCode,
  ChaosCommandError,
  type ChaosState,
  isAllocateCommand,
  parseChaosCommand,
  timerSleep,
} from "./chaos.ts";
import type { ServiceConfig } from "./config.ts";
import { createMetrics } from "./metrics.ts";
import { notFoundBody } from "./not_found.ts";

export type Handler = (req: Request) => Promise<Response>;

/**
 * What the handler needs from the configuration. `instance` (the container's
 * host name, i.e. its short id) is reported by /healthz so that promote can
 * confirm which container nginx is sending traffic to.
 */
export type HandlerConfig = Pick<ServiceConfig, "mode" | "version"> & {
  instance?: string;
  /**
   * Test-only (issue 17): `POST /chaos {"mode":"allocate"}` allocates memory
   * until the process is killed. main.ts sets it only when ALLOCATE_CHAOS_ENV
   * is "1"; otherwise that body is an unknown mode (400).
   */
  allocateChaos?: boolean;
};

/** Everything the handler reads from the outside world, injectable for tests. */
export interface HandlerDeps {
  /** Uniform in [0, 1), drives error chaos (default `Math.random`). */
  random?: () => number;
  /** Monotonic milliseconds, for durations and uptime (default `performance.now`). */
  now?: () => number;
  /** Wall clock, for the `timestamp` of `GET /` (default `new Date()`). */
  date?: () => Date;
  /** Asynchronous sleep used by slow chaos (default a timer). */
  sleep?: (ms: number) => Promise<void>;
  /** Told about unexpected errors answered with a 500 (default `console.error`). */
  onError?: (error: unknown) => void;
}

/** Largest `POST /chaos` body read; a larger one is a 413. */
export const MAX_CHAOS_BODY_BYTES = 16 * 1024;

const GET_METHODS = ["GET", "HEAD"] as const;
const ROUTES: Readonly<Record<string, readonly string[]>> = {
  "/": GET_METHODS,
  "/healthz": GET_METHODS,
  "/metrics": GET_METHODS,
  "/chaos": ["POST"],
};

export function createHandler(config: HandlerConfig, deps: HandlerDeps = {}): Handler {
  const now = deps.now ?? (() => performance.now());
  const date = deps.date ?? (() => new Date());
  const onError = deps.onError ?? ((error: unknown) => console.error(error));
  const startedAt = now();
  const uptimeSeconds = () => Math.max(0, now() - startedAt) / 1000;

  const chaos = new Chaos({ random: deps.random ?? Math.random, sleep: deps.sleep ?? timerSleep });
  const metrics = createMetrics({
    mode: config.mode,
    uptimeSeconds,
    chaosActive: () => chaosActiveCode(chaos.state),
  });
  const identity = { mode: config.mode, version: config.version };
  /** What the test-only allocate chaos holds on to. */
  const hoard: Uint8Array[] = [];

  async function route(req: Request, pathname: string): Promise<Response> {
    const allowed = ROUTES[pathname];
    if (allowed === undefined) {
      return new Response(notFoundBody(pathname), {
        status: 404,
        headers: { "Content-Type": "application/json" },
      });
    }
    if (!allowed.includes(req.method)) {
      return json(
        405,
        {
          error: `Method not allowed: ${JSON.stringify(pathname)} accepts ${allowed.join(", ")}`,
        },
        { Allow: allowed.join(", ") },
      );
    }
    switch (pathname) {
      case "/":
        if (await chaos.apply() === "fail") {
          return json(500, { error: "chaos: injected error", ...identity });
        }
        return json(200, {
          message: "Welcome to SwiftDeploy API",
          ...identity,
          timestamp: isoSeconds(date()),
        });
      case "/healthz":
        return json(200, {
          status: "ok",
          ...identity,
          uptime_seconds: Math.round(uptimeSeconds() * 100) / 100,
          ...(config.instance ? { instance: config.instance } : {}),
        });
      case "/metrics":
        return new Response(await metrics.render(), {
          status: 200,
          headers: { "Content-Type": metrics.contentType },
        });
      default:
        return await setChaos(req);
    }
  }

  async function setChaos(req: Request): Promise<Response> {
    if (config.mode !== "canary") {
      return json(403, {
        error: `Chaos endpoint only available in canary mode: this instance runs in ${
          JSON.stringify(config.mode)
        } mode`,
      });
    }
    const text = await readBoundedText(req, MAX_CHAOS_BODY_BYTES);
    if (text === undefined) {
      return json(413, {
        error: `Invalid chaos command: body is larger than ${MAX_CHAOS_BODY_BYTES} bytes`,
      });
    }
    let state: ChaosState;
    try {
      const body = parseJson(text);
      if (config.allocateChaos === true && isAllocateCommand(body)) {
        allocateWithoutBound((b) => hoard.push(b)).catch(onError);
        return json(202, { chaos: { mode: "allocate" } });
      }
      state = parseChaosCommand(body);
    } catch (error) {
      if (error instanceof ChaosCommandError) return json(400, { error: error.message });
      throw error;
    }
    chaos.set(state);
    return json(200, { chaos: state });
  }

  return async function handle(req: Request): Promise<Response> {
    const start = now();
    const pathname = new URL(req.url).pathname;
    let response: Response;
    try {
      response = await route(req, pathname);
    } catch (error) {
      onError(error);
      response = json(500, { error: "Internal server error: see the service log" });
    }
    if (req.method === "HEAD" && response.body !== null) {
      response = new Response(null, { status: response.status, headers: response.headers });
    }
    if (config.mode === "canary") response.headers.set("X-Mode", "canary");
    metrics.observe(req.method, pathname, response.status, (now() - start) / 1000);
    return response;
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, "Content-Type": "application/json" },
  });
}

/** ISO-8601 UTC to the second, e.g. `2026-11-21T23:59:00Z`. */
function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function parseJson(text: string): unknown {
  if (text.trim() === "") throw new ChaosCommandError("body must be a JSON object, got nothing");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ChaosCommandError(`body is not valid JSON: ${(error as Error).message}`);
  }
}

/** The body as text, or undefined when it is longer than `limit` bytes. */
async function readBoundedText(req: Request, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers.get("Content-Length") ?? "0");
  if (declared > limit) {
    await req.body?.cancel();
    return undefined;
  }
  if (req.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
