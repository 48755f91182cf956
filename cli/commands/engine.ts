/** `swiftdeploy engine start|status|stop`. */
import type { Context } from "./context.ts";
import {
  daemonPaths,
  engineStart,
  type EngineStatus,
  engineStatus,
  engineStop,
} from "../engine/mod.ts";
import { ExitCode } from "../errors/mod.ts";

/** The lines `engine status` prints for an engine that answers but cannot be used. */
function unusableLines(status: EngineStatus): string[] {
  return [
    `endpoint:  ${status.endpoint}`,
    `version:   ${status.version ?? "unknown"}${
      status.engineApiRange ? ` (API ${status.engineApiRange})` : ""
    }`,
    `usable:    no: ${status.problem}`,
  ];
}

export async function runEngineStart(ctx: Context): Promise<number> {
  const paths = daemonPaths(ctx.home, ctx.env.dockerHost);
  const t0 = performance.now();
  const { started, status } = await engineStart(
    paths,
    ctx.env,
    (l) => ctx.term.err(ctx.term.dim(l)),
  );
  if (status.usable === false) {
    ctx.term.out(
      "A Docker Engine already answers, but SwiftDeploy cannot use it; not starting another",
    );
    for (const line of unusableLines(status)) ctx.term.out(line);
    return ExitCode.engineIncompatible;
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  ctx.term.out(
    started
      ? `Docker Engine ${status.version} ready at ${status.endpoint} (started in ${secs} s, pid ${
        status.ownPid ?? "?"
      })`
      : `Docker Engine ${status.version} already answering at ${status.endpoint}; not starting another`,
  );
  return 0;
}

export async function runEngineStatus(ctx: Context, json: boolean): Promise<number> {
  const paths = daemonPaths(ctx.home, ctx.env.dockerHost);
  const status = await engineStatus(paths, ctx.env);
  if (json) {
    ctx.term.out(JSON.stringify(status));
  } else if (status.reachable && status.usable === false) {
    ctx.term.out(`reachable: yes`);
    for (const line of unusableLines(status)) ctx.term.out(line);
    ctx.term.out(`started by this project: ${status.ownPid ? `yes (pid ${status.ownPid})` : "no"}`);
  } else if (status.reachable) {
    ctx.term.out(`reachable: yes`);
    ctx.term.out(`endpoint:  ${status.endpoint}`);
    ctx.term.out(`version:   ${status.version} (API ${status.apiVersion})`);
    ctx.term.out(`data root: ${status.dataRoot}`);
    ctx.term.out(`started by this project: ${status.ownPid ? `yes (pid ${status.ownPid})` : "no"}`);
  } else {
    ctx.term.out("reachable: no");
    ctx.term.out("hint: run `./swiftdeploy engine start`, or set DOCKER_HOST");
  }
  if (status.usable === false) return ExitCode.engineIncompatible;
  return status.reachable ? ExitCode.ok : ExitCode.failure;
}

export async function runEngineStop(ctx: Context): Promise<number> {
  const paths = daemonPaths(ctx.home, ctx.env.dockerHost);
  const res = await engineStop(paths, (l) => ctx.term.err(ctx.term.dim(l)));
  ctx.term.out(
    res.stopped
      ? `Docker Engine stopped${res.reason ? ` (${res.reason})` : ""}`
      : `Nothing to stop: ${res.reason}`,
  );
  return 0;
}
