/**
 * Issue 17 on the real engine, one stack for the whole file (canary mode,
 * so /chaos acts): /chaos and /metrics through nginx from another network
 * namespace (404 with the app's body, chaos unchanged), from the host
 * (works) and from a source the manifest lists (works); nginx's access log
 * rotated by size under 200,000+ wrk requests (every file under the cap,
 * the configured number of files, every request in exactly one file); and
 * an app that allocates without bound OOM-killed and restarted by the
 * engine while nginx and OPA keep running, shown by `status` and recorded
 * in the history once.
 *
 * Needs root (network namespaces) and wrk, like the rest of tests/.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import { logRotationBytes } from "../cli/render/mod.ts";
import { createTar } from "../cli/tar/mod.ts";
import { edgeSocketPath } from "../cli/edge/mod.ts";
import { LABEL_PROJECT, LABEL_ROLE } from "../cli/plan/mod.ts";
import { notFoundBody } from "../service/not_found.ts";
import { freePort, manifestText, removeProject, runCli } from "./_harness.ts";

const TEST_IMAGE = "swift-deploy-1-node:test-allocate";
const RUN_REQUESTS = 200_000;
const KEEP_FILES = 4;

async function sh(cmd: string[], input?: string): Promise<{ code: number; out: string }> {
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
  }
  const o = await child.output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

async function must(cmd: string[]): Promise<string> {
  const r = await sh(cmd);
  assert.equal(r.code, 0, `${cmd.join(" ")}: ${r.out}`);
  return r.out;
}

/**
 * A network namespace standing in for another host: a veth pair, the host
 * end 198.19.X.1/30 and the namespace end .2, default route to the host.
 */
async function makeNetns(tag: string) {
  const n = Number.parseInt(tag.slice(0, 4), 16) % 250 + 1;
  const name = `sdh-${tag}`;
  const hostIf = `sdh${tag}h`;
  const nsIf = `sdh${tag}n`;
  const hostAddr = `198.19.${n}.1`;
  const nsAddr = `198.19.${n}.2`;
  await must(["ip", "netns", "add", name]);
  await must(["ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf]);
  await must(["ip", "link", "set", nsIf, "netns", name]);
  await must(["ip", "addr", "add", `${hostAddr}/30`, "dev", hostIf]);
  await must(["ip", "link", "set", hostIf, "up"]);
  const inNs = (args: string[]) => ["ip", "netns", "exec", name, ...args];
  await must(inNs(["ip", "addr", "add", `${nsAddr}/30`, "dev", nsIf]));
  await must(inNs(["ip", "link", "set", nsIf, "up"]));
  await must(inNs(["ip", "link", "set", "lo", "up"]));
  await must(inNs(["ip", "route", "add", "default", "via", hostAddr]));
  return {
    hostAddr,
    nsAddr,
    /** curl from the namespace: status and body. */
    async curl(method: string, url: string, body?: string) {
      const args = ["curl", "-s", "-m", "5", "-X", method, "-o", "-", "-w", "\n%{http_code}"];
      if (body !== undefined) args.push("-H", "Content-Type: application/json", "-d", body);
      const r = await sh(inNs([...args, url]));
      const cut = r.out.lastIndexOf("\n");
      return { status: Number(r.out.slice(cut + 1)), body: r.out.slice(0, cut) };
    },
    async remove() {
      await sh(["ip", "link", "del", hostIf]);
      await sh(["ip", "netns", "del", name]);
    },
  };
}

/** The app image with the test-only allocate chaos switched on (never built by SwiftDeploy). */
async function buildTestImage(engine: EngineClient): Promise<void> {
  const dockerfile = "FROM swift-deploy-1-node:latest\nENV SWIFTDEPLOY_TEST_ALLOCATE_CHAOS=1\n";
  const tar = createTar([{
    type: "file",
    name: "Dockerfile",
    data: new TextEncoder().encode(dockerfile),
  }]);
  await engine.imageBuild(tar, [TEST_IMAGE], () => {});
}

interface Options {
  privateSources: string[];
  nginxLogs?: { maxSize: string; maxFiles: number };
}

function manifest(base: string, o: Options): string {
  let text = base.replace(
    "  contact: ops@swiftdeploy.local\n",
    `  contact: ops@swiftdeploy.local\n  private_sources: ${JSON.stringify(o.privateSources)}\n`,
  );
  if (o.nginxLogs) {
    text = text.replace(
      /( {2}volume_name: \S+\n)/,
      `$1  nginx:\n    max_size: ${o.nginxLogs.maxSize}\n    max_files: ${o.nginxLogs.maxFiles}\n`,
    );
  }
  return `${text}resources:\n  app:\n    memory: 128m\n`;
}

async function http(method: string, url: string, body?: string) {
  const res = await fetch(url, {
    method,
    ...(body === undefined ? {} : { body, headers: { "Content-Type": "application/json" } }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.text() };
}

/** swiftdeploy_edge_requests_total summed over classes, from nginx's admin socket. */
async function edgeTotal(stateDir: string): Promise<number> {
  const client = Deno.createHttpClient({
    proxy: { transport: "unix", path: edgeSocketPath(stateDir) },
  });
  try {
    const res = await fetch("http://nginx/edge-metrics", { client });
    const text = await res.text();
    let n = 0;
    for (const m of text.matchAll(/^swiftdeploy_edge_requests_total\{[^}]*\} (\d+)$/gm)) {
      n += Number(m[1]);
    }
    return n;
  } finally {
    client.close();
  }
}

async function inspectRole(engine: EngineClient, project: string, role: string) {
  const [c] = await engine.containerList([`${LABEL_PROJECT}=${project}`, `${LABEL_ROLE}=${role}`]);
  assert.ok(c, `no ${role} container`);
  return (await engine.containerInspect(c.Id))!;
}

/** Peak memory and current pids of a container from its cgroup (v1 layout), when readable. */
async function cgroupFigures(id: string): Promise<string> {
  const read = (p: string) => Deno.readTextFile(p).then((t) => t.trim()).catch(() => undefined);
  const peak = await read(`/sys/fs/cgroup/memory/docker/${id}/memory.max_usage_in_bytes`);
  const stat = await read(`/sys/fs/cgroup/memory/docker/${id}/memory.stat`);
  const rss = stat?.match(/^total_rss (\d+)$/m)?.[1];
  const pids = await read(`/sys/fs/cgroup/pids/docker/${id}/pids.current`);
  const mib = (v: string | undefined) =>
    v === undefined ? "?" : `${(Number(v) / 2 ** 20).toFixed(1)} MiB`;
  return `rss ${mib(rss)}, peak usage (page cache included) ${mib(peak)}, pids ${pids ?? "?"}`;
}

const WRK_SCRIPT = `
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
function init(args)
  sent = 0
  answered = 0
  limit = tonumber(args[1])
end
function request()
  sent = sent + 1
  return wrk.format("GET", string.format("/?m=%d-%07d", id, sent))
end
function response(status, headers, body)
  answered = answered + 1
  if answered >= limit then wrk.thread:stop() end
end
`;

Deno.test({
  name: "hardening: private paths, rotated nginx logs and an OOM-killed app on the real engine",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
  const project = `th${tag}`;
  const nginxPort = freePort();
  const dir = await Deno.makeTempDir({ prefix: `swiftdeploy-${project}-` });
  const manifestPath = join(dir, "manifest.yaml");
  const stateDir = join(dir, ".swiftdeploy");
  const base = manifestText({
    project,
    nginxPort,
    opaPort: freePort(),
    image: TEST_IMAGE,
    mode: "canary",
    version: "1.0.0",
    windowSeconds: 4,
    minRequests: 5,
    minDiskFreeGb: 0.1,
    maxErrorRatePercent: 1,
  });
  const cli = (args: string[]) => runCli(["-f", manifestPath, ...args]);
  const url = (path: string) => `http://127.0.0.1:${nginxPort}${path}`;
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  const ns = await makeNetns(tag);
  try {
    await buildTestImage(engine);
    await Deno.writeTextFile(manifestPath, manifest(base, { privateSources: [] }));
    const deployed = await cli(["deploy"]);
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    const nginxUrl = (path: string) => `http://${ns.hostAddr}:${nginxPort}${path}`;

    await t.step(
      "from another namespace /chaos and /metrics are 404 with the app's body; from the host they work",
      async () => {
        const chaos = await ns.curl("POST", nginxUrl("/chaos"), '{"mode":"error","rate":1}');
        assert.deepEqual(chaos, { status: 404, body: notFoundBody("/chaos") });
        const metrics = await ns.curl("GET", nginxUrl("/metrics"));
        assert.deepEqual(metrics, { status: 404, body: notFoundBody("/metrics") });
        // The same body an unknown path gets from the app itself.
        assert.deepEqual(await ns.curl("GET", nginxUrl("/nope")), {
          status: 404,
          body: notFoundBody("/nope"),
        });
        // Application paths stay public.
        assert.equal((await ns.curl("GET", nginxUrl("/"))).status, 200);
        // Chaos unchanged: the app serves, and its gauge says none.
        const m = await http("GET", url("/metrics"));
        assert.equal(m.status, 200);
        assert.match(m.body, /^chaos_active(\{[^}]*\})? 0$/m);
        for (let i = 0; i < 20; i++) assert.equal((await http("GET", url("/"))).status, 200);
        // From the host both work.
        assert.equal(
          (await http("POST", url("/chaos"), '{"mode":"slow","duration":0.01}')).status,
          200,
        );
        assert.match((await http("GET", url("/metrics"))).body, /^chaos_active(\{[^}]*\})? 1$/m);
        assert.equal((await http("POST", url("/chaos"), '{"mode":"recover"}')).status, 200);
      },
    );

    // One marker request to measure an access-log line (fixed width for the run's markers).
    assert.equal((await http("GET", url("/?m=0-0000000"))).status, 200);
    const volume = (await engine.volumeList([`${LABEL_PROJECT}=${project}`]))[0]!;
    const logDir = volume.Mountpoint;
    const accessText = await Deno.readTextFile(join(logDir, "access.log"));
    const sample = accessText.split("\n").find((l) => l.includes("/?m=0-0000000"))!;
    const lineBytes = new TextEncoder().encode(sample).length + 1;
    // Sized for exactly KEEP_FILES - 1 rotations: the run writes 3.5 times the
    // rotation size, and a rotated file holds at least that size.
    const existing = new TextEncoder().encode(accessText).length;
    const total = existing + (RUN_REQUESTS + 64) * lineBytes;
    const maxSizeK = Math.ceil(total / 3.5 / 0.75 / 1024);
    const cap = maxSizeK * 1024;
    const rotateAt = logRotationBytes(cap);

    await t.step("a listed source reaches /chaos and /metrics", async () => {
      await Deno.writeTextFile(
        manifestPath,
        manifest(base, {
          privateSources: [ns.nsAddr],
          nginxLogs: { maxSize: `${maxSizeK}k`, maxFiles: KEEP_FILES },
        }),
      );
      const r = await cli(["deploy"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      // The deploy sends nginx SIGHUP; the new workers take over within moments.
      const until = Date.now() + 10_000;
      while ((await ns.curl("GET", nginxUrl("/metrics"))).status !== 200 && Date.now() < until) {
        await new Promise((res) => setTimeout(res, 100));
      }
      const chaos = await ns.curl("POST", nginxUrl("/chaos"), '{"mode":"recover"}');
      assert.equal(chaos.status, 200, chaos.body);
      assert.equal((await ns.curl("GET", nginxUrl("/metrics"))).status, 200);
      const v = await cli(["validate"]);
      assert.match(v.stdout + v.stderr, /nginx\.private_sources/);
    });

    await t.step(
      `${RUN_REQUESTS} requests: the access log rotates under the cap, ${KEEP_FILES} files, every request once`,
      async () => {
        const script = join(dir, "markers.lua");
        await Deno.writeTextFile(script, WRK_SCRIPT);
        const before = await edgeTotal(stateDir);
        const started = performance.now();
        // Each wrk thread stops itself after its share; wrk itself waits out
        // its duration, so it is interrupted once nginx's count stops moving.
        const wrk = new Deno.Command("wrk", {
          args: ["-t2", "-c16", "-d300s", "-s", script, url("/"), "--", String(RUN_REQUESTS / 2)],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        let counted = 0;
        let seconds = 0;
        for (let last = -1; performance.now() - started < 280_000;) {
          await new Promise((r) => setTimeout(r, 500));
          counted = (await edgeTotal(stateDir)) - before;
          if (counted >= RUN_REQUESTS && counted === last) break;
          if (counted !== last) seconds = (performance.now() - started) / 1000;
          last = counted;
        }
        wrk.kill("SIGINT");
        const out = await wrk.output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        const files = [...Deno.readDirSync(logDir)].map((e) => e.name).filter((n) =>
          n.startsWith("access.log")
        ).sort();
        assert.deepEqual(files, [
          "access.log",
          ...Array.from({ length: KEEP_FILES - 1 }, (_, i) => `access.log.${i + 1}`),
        ]);
        const seen = new Map<string, number>();
        const perThread = new Map<number, number>();
        const sizes: number[] = [];
        const format = /^\S+ \| \d{3} \| \d+\.\d{3}s \| \S+ \| \S+ \S+ \S+$/;
        for (const f of files) {
          const text = await Deno.readTextFile(join(logDir, f));
          sizes.push(new TextEncoder().encode(text).length);
          for (const line of text.split("\n")) {
            if (line === "") continue;
            assert.match(line, format, `${f}: a line of another format: ${line}`);
            const m = line.match(/ GET \/\?m=(\d+)-(\d+) /);
            if (!m || m[1] === "0") continue;
            const key = `${m[1]}-${m[2]}`;
            seen.set(key, (seen.get(key) ?? 0) + 1);
            perThread.set(Number(m[1]), Math.max(perThread.get(Number(m[1])) ?? 0, Number(m[2])));
          }
        }
        console.log(
          `rotation: ${seen.size} requests in ${seconds.toFixed(1)} s, ${files.length} files ${
            files.map((f, i) => `${f} ${sizes[i]} B`).join(", ")
          }; cap ${cap} B, rotation at ${rotateAt} B, line ${lineBytes} B`,
        );
        for (const [i, s] of sizes.entries()) {
          assert.ok(s < cap, `${files[i]} is ${s} B, not under ${cap}`);
        }
        // The oldest rotated file is a whole one: nothing fell off (a fourth rotation would have dropped it).
        assert.ok(sizes.slice(1).every((s) => s >= rotateAt), `rotated files ${sizes}`);
        const duplicated = [...seen].filter(([, n]) => n !== 1);
        assert.deepEqual(duplicated, [], "requests logged more than once");
        // Every thread's markers 1..max, none missing in between: only at the
        // ends may wrk have generated one it never sent (it asks for a first
        // request before connecting, and a stopping thread drops what it had
        // not written). nginx's own count below is the exact check.
        for (const [thread, max] of perThread) {
          const missing = [];
          for (let i = 1; i <= max; i++) {
            if (!seen.has(`${thread}-${String(i).padStart(7, "0")}`)) missing.push(i);
          }
          assert.ok(
            missing.every((i) => i <= 16 || i > max - 16),
            `thread ${thread} lacks ${missing}`,
          );
        }
        assert.ok(seen.size >= RUN_REQUESTS, `only ${seen.size} requests`);
        // nginx counted exactly the lines the files hold (its log phase).
        assert.equal(counted, seen.size);
        for (const role of ["app", "nginx", "opa"]) {
          console.log(
            `after the run, ${role}: ${await cgroupFigures(
              (await inspectRole(engine, project, role)).Id,
            )}`,
          );
        }
        const status = await cli(["status", "--once", "--json"]);
        const doc = JSON.parse(status.stdout.trim().split("\n").at(-1)!);
        const total = sizes.reduce((a, b) => a + b, 0);
        assert.ok(
          doc.logs.bytes >= total,
          `status says ${doc.logs.bytes} B, the files hold ${total} B`,
        );
      },
    );

    await t.step(
      "an app that allocates without bound is OOM-killed and restarted; nginx and OPA keep running; status and history say so",
      async () => {
        const nginxBefore = await inspectRole(engine, project, "nginx");
        const opaBefore = await inspectRole(engine, project, "opa");
        const appBefore = await inspectRole(engine, project, "app");
        assert.equal(appBefore.HostConfig.Memory, 128 * 2 ** 20);
        const started = performance.now();
        const r = await http("POST", url("/chaos"), '{"mode":"allocate"}');
        assert.equal(r.status, 202, r.body);
        let app = appBefore;
        let killedAt = 0;
        let healthyAt = 0;
        while (performance.now() - started < 60_000) {
          app = await inspectRole(engine, project, "app");
          if (!killedAt && (app.RestartCount ?? 0) > 0) killedAt = performance.now();
          if (killedAt && app.State.Health?.Status === "healthy") {
            healthyAt = performance.now();
            break;
          }
          await new Promise((res) => setTimeout(res, 100));
        }
        assert.ok(healthyAt > 0, `the app did not come back: ${JSON.stringify(app.State)}`);
        assert.equal(app.State.OOMKilled, true);
        assert.equal(app.Id, appBefore.Id, "the engine restarts the same container");
        console.log(
          `OOM: killed and restarted ${
            ((killedAt - started) / 1000).toFixed(1)
          } s after the request, healthy again after ${
            ((healthyAt - started) / 1000).toFixed(1)
          } s`,
        );
        for (const [before, role] of [[nginxBefore, "nginx"], [opaBefore, "opa"]] as const) {
          const now = await inspectRole(engine, project, role);
          assert.equal(now.State.Status, "running", role);
          assert.equal(now.RestartCount ?? 0, before.RestartCount ?? 0, role);
          assert.equal(now.State.StartedAt, before.State.StartedAt, role);
        }
        assert.equal((await http("GET", url("/"))).status, 200);
        const status = await cli(["status", "--once", "--json"]);
        const doc = JSON.parse(status.stdout.trim().split("\n").at(-1)!);
        const appDoc = doc.containers.find((c: { role: string }) => c.role === "app");
        assert.equal(appDoc.oom_killed, true);
        assert.ok(appDoc.restarts >= 1);
        const text = await cli(["status", "--once"]);
        assert.match(text.stdout, /app +: running, \d+ restarts?, last exit OOM-killed/);
        const history = (await Deno.readTextFile(join(dir, "history.jsonl"))).trim().split("\n")
          .map((l) => JSON.parse(l));
        const ooms = history.filter((e) => e.event === "container_oom_killed");
        assert.equal(ooms.length, 1, "recorded once, though status looked twice");
        assert.equal(ooms[0].data.role, "app");
        assert.equal(ooms[0].data.memory_limit_bytes, 128 * 2 ** 20);
      },
    );
  } finally {
    await ns.remove();
    await removeProject(project);
    await engine.imageRemove(TEST_IMAGE).catch(() => {});
    engine.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
