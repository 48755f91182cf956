/**
 * `deno task bench`: the micro-benchmarks (`deno bench` on every
 * `*_bench.ts` of the repository), then one wrk load test side by side on
 * this machine: the service through nginx of a freshly deployed stack
 * against a bare nginx container answering `return 200`, reported as req/s,
 * P99 and the ratio service/nginx. Everything it starts is removed at the end.
 *
 *   deno task bench [-- --duration 10s]
 */
import { join, relative } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import { LABEL_PROJECT } from "../cli/plan/mod.ts";
import { freePort, HOME, makeStack, type TestStack } from "./_harness.ts";

const duration = (() => {
  const i = Deno.args.indexOf("--duration");
  return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1]! : "10s";
})();
const WRK_ARGS = ["-t2", "-c32", `-d${duration}`, "--latency"];
const NGINX_IMAGE = "nginx:latest";

/** Every `*_bench.ts` under cli/, service/ and tests/, sorted. */
async function benchFiles(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory && e.name !== "node_modules" && !e.name.startsWith(".")) await walk(p);
      else if (e.isFile && e.name.endsWith("_bench.ts")) found.push(relative(HOME, p));
    }
  };
  for (const dir of ["cli", "service", "tests"]) await walk(join(HOME, dir));
  return found.sort();
}

async function denoBench(files: string[]): Promise<number> {
  console.log(`== deno bench ${files.join(" ")}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "-A", "--config", join(HOME, "deno.json"), ...files],
    cwd: HOME,
    env: { NO_COLOR: "1", TZ: "UTC", SWIFTDEPLOY_HOME: HOME },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return code;
}

export interface WrkResult {
  requestsPerSecond: number;
  p99Ms: number;
  p50Ms: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  switch (unit) {
    case "us":
      return n / 1000;
    case "ms":
      return n;
    case "s":
      return n * 1000;
    case "m":
      return n * 60_000;
    default:
      throw new Error(`Unknown wrk latency unit "${unit}"`);
  }
}

/** Reads the figures out of `wrk --latency` output. */
export function parseWrk(text: string): WrkResult {
  const rps = text.match(/^Requests\/sec:\s+([\d.]+)/m);
  const p99 = text.match(/^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m);
  const p50 = text.match(/^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m);
  const total = text.match(/^\s+(\d+) requests in /m);
  if (!rps || !p99 || !p50 || !total) throw new Error(`Cannot read wrk output:\n${text}`);
  const non2xx = Number(text.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
  const errors = text.match(
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/,
  );
  const socketErrors = errors ? errors.slice(1).reduce((s, v) => s + Number(v), 0) : 0;
  return {
    requestsPerSecond: Number(rps[1]),
    p99Ms: toMs(p99[1]!, p99[2]!),
    p50Ms: toMs(p50[1]!, p50[2]!),
    requests: Number(total[1]),
    non2xx,
    socketErrors,
  };
}

async function wrk(url: string, args = WRK_ARGS): Promise<WrkResult> {
  const out = await new Deno.Command("wrk", {
    args: [...args, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`wrk ${url} failed: ${new TextDecoder().decode(out.stderr)}${text}`);
  }
  return parseWrk(text);
}

async function waitFor(url: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 within ${ms} ms`);
}

/**
 * A bare nginx:latest with its default conf (`return 200` on 8080), on
 * 127.0.0.1:`port`, labelled with the stack's project so the stack's
 * cleanup removes it too.
 */
async function startBareNginx(engine: EngineClient, project: string, port: number) {
  const res = await engine.request("POST", "/containers/create", {
    query: { name: `${project}-bench-nginx` },
    json: {
      Image: NGINX_IMAGE,
      Labels: { [LABEL_PROJECT]: project },
      ExposedPorts: { "8080/tcp": {} },
      HostConfig: { PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: `${port}` }] } },
    },
  });
  const { Id } = (await res.json()) as { Id: string };
  await engine.containerStart(Id);
  return Id;
}

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

async function loadTest(): Promise<number> {
  console.log(`\n== wrk ${WRK_ARGS.join(" ")}: service through nginx vs nginx return 200`);
  let stack: TestStack | undefined;
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    stack = await makeStack();
    console.log(`deploying ${stack.project} (nginx on 127.0.0.1:${stack.nginxPort})`);
    const deploy = await stack.run(["deploy"]);
    if (deploy.code !== 0) {
      console.error(`error: Cannot deploy the bench stack (exit ${deploy.code}):`);
      console.error(deploy.stdout + deploy.stderr);
      return 1;
    }
    const barePort = freePort();
    await startBareNginx(engine, stack.project, barePort);
    const serviceUrl = stack.url("/");
    const bareUrl = `http://127.0.0.1:${barePort}/`;
    await waitFor(serviceUrl);
    await waitFor(bareUrl);

    // A short warm-up of each, then the measured runs.
    await wrk(serviceUrl, ["-t2", "-c32", "-d2s"]).catch(() => undefined);
    await wrk(bareUrl, ["-t2", "-c32", "-d2s"]).catch(() => undefined);
    const service = await wrk(serviceUrl);
    const bare = await wrk(bareUrl);

    const rows: [string, WrkResult][] = [
      ["service via nginx (GET /)", service],
      ["nginx return 200", bare],
    ];
    console.log("");
    console.log(
      `${"target".padEnd(28)}${"req/s".padStart(12)}${"P50 ms".padStart(10)}${
        "P99 ms".padStart(10)
      }${"requests".padStart(11)}${"non-2xx".padStart(9)}${"sock err".padStart(10)}`,
    );
    for (const [name, r] of rows) {
      console.log(
        `${name.padEnd(28)}${fmt(r.requestsPerSecond).padStart(12)}${fmt(r.p50Ms).padStart(10)}${
          fmt(r.p99Ms).padStart(10)
        }${String(r.requests).padStart(11)}${String(r.non2xx).padStart(9)}${
          String(r.socketErrors).padStart(10)
        }`,
      );
    }
    console.log("");
    console.log(
      `ratio service/nginx: req/s ${fmt(service.requestsPerSecond / bare.requestsPerSecond, 3)}, ` +
        `P99 ${fmt(service.p99Ms / bare.p99Ms, 2)}x`,
    );
    const bad = service.non2xx + service.socketErrors + bare.non2xx + bare.socketErrors;
    if (bad > 0) {
      console.error(`error: ${bad} request(s) failed or were not 2xx during the load test`);
      return 1;
    }
    return 0;
  } finally {
    engine.close();
    if (stack) {
      await stack.cleanup();
      console.log(`removed ${stack.project} and the bare nginx`);
    }
  }
}

if (import.meta.main) {
  const files = await benchFiles();
  const benchCode = await denoBench(files);
  let loadCode = 1;
  try {
    loadCode = await loadTest();
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (benchCode !== 0) console.error(`error: deno bench exited ${benchCode}`);
  Deno.exit(benchCode === 0 && loadCode === 0 ? 0 : 1);
}
