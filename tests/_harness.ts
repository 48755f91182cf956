/**
 * Helpers for the integration tests: a throwaway deployment folder with its
 * own project name and free ports, the real CLI run as a subprocess, and a
 * cleanup that removes everything the project owns even when a test failed.
 */
import { cliArgs as selfArgs } from "../cli/commands/self.ts";
import { join } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import { LABEL_PROJECT } from "../cli/plan/mod.ts";
import { freePort } from "./_free_port.ts";

export { freePort };

export const HOME = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment every CLI run of the tests gets. */
export const CLI_ENV: Readonly<Record<string, string>> = {
  NO_COLOR: "1",
  SWIFTDEPLOY_HOME: HOME,
  TZ: "UTC",
};

/** Arguments of `deno` that run the real CLI (`cli/main.ts`) with `args`. */
export function cliArgs(args: string[]): string[] {
  return selfArgs(HOME, args);
}

/** The CLI as a child process a test can signal or read as it goes. */
export function spawnCli(
  args: string[],
  opts: { env?: Record<string, string> } = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: cliArgs(args),
    cwd: HOME,
    env: { ...CLI_ENV, ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs the real CLI (`cli/main.ts`) with the installation at HOME. */
export async function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgs(args),
    cwd: opts.cwd ?? HOME,
    env: { ...CLI_ENV, ...opts.env },
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
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

export interface StackOptions {
  project?: string;
  nginxPort?: number;
  opaPort?: number;
  image?: string;
  mode?: "stable" | "canary";
  version?: string;
  windowSeconds?: number;
  minRequests?: number;
  minDiskFreeGb?: number;
  maxErrorRatePercent?: number;
}

export interface TestStack {
  dir: string;
  manifestPath: string;
  project: string;
  nginxPort: number;
  opaPort: number;
  url(path: string): string;
  /** Runs the CLI with `-f <this manifest>`. */
  run(args: string[], env?: Record<string, string>): Promise<RunResult>;
  cleanup(): Promise<void>;
}

export function manifestText(o: Required<StackOptions>): string {
  return `# integration test manifest
project: ${o.project}
services:
  image: ${o.image}
  port: 3000
  mode: ${o.mode}
  version: "${o.version}"
  restart_policy: unless-stopped
nginx:
  image: nginx:latest
  port: ${o.nginxPort}
  proxy_timeout: 30
  contact: ops@swiftdeploy.local
opa:
  image: openpolicyagent/opa:latest-static
  port: ${o.opaPort}
  decision_timeout_seconds: 2
network:
  name: ${o.project}-net
  driver_type: bridge
logs:
  volume_name: ${o.project}-logs
policy_limits:
  infrastructure:
    min_disk_free_gb: ${o.minDiskFreeGb}
    max_cpu_load: 1000
    min_mem_free_percent: 1
  canary:
    max_error_rate_percent: ${o.maxErrorRatePercent}
    max_p99_latency_ms: 500
    window_seconds: ${o.windowSeconds}
    min_requests: ${o.minRequests}
audit:
  history_file: history.jsonl
  report_file: audit_report.md
`;
}

export async function makeStack(opts: StackOptions = {}): Promise<TestStack> {
  const project = opts.project ?? `t${crypto.randomUUID().slice(0, 8)}`;
  const full: Required<StackOptions> = {
    project,
    nginxPort: opts.nginxPort ?? freePort(),
    opaPort: opts.opaPort ?? freePort(),
    image: opts.image ?? "swift-deploy-1-node:latest",
    mode: opts.mode ?? "stable",
    version: opts.version ?? "1.0.0",
    windowSeconds: opts.windowSeconds ?? 4,
    minRequests: opts.minRequests ?? 5,
    minDiskFreeGb: opts.minDiskFreeGb ?? 0.1,
    maxErrorRatePercent: opts.maxErrorRatePercent ?? 1,
  };
  const dir = await Deno.makeTempDir({ prefix: `swiftdeploy-${project}-` });
  const manifestPath = join(dir, "manifest.yaml");
  await Deno.writeTextFile(manifestPath, manifestText(full));
  return {
    dir,
    manifestPath,
    project,
    nginxPort: full.nginxPort,
    opaPort: full.opaPort,
    url: (path) => `http://127.0.0.1:${full.nginxPort}${path}`,
    run: (args, env) => runCli(["-f", manifestPath, ...args], env ? { env } : {}),
    cleanup: async () => {
      await removeProject(project);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Removes every container, network and volume labelled with the project, straight through the engine. */
export async function removeProject(project: string): Promise<void> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    const label = [`${LABEL_PROJECT}=${project}`];
    for (const c of await engine.containerList(label)) {
      await engine.containerRemove(c.Id, { force: true });
    }
    for (const n of await engine.networkList(label)) await engine.networkRemove(n.Id);
    for (const v of await engine.volumeList(label)) await engine.volumeRemove(v.Name);
  } finally {
    engine.close();
  }
}

/** Containers of a project: name → state. */
export async function projectContainers(project: string): Promise<Map<string, string>> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    const list = await engine.containerList([`${LABEL_PROJECT}=${project}`]);
    return new Map(list.map((c) => [(c.Names[0] ?? "").slice(1), c.State]));
  } finally {
    engine.close();
  }
}

export async function getJson(
  url: string,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, body, headers: res.headers };
}

/**
 * One GET as a plain keep-alive client sends it (one pooled connection per
 * worker, as Python's http.client does), never sent again. A request lost at
 * the connection level, with no answer, is `{ lost }` with the error text:
 * callers count it as what it is, a request the user did not get answered.
 * (nginx's graceful reload closes idle kept-alive connections; a request
 * written at that instant is lost. Switching without reloads is issue 13.)
 * A timeout is thrown.
 */
export async function getOnce(
  url: string,
  timeoutMs = 10_000,
): Promise<{ res: Response; body: string } | { lost: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { res, body: await res.text() };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return { lost: error.message };
  }
}

/** Sends `count` GET requests, `concurrency` at a time; returns status counts (0 = failed). */
export async function load(
  url: string,
  count: number,
  concurrency = 8,
): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next++;
      let status = 0;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        await res.body?.cancel();
        status = res.status;
      } catch { /* counted as 0 */ }
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
  }));
  return counts;
}

/** Runs `fn` on a fresh stack and removes everything of it afterwards, even when `fn` fails. */
export async function withStack<T>(
  opts: StackOptions,
  fn: (stack: TestStack) => Promise<T>,
): Promise<T> {
  const stack = await makeStack(opts);
  try {
    return await fn(stack);
  } finally {
    await stack.cleanup();
  }
}
