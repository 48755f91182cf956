/**
 * The service process: the only place that listens, handles signals and
 * exits. Everything it serves comes from `createHandler` (handler.ts).
 *
 *   deno run --allow-net --allow-env service/main.ts
 *
 * Exit codes: 0 clean shutdown; 1 shutdown timed out or cannot listen;
 * 2 invalid environment (one line on stderr naming the variable). The
 * container's healthcheck is busybox `wget` on `/healthz` (cli/image,
 * cli/plan): no second Deno runtime starts for it.
 */

import { ConfigError, parseConfig, type ServiceConfig } from "./config.ts";
import { createHandler } from "./handler.ts";
import { ALLOCATE_CHAOS_ENV } from "./chaos.ts";

const SIGNALS = ["SIGTERM", "SIGINT"] as const;
type ShutdownSignal = (typeof SIGNALS)[number];

function log(message: string): void {
  console.log(`${new Date().toISOString()} ${message}`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function serve(config: ServiceConfig): Promise<number> {
  // Docker sets HOSTNAME to the container's short id.
  const instance = Deno.env.get("HOSTNAME");
  // Test-only, off unless a test's image sets it (see ALLOCATE_CHAOS_ENV).
  const allocateChaos = Deno.env.get(ALLOCATE_CHAOS_ENV) === "1";
  const handler = createHandler({
    ...config,
    ...(instance ? { instance } : {}),
    ...(allocateChaos ? { allocateChaos } : {}),
  }, {
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

/** Runs the service until a signal stops it; returns the exit code. */
export async function main(): Promise<number> {
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
  Deno.exit(await main());
}
