/**
 * The service process: the only place that listens, handles signals and
 * exits. Everything it serves comes from `createHandler` (handler.ts).
 *
 *   deno run --allow-net --allow-env service/main.ts                serve
 *   deno run --allow-net --allow-env service/main.ts --healthcheck  check a running one
 *
 * Exit codes: 0 clean shutdown (or healthy); 1 shutdown timed out, cannot
 * listen, or unhealthy; 2 invalid environment (one line on stderr naming the
 * variable). `HEALTHCHECK=1` also selects the healthcheck: set it on the
 * check's command only, never on the service's own environment.
 */

import { ConfigError, parseConfig, type ServiceConfig } from "./config.ts";
import { createHandler } from "./handler.ts";
import { checkHealth } from "./healthcheck.ts";

const SIGNALS = ["SIGTERM", "SIGINT"] as const;
type ShutdownSignal = (typeof SIGNALS)[number];

function log(message: string): void {
  console.log(`${new Date().toISOString()} ${message}`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

async function healthcheck(): Promise<number> {
  let config: ServiceConfig;
  try {
    config = parseConfig((name) => Deno.env.get(name));
  } catch (error) {
    // Docker reserves exit code 2 for healthchecks: an unusable config is "unhealthy".
    if (error instanceof ConfigError) {
      console.log(`Unhealthy: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const result = await checkHealth(config.port);
  console.log(result.detail);
  return result.healthy ? 0 : 1;
}

function serve(config: ServiceConfig): Promise<number> {
  // Docker sets HOSTNAME to the container's short id.
  const instance = Deno.env.get("HOSTNAME");
  const handler = createHandler({ ...config, ...(instance ? { instance } : {}) }, {
    onError: (error) => console.error(`Request failed: ${(error as Error)?.stack ?? error}`),
  });
  let inFlight = 0;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: "0.0.0.0",
      port: config.port,
      onListen: ({ port }) =>
        log(
          `Started SwiftDeploy API: mode ${JSON.stringify(config.mode)}, version ${
            JSON.stringify(config.version)
          }, port ${port}`,
        ),
    }, async (req) => {
      inFlight++;
      try {
        return await handler(req);
      } finally {
        inFlight--;
      }
    });
  } catch (error) {
    console.error(`Cannot listen on port ${config.port}: ${(error as Error).message}`);
    return Promise.resolve(1);
  }

  return new Promise<number>((resolve) => {
    let started: number | undefined;
    const onSignal = (signal: ShutdownSignal) => {
      if (started !== undefined) {
        log(`Received ${signal} again: exiting with ${plural(inFlight, "request")} in flight`);
        resolve(1);
        return;
      }
      started = performance.now();
      const bound = config.shutdownTimeoutSeconds;
      // shutdown() closes the listener (within milliseconds: it is an async op),
      // then waits for in-flight requests.
      const drained = server.shutdown();
      log(
        `Shutting down on ${signal}: closing the listener, waiting up to ${bound}s for ${
          plural(inFlight, "in-flight request")
        }`,
      );
      const timer = setTimeout(() => {
        if (inFlight === 0) {
          log(`Shutdown complete: no request in flight after ${bound}s`);
          resolve(0);
          return;
        }
        log(`Shutdown timed out: ${plural(inFlight, "request")} still in flight after ${bound}s`);
        resolve(1);
      }, bound * 1000);
      drained.then(() => {
        clearTimeout(timer);
        const seconds = ((performance.now() - (started ?? 0)) / 1000).toFixed(2);
        log(`Shutdown complete: in-flight requests finished in ${seconds}s`);
        resolve(0);
      });
    };
    for (const signal of SIGNALS) Deno.addSignalListener(signal, () => onSignal(signal));
  });
}

export async function main(args: readonly string[]): Promise<number> {
  if (args.includes("--healthcheck") || Deno.env.get("HEALTHCHECK") === "1") {
    return await healthcheck();
  }
  let config: ServiceConfig;
  try {
    config = parseConfig((name) => Deno.env.get(name));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return error.exitCode;
    }
    throw error;
  }
  return await serve(config);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
