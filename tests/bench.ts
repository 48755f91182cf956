/**
 * `deno task bench`: everything side by side in one run on this machine.
 *
 * 1. `deno bench` on every `*_bench.ts` (the policy bench prints the
 *    in-process decision medians, allowed and denied, and the cold load
 *    beside the real OPA sidecar container);
 * 2. start-up: whole-process medians, launcher included, of
 *    `./swiftdeploy --help`, `init` on a warm folder and `policy eval`,
 *    beside `opa eval -d policies -d policy_data.json` on the same input
 *    (rounds alternate the commands, so drift weighs on all alike); also
 *    `--help` without the launcher (the launcher's cost is the difference)
 *    and `policy eval` with its freshness stamp removed before each run
 *    (what rendering the policy data costs);
 * 3. throughput with wrk, on the host (no containers, as the issue measured):
 *    the app alone, the app through nginx with the generated nginx.conf, and
 *    a bare nginx `return 200` with the same access log; req/s and P99;
 * 4. routing (issue 13): two apps behind the generated nginx.conf with the
 *    Lua split at weight 10, beside the same conf with a plain weighted
 *    `upstream` (9:1) instead of the balancer, and the median time from a
 *    decision to a new weight in effect (cli/routing's applyRoutes, 50
 *    changes).
 *
 * Everything it starts is stopped and removed at the end.
 *
 *   deno task bench [-- --duration 10s] [--only startup|throughput|routing|deno]
 *   deno task bench -- --only throughput --nginx-variants   (where nginx spends its time)
 */
import { join, relative } from "node:path";
import { nginxTestCopy } from "../cli/render/mod.ts";
import type { StackPlan } from "../cli/plan/mod.ts";
import { applyRoutes, encodeRoutes, type RouteTarget } from "../cli/routing/mod.ts";
import { freePort, HOME } from "./_harness.ts";

const duration = (() => {
  const i = Deno.args.indexOf("--duration");
  return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1]! : "10s";
})();
const WRK_ARGS = ["-t2", "-c32", `-d${duration}`, "--latency"];
const only = (() => {
  const i = Deno.args.indexOf("--only");
  return i >= 0 ? Deno.args[i + 1] : undefined;
})();
const nginxVariants = Deno.args.includes("--nginx-variants");
const LAUNCHER = join(HOME, "swiftdeploy");
const MAIN = join(HOME, "cli", "main.ts");
const OPA = join(HOME, ".tools", "bin", "opa");

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

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

/** The median of `values` (the upper one of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Runs a command to completion with its output discarded; returns wall time in ms. */
async function timeProcess(cmd: string, args: string[], env: Record<string, string>) {
  const started = performance.now();
  const { code } = await new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  const ms = performance.now() - started;
  if (code !== 0 && code !== 3) throw new Error(`${cmd} ${args.join(" ")} exited with ${code}`);
  return ms;
}

/**
 * Whole-process start-up medians (ms), launcher included, in rounds that
 * alternate the commands; the first round only warms caches.
 */
async function startup(rounds = 15): Promise<number> {
  console.log(`\n== start-up: whole process, median of ${rounds} alternating rounds`);
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-bench-startup-" });
  try {
    const manifest = join(dir, "manifest.yaml");
    await Deno.copyFile(join(HOME, "manifest.yaml"), manifest);
    const input = join(dir, "input.json");
    await Deno.writeTextFile(
      input,
      JSON.stringify({
        current_mode: "canary",
        target_mode: "stable",
        error_rate_percent: 0.42,
        p99_latency_ms: 48.5,
        request_count: 250,
        window_seconds: 30,
      }),
    );
    const env = { ...Deno.env.toObject(), NO_COLOR: "1" };
    // Warm folder: the generated files exist and match.
    await timeProcess(LAUNCHER, ["-f", manifest, "init"], env);
    const policyData = await findFile(dir, "policy_data.json");
    const stamp = join(dir, ".swiftdeploy", "policy_data.stamp.json");
    const cases: {
      name: string;
      target?: number;
      cmd: string;
      args: string[];
      before?: () => Promise<void>;
    }[] = [
      { name: "./swiftdeploy --help", target: 100, cmd: LAUNCHER, args: ["--help"] },
      {
        name: "deno run cli/main.ts --help (no launcher)",
        cmd: Deno.execPath(),
        args: ["run", "-A", "--quiet", "--config", join(HOME, "deno.json"), MAIN, "--help"],
      },
      {
        name: "./swiftdeploy init (warm folder)",
        target: 150,
        cmd: LAUNCHER,
        args: ["-f", manifest, "init"],
      },
      {
        name: "./swiftdeploy policy eval canary",
        cmd: LAUNCHER,
        args: ["-f", manifest, "policy", "eval", "canary", "--input", input],
      },
      {
        name: "./swiftdeploy policy eval (no stamp, renders)",
        cmd: LAUNCHER,
        args: ["-f", manifest, "policy", "eval", "canary", "--input", input],
        before: () => Deno.remove(stamp).catch(() => {}),
      },
      {
        name: "opa eval (same input, compiles Rego)",
        cmd: OPA,
        args: [
          "eval",
          "-d",
          join(HOME, "policies"),
          "-d",
          policyData,
          "-i",
          input,
          "data.swiftdeploy.canary.decision",
        ],
      },
      {
        name: "build/bootstrap.sh --check (old launcher check)",
        cmd: join(HOME, "build", "bootstrap.sh"),
        args: ["--check"],
      },
    ];
    const times = cases.map(() => [] as number[]);
    for (let round = 0; round <= rounds; round++) {
      for (const [i, c] of cases.entries()) {
        await c.before?.();
        const ms = await timeProcess(c.cmd, c.args, env);
        if (round > 0) times[i]!.push(ms);
      }
    }
    const medians = times.map(median);
    for (const [i, c] of cases.entries()) {
      const verdict = c.target === undefined
        ? ""
        : medians[i]! <= c.target
        ? `  (target <= ${c.target} ms: met)`
        : `  (target <= ${c.target} ms: NOT met)`;
      console.log(`${c.name.padEnd(50)}${fmt(medians[i]!, 1).padStart(8)} ms${verdict}`);
    }
    const byName = (prefix: string) => medians[cases.findIndex((c) => c.name.startsWith(prefix))]!;
    const [evalMs, opaMs] = [byName("./swiftdeploy policy eval"), byName("opa eval")];
    console.log(
      `launcher's own cost: ${fmt(byName("./swiftdeploy --help") - byName("deno run"), 1)} ms`,
    );
    console.log(
      `policy eval / opa eval: ${fmt(evalMs / opaMs, 2)}x (target <= 1: ${
        evalMs <= opaMs ? "met" : "NOT met"
      })`,
    );
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function findFile(dir: string, name: string): Promise<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isFile && e.name === name) return p;
    if (e.isDirectory) {
      try {
        return await findFile(p, name);
      } catch { /* not below here */ }
    }
  }
  throw new Error(`No ${name} under ${dir}`);
}

/** A process this bench started, stopped at the end. */
interface Started {
  stop(): Promise<void>;
}

function startProcess(cmd: string, args: string[], env: Record<string, string> = {}): Started {
  const child = new Deno.Command(cmd, {
    args,
    env: { ...Deno.env.toObject(), ...env },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  return {
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

/** What the throughput test varies in the generated nginx.conf. */
export interface NginxVariant {
  name: string;
  /** Rewrites the host copy of the generated nginx.conf. */
  edit(conf: string): string;
}

const AS_GENERATED: NginxVariant = { name: "as generated", edit: (c) => c };

/** The experiments behind the recommendation in the report (--nginx-variants). */
export const NGINX_VARIANTS: NginxVariant[] = [
  AS_GENERATED,
  {
    name: "access_log buffer=64k flush=1s",
    edit: (c) => c.replace(/(access_log\s+\S+\s+swiftdeploy)\s*;/, "$1 buffer=64k flush=1s;"),
  },
  {
    name: "access_log off",
    edit: (c) => c.replace(/access_log\s+\S+\s+swiftdeploy\s*;/, "access_log off;"),
  },
  {
    name: "worker_processes 1",
    edit: (c) => c.replace(/worker_processes\s+auto;/, "worker_processes 1;"),
  },
  { name: "no upstream keepalive", edit: (c) => c.replace(/^\s*keepalive\s+\d+;\n/m, "") },
];

/**
 * The generated nginx.conf, made runnable on the host: listening on
 * 127.0.0.1:`port`, every written path inside `dir` (nginxTestCopy: the
 * routing table it loads at start is `<dir>/routes`, its admin socket
 * `<dir>/edge.sock`), the health server on a free port. nginx.conf names no
 * app: `hostRoutes` says where the app is.
 */
function hostNginxConf(generated: string, port: number, dir: string): string {
  return nginxTestCopy(generated, dir)
    .replace(/listen 8080;/, `listen 127.0.0.1:${port};`)
    .replace(/listen 127\.0\.0\.1:8099;/, `listen 127.0.0.1:${freePort()};`);
}

/** A host app as a routing target. */
function hostTarget(port: number, version: string): RouteTarget {
  return { address: `127.0.0.1:${port}`, version, container: `bench-${version}` };
}

/** The routing table text nginx loads at start: everything to the app at `appPort`. */
function hostRoutes(appPort: number): string {
  return encodeRoutes({ revision: 1, stable: hostTarget(appPort, "stable") }) + "\n";
}

/** A bare nginx answering `return 200` with the generated conf's workers and access log. */
function bareNginxConf(hostConf: string, port: number): string {
  const keep = (re: RegExp) => hostConf.match(re)?.[0] ?? "";
  return [
    keep(/^worker_processes[^;]*;/m),
    keep(/^pid[^;]*;/m),
    keep(/^error_log[^;]*;/m),
    "events { worker_connections 1024; }",
    "http {",
    "  server_tokens off;",
    "  default_type application/json;",
    `  ${keep(/log_format[^;]*;/)}`,
    `  ${keep(/access_log[^;]*;/)}`,
    `  server { listen 127.0.0.1:${port}; location / { return 200 '{"status":"ok"}'; } }`,
    "}",
  ].join("\n") + "\n";
}

async function startNginx(dir: string, conf: string, routes?: string): Promise<Started> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "nginx.conf"), conf);
  if (routes !== undefined) await Deno.writeTextFile(join(dir, "routes"), routes);
  const prefix = `${dir}/`;
  const test = await new Deno.Command("nginx", {
    args: ["-t", "-q", "-p", prefix, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")],
    stderr: "piped",
  }).output();
  if (!test.success) throw new Error(`nginx -t failed:\n${new TextDecoder().decode(test.stderr)}`);
  return startProcess("nginx", [
    "-p",
    prefix,
    "-c",
    join(dir, "nginx.conf"),
    "-e",
    join(dir, "error.log"),
    "-g",
    "daemon off;",
  ]);
}

function printRows(rows: [string, WrkResult][]): void {
  console.log(
    `${"target".padEnd(44)}${"req/s".padStart(11)}${"P50 ms".padStart(9)}${"P99 ms".padStart(9)}${
      "non-2xx".padStart(9)
    }${"sock err".padStart(10)}`,
  );
  for (const [name, r] of rows) {
    console.log(
      `${name.padEnd(44)}${fmt(r.requestsPerSecond, 0).padStart(11)}${fmt(r.p50Ms).padStart(9)}${
        fmt(r.p99Ms).padStart(9)
      }${String(r.non2xx).padStart(9)}${String(r.socketErrors).padStart(10)}`,
    );
  }
}

/**
 * The app alone, the app through nginx and a bare nginx, each measured with
 * wrk after a 2 s warm-up, on the host. With `variants`, the app through
 * nginx again under each NGINX_VARIANTS edit.
 */
async function throughput(variants: boolean): Promise<number> {
  console.log(`\n== throughput on the host: wrk ${WRK_ARGS.join(" ")}`);
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-bench-wrk-" });
  const started: Started[] = [];
  try {
    await Deno.copyFile(join(HOME, "manifest.yaml"), join(dir, "manifest.yaml"));
    const init = await new Deno.Command(LAUNCHER, {
      args: ["-f", join(dir, "manifest.yaml"), "init"],
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (!init.success) throw new Error("init failed");
    const generated = await Deno.readTextFile(await findFile(dir, "nginx.conf"));

    const appPort = freePort();
    started.push(startProcess(Deno.execPath(), [
      "run",
      "-A",
      "--quiet",
      "--config",
      join(HOME, "deno.json"),
      join(HOME, "service", "main.ts"),
    ], { APP_PORT: String(appPort), MODE: "stable", APP_VERSION: "bench" }));
    const appUrl = `http://127.0.0.1:${appPort}/`;
    await waitFor(appUrl);

    const measure = async (url: string) => {
      await wrk(url, ["-t2", "-c32", "-d2s"]).catch(() => undefined);
      return await wrk(url);
    };
    const proxied = async (variant: NginxVariant, name: string) => {
      const port = freePort();
      const nginx = await startNginx(
        join(dir, name),
        variant.edit(hostNginxConf(generated, port, join(dir, name))),
        hostRoutes(appPort),
      );
      try {
        await waitFor(`http://127.0.0.1:${port}/`);
        return await measure(`http://127.0.0.1:${port}/`);
      } finally {
        await nginx.stop();
      }
    };

    const rows: [string, WrkResult][] = [];
    rows.push(["app alone (deno, GET /)", await measure(appUrl)]);
    rows.push(["app through nginx (generated nginx.conf)", await proxied(AS_GENERATED, "proxy")]);
    const barePort = freePort();
    const bare = await startNginx(
      join(dir, "bare"),
      bareNginxConf(hostNginxConf(generated, barePort, join(dir, "bare")), barePort),
    );
    try {
      await waitFor(`http://127.0.0.1:${barePort}/`);
      rows.push([
        "nginx return 200 (same access log)",
        await measure(`http://127.0.0.1:${barePort}/`),
      ]);
    } finally {
      await bare.stop();
    }
    console.log("");
    printRows(rows);
    const [app, proxy, nginx] = rows.map(([, r]) => r.requestsPerSecond);
    console.log(
      `\nthrough nginx / app alone: ${fmt(proxy! / app!, 2)}; app alone / nginx alone: ${
        fmt(app! / nginx!, 2)
      }`,
    );
    if (variants) {
      console.log("\n== nginx variants (app through nginx)");
      const variantRows: [string, WrkResult][] = [];
      for (const [i, v] of NGINX_VARIANTS.entries()) {
        variantRows.push([v.name, await proxied(v, `variant-${i}`)]);
      }
      printRows(variantRows);
      rows.push(...variantRows);
    }
    const bad = rows.reduce((n, [, r]) => n + r.non2xx + r.socketErrors, 0);
    if (bad > 0) {
      console.error(`error: ${bad} request(s) failed or were not 2xx during the load test`);
      return 1;
    }
    return 0;
  } finally {
    for (const s of started.reverse()) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The generated conf with a plain weighted `upstream` to the two apps in
 * place of the Lua balancer, and no per-request choice: what nginx costs
 * without the split (the edge counters by class stay, as before issue 13).
 */
export function plainUpstreamConf(conf: string, stablePort: number, canaryPort: number): string {
  const plain = conf
    .replace(
      /upstream app_pool \{[\s\S]*?keepalive (\d+);\n\s*\}/,
      (_, keep) =>
        `upstream app_pool {\n        server 127.0.0.1:${stablePort} weight=9;\n        server 127.0.0.1:${canaryPort} weight=1;\n        keepalive ${keep};\n    }`,
    )
    .replace(/\n\s*access_by_lua_block \{[^}]*\}/, "");
  if (plain.includes("balancer_by_lua") || plain.includes("access_by_lua")) {
    throw new Error("Cannot make the plain-upstream conf: the template changed shape");
  }
  return plain;
}

/**
 * A stand-in StackPlan for applyRoutes against a host nginx: only the two
 * things it reads, the config folder (`<dir>/routes`) and the bind of the
 * admin folder (`<dir>/edge.sock`, where nginxTestCopy puts the socket).
 */
function hostPlan(dir: string): StackPlan {
  return {
    hostDirs: { nginxConfigDir: dir },
    containers: [{ role: "nginx", body: { HostConfig: { Binds: [`${dir}:/run/nginx-admin`] } } }],
  } as unknown as StackPlan;
}

/**
 * Two apps (stable, canary) on the host behind the generated nginx.conf
 * with the Lua split at weight 10, then behind the same conf with a plain
 * weighted upstream; wrk after a 2 s warm-up each, alternating twice so
 * drift weighs on both. Then 50 weight changes through applyRoutes (file
 * written, PUT, read back), median ms.
 */
async function routing(): Promise<number> {
  console.log(`\n== routing: Lua split vs plain upstream, wrk ${WRK_ARGS.join(" ")}`);
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-bench-routing-" });
  const started: Started[] = [];
  try {
    await Deno.copyFile(join(HOME, "manifest.yaml"), join(dir, "manifest.yaml"));
    const init = await new Deno.Command(LAUNCHER, {
      args: ["-f", join(dir, "manifest.yaml"), "init"],
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (!init.success) throw new Error("init failed");
    const generated = await Deno.readTextFile(await findFile(dir, "nginx.conf"));
    const [stablePort, canaryPort] = [freePort(), freePort()];
    for (const [port, mode] of [[stablePort, "stable"], [canaryPort, "canary"]] as const) {
      started.push(startProcess(Deno.execPath(), [
        "run",
        "-A",
        "--quiet",
        "--config",
        join(HOME, "deno.json"),
        join(HOME, "service", "main.ts"),
      ], { APP_PORT: String(port), MODE: mode, APP_VERSION: mode }));
      await waitFor(`http://127.0.0.1:${port}/`);
    }
    const split = encodeRoutes({
      revision: 1,
      stable: hostTarget(stablePort, "stable"),
      canary: { ...hostTarget(canaryPort, "canary"), weight: 10 },
    }) + "\n";
    const run = async (name: string, conf: (d: string, port: number) => string) => {
      const port = freePort();
      const d = join(dir, name);
      const nginx = await startNginx(d, conf(d, port), split);
      try {
        const url = `http://127.0.0.1:${port}/`;
        await waitFor(url);
        await wrk(url, ["-t2", "-c32", "-d2s"]).catch(() => undefined);
        return await wrk(url);
      } finally {
        await nginx.stop();
      }
    };
    const lua = (d: string, port: number) => hostNginxConf(generated, port, d);
    const plain = (d: string, port: number) =>
      plainUpstreamConf(hostNginxConf(generated, port, d), stablePort, canaryPort);
    const rows: [string, WrkResult][] = [];
    for (let round = 1; round <= 2; round++) {
      rows.push([`Lua split, weight 10 (round ${round})`, await run(`lua-${round}`, lua)]);
      rows.push([`plain upstream 9:1 (round ${round})`, await run(`plain-${round}`, plain)]);
    }
    console.log("");
    printRows(rows);
    const mean = (prefix: string) => {
      const r = rows.filter(([n]) => n.startsWith(prefix)).map(([, r]) => r.requestsPerSecond);
      return r.reduce((a, b) => a + b, 0) / r.length;
    };
    const [luaRps, plainRps] = [mean("Lua"), mean("plain")];
    const cost = 100 * (1 - luaRps / plainRps);
    console.log(
      `\nLua split ${fmt(luaRps, 0)} req/s, plain upstream ${fmt(plainRps, 0)} req/s: ratio ${
        fmt(luaRps / plainRps, 3)
      }, the split costs ${fmt(cost, 1)} % (target <= 10 %: ${cost <= 10 ? "met" : "NOT met"})`,
    );

    // Decision → in effect: applyRoutes against a running nginx, 50 changes.
    const port = freePort();
    const d = join(dir, "apply");
    const nginx = await startNginx(d, lua(d, port), split);
    try {
      await waitFor(`http://127.0.0.1:${port}/`);
      const plan = hostPlan(d);
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const weight = [5, 10, 25, 50, 75][i % 5]!;
        const { ms } = await applyRoutes(plan, {
          stable: hostTarget(stablePort, "stable"),
          canary: { ...hostTarget(canaryPort, "canary"), weight },
        });
        times.push(ms);
      }
      const sorted = [...times].sort((a, b) => a - b);
      console.log(
        `applyRoutes, decision → in effect (file fsynced, PUT, read back): median ${
          fmt(median(times), 1)
        } ms, min ${fmt(sorted[0]!, 1)}, max ${fmt(sorted.at(-1)!, 1)} over 50 changes`,
      );
    } finally {
      await nginx.stop();
    }
    const bad = rows.reduce((n, [, r]) => n + r.non2xx + r.socketErrors, 0);
    if (bad > 0) {
      console.error(`error: ${bad} request(s) failed or were not 2xx during the routing load test`);
      return 1;
    }
    return cost <= 10 ? 0 : 1;
  } finally {
    for (const s of started.reverse()) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const codes: number[] = [];
  const section = async (name: string, run: () => Promise<number>) => {
    if (only !== undefined && only !== name) return;
    try {
      codes.push(await run());
    } catch (error) {
      console.error(`error: ${name}: ${error instanceof Error ? error.message : String(error)}`);
      codes.push(1);
    }
  };
  await section("deno", async () => await denoBench(await benchFiles()));
  await section("startup", () => startup());
  await section("throughput", () => throughput(nginxVariants));
  await section("routing", () => routing());
  Deno.exit(codes.every((c) => c === 0) ? 0 : 1);
}
