/**
 * `swiftdeploy serve [--http 127.0.0.1:PORT]`: the admin API of this
 * manifest's deployment (see cli/serve/mod.ts and docs/api.md) until
 * SIGTERM or SIGINT, which stop it gracefully.
 */
import { isAbsolute, resolve } from "node:path";
import type { Context } from "./context.ts";
import { loadManifest } from "../manifest/mod.ts";
import { parseListenAddress, startServer } from "../serve/mod.ts";
import { cliArgs } from "./self.ts";

export interface ServeCommandOptions {
  http?: string;
  statusInterval: number;
  stopGrace: number;
}

/** Runs the server; resolves with 0 once a signal has stopped it. */
export async function runServe(ctx: Context, opts: ServeCommandOptions): Promise<number> {
  const http = opts.http === undefined ? undefined : parseListenAddress(opts.http);
  const loaded = await loadManifest(ctx.manifestPath);
  const historyFile = isAbsolute(loaded.manifest.audit.history_file)
    ? loaded.manifest.audit.history_file
    : resolve(loaded.dir, loaded.manifest.audit.history_file);
  const env = Deno.env.toObject();
  const encoder = new TextEncoder();
  const server = await startServer({
    manifestPath: ctx.manifestPath,
    stateDir: ctx.stateDir,
    historyFile,
    ...(http ? { http } : {}),
    statusIntervalSeconds: opts.statusInterval,
    stopGraceSeconds: opts.stopGrace,
    spawnCli: (argv, extra) =>
      new Deno.Command(Deno.execPath(), {
        args: cliArgs(ctx.home, [
          "-f",
          ctx.manifestPath,
          "--policy-engine",
          ctx.policyEngine,
          ...argv,
        ]),
        cwd: ctx.dir,
        env: { ...env, SWIFTDEPLOY_HOME: ctx.home, ...extra },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn(),
    log: (line) => {
      try {
        Deno.stderr.writeSync(encoder.encode(line + "\n"));
      } catch { /* no reader for the log (closed stderr): requests are still served */ }
    },
  });
  const where = [
    `unix:${server.socketPath}`,
    ...(server.httpPort !== undefined && http
      ? [
        `http://${
          http.hostname.includes(":") ? `[${http.hostname}]` : http.hostname
        }:${server.httpPort}`,
      ]
      : []),
  ];
  ctx.term.out(
    `serving ${ctx.manifestArg} on ${where.join(" and ")} (stop with SIGTERM or Ctrl+C)`,
  );
  const { promise: signalled, resolve: onSignal } = Promise.withResolvers<Deno.Signal>();
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  const listeners = signals.map((s) => {
    const l = () => onSignal(s);
    Deno.addSignalListener(s, l);
    return [s, l] as const;
  });
  const signal = await signalled;
  ctx.term.err(`${signal}: stopping (running operations finish first, up to ${opts.stopGrace} s)`);
  await server.stop();
  for (const [s, l] of listeners) Deno.removeSignalListener(s, l);
  ctx.term.out("stopped");
  return 0;
}
