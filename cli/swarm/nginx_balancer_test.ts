/**
 * The swarm nginx's Lua balancer in the host's real nginx (Debian's, with
 * the Lua module), no engine and no root: the rendered nginx.conf with
 * Docker's DNS address swapped for a DNS server of this test (UDP and TCP,
 * answers written after RFC 1035 §4.1 with name compression), and three app
 * "tasks" on 127.0.0.2–4 that count the connections they accept.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { join } from "node:path";
import { parseManifest } from "../manifest/mod.ts";
import { nginxTestCopy } from "../render/mod.ts";
import { freePort } from "../../testing/free_port.ts";
import { DNS_REFRESH_SECONDS, renderSwarmNginxConf } from "./mod.ts";

/** A DNS message answering `name` with A records (RFC 1035 §4.1), the answers' names as pointers to the question (§4.1.4). */
function dnsAnswer(query: Uint8Array, addresses: string[], opts: { tc?: boolean } = {}) {
  // The question ends after its name's zero byte and QTYPE, QCLASS.
  let end = 12;
  while (query[end] !== 0) end += query[end]! + 1;
  end += 5;
  const header = [
    query[0]!,
    query[1]!,
    0x81 | (opts.tc ? 0x02 : 0), // QR, RD (and TC)
    addresses.length ? 0x80 : 0x83, // RA; NXDOMAIN when no address
    0,
    1,
    addresses.length >> 8,
    addresses.length & 0xff,
    0,
    0,
    0,
    0,
  ];
  const records = opts.tc ? [] : addresses.flatMap((a) => [
    0xc0,
    12,
    0,
    1,
    0,
    1,
    0,
    0,
    2,
    88,
    0,
    4,
    ...a.split(".").map(Number),
  ]);
  if (opts.tc) header[6] = header[7] = 0;
  return new Uint8Array([...header, ...query.slice(12, end), ...records]);
}

/** A DNS server on 127.0.0.1:port (UDP and TCP) answering every A query with `addresses`. */
async function fakeDns() {
  const state = {
    addresses: [] as string[],
    udpQueries: 0,
    tcpQueries: 0,
    truncateUdp: false,
    silentUntil: 0,
  };
  // A UDP port whose TCP twin is free too (another process may hold it: try again).
  let udp: dgram.Socket | undefined;
  let tcp: Deno.Listener | undefined;
  for (let i = 0; i < 20 && !tcp; i++) {
    udp?.close();
    udp = dgram.createSocket("udp4");
    await new Promise<void>((r) => udp!.bind(0, "127.0.0.1", r));
    try {
      tcp = Deno.listen({ hostname: "127.0.0.1", port: udp.address().port });
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    }
  }
  if (!udp || !tcp) throw new Error("no port free for both UDP and TCP");
  const port = udp.address().port;
  udp.on("message", (msg: Uint8Array, rinfo: { port: number; address: string }) => {
    state.udpQueries++;
    if (Date.now() < state.silentUntil) return;
    udp.send(
      dnsAnswer(new Uint8Array(msg), state.addresses, { tc: state.truncateUdp }),
      rinfo.port,
      rinfo.address,
    );
  });
  (async () => {
    for await (const conn of tcp!) {
      (async () => {
        const buf = new Uint8Array(512);
        let n = 0;
        while (n < 2 || n < 2 + ((buf[0]! << 8) | buf[1]!)) {
          const got = await conn.read(buf.subarray(n));
          if (got === null) return conn.close();
          n += got;
        }
        state.tcpQueries++;
        const answer = dnsAnswer(buf.slice(2, n), state.addresses);
        await conn.write(new Uint8Array([answer.length >> 8, answer.length & 0xff, ...answer]));
        conn.close();
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    port,
    state,
    close() {
      udp!.close();
      tcp!.close();
    },
  };
}

/** An app task on `address`:port answering its address, counting requests and the connections they came on. */
function fakeTask(address: string, port: number) {
  const connections = new Set<string>();
  let requests = 0;
  const server = Deno.serve({ hostname: address, port, onListen() {} }, (_req, info) => {
    requests++;
    connections.add(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`);
    return Response.json({ task: address });
  });
  return {
    address,
    get requests() {
      return requests;
    },
    connections,
    stop: () => server.shutdown(),
  };
}

/**
 * An address:port that takes no new connection and never refuses one: a
 * listener that never accepts, its accept queue filled, so the kernel drops
 * further SYNs (as a task whose container is gone, or whose node is, leaves
 * a connect to time out). Python's socket API, as testing/keepalive_load.py.
 */
async function silentTask(address: string, port: number) {
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      `import socket, sys, time
s = socket.socket(); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(0)
held = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False); c.connect_ex((sys.argv[1], int(sys.argv[2]))); held.append(c)
print("ready", flush=True)
time.sleep(600)`,
      address,
      String(port),
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  reader.releaseLock();
  return {
    async stop() {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

/** The rendered swarm nginx.conf, run by the host's nginx in `dir`, asking the fake DNS. */
async function startNginx(dir: string, appPort: number, dnsPort: number) {
  const port = freePort();
  const manifest = parseManifest(
    `project: shop\ntarget: swarm\nservices:\n  image: app:1\n  port: ${appPort}\n  replicas: 3\nnginx:\n  image: nginx:1\n  port: ${port}\n`,
    "manifest.yaml",
  );
  const conf = nginxTestCopy(renderSwarmNginxConf(manifest), dir)
    .replace("error_log stderr warn;", `error_log ${dir}/error.log info;`)
    .replace(/listen 127\.0\.0\.1:\d+;/, `listen 127.0.0.1:${freePort()};`)
    // Docker's DNS → the test's (the Lua resolver, or nginx's `resolver` of an older file).
    .replace('local DNS_SERVER = "127.0.0.11"', 'local DNS_SERVER = "127.0.0.1"')
    .replace("local DNS_PORT = 53", `local DNS_PORT = ${dnsPort}`)
    .replace(/resolver 127\.0\.0\.11 /, `resolver 127.0.0.1:${dnsPort} `);
  await Deno.writeTextFile(join(dir, "nginx.conf"), conf);
  const child = new Deno.Command("nginx", {
    args: [
      "-p",
      `${dir}/`,
      "-c",
      `${dir}/nginx.conf`,
      "-e",
      `${dir}/error.log`,
      "-g",
      "daemon off; user root;",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  // Listening (no request sent: the first ones are the test's).
  for (let i = 0; i < 100; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => undefined);
    if (conn) {
      conn.close();
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base,
    admin: Deno.createHttpClient({ proxy: { transport: "unix", path: join(dir, "edge.sock") } }),
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
    log: () => Deno.readTextFile(join(dir, "error.log")).catch(() => ""),
  };
}

/** `n` GETs through nginx, `parallel` at a time (each loop keeps its client connection); answers by task and status. */
async function load(base: string, n: number, parallel = 8) {
  const byTask: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        next++;
        const res = await fetch(`${base}/`);
        const body = await res.json().catch(() => ({}));
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (body.task) byTask[body.task] = (byTask[body.task] ?? 0) + 1;
      }
    }),
  );
  return { byTask, statuses };
}

/** Each worker's addresses from the admin socket's /peers. */
async function peers(nginx: { admin: Deno.HttpClient }): Promise<string[][]> {
  const res = await fetch("http://nginx/peers", { client: nginx.admin } as RequestInit);
  const text = await res.text();
  return text.trim().split("\n").map((l) => l.split(" ").slice(3).filter(Boolean).sort());
}

async function until(what: string, check: () => Promise<boolean>, seconds: number) {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not within ${seconds} s`);
}

Deno.test({
  name: "swarm nginx keeps connections to the tasks alive and follows tasks.<app>'s DNS answer",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "sd-swarm-nginx-" });
    await Deno.chmod(dir, 0o755);
    const dns = await fakeDns();
    const appPort = freePort();
    const tasks = ["127.0.0.2", "127.0.0.3", "127.0.0.4"].map((a) => fakeTask(a, appPort));
    dns.state.addresses = tasks.map((x) => x.address);
    const nginx = await startNginx(dir, appPort, dns.port);
    try {
      await t.step(
        "requests are spread over every task on a few kept-alive connections",
        async () => {
          const n = 3000;
          const { byTask, statuses } = await load(nginx.base, n);
          assert.deepEqual(statuses, { 200: n }, await nginx.log());
          for (const x of tasks) {
            assert.ok((byTask[x.address] ?? 0) > n / 6, JSON.stringify(byTask));
          }
          const connections = tasks.reduce((s, x) => s + x.connections.size, 0);
          const requests = tasks.reduce((s, x) => s + x.requests, 0);
          console.log(`  ${requests} requests reached the tasks on ${connections} connections`);
          assert.ok(requests >= n);
          // A connection per request (a variable proxy_pass) would be ~3,000.
          assert.ok(connections <= 100, `${connections} connections for ${requests} requests`);
          // The shared edge counters (cli/render's edgeCountersLua) count each
          // answer once, as "stable", with the swarm's one route.
          const res = await fetch(
            "http://nginx/edge-metrics",
            { client: nginx.admin } as RequestInit,
          );
          const text = await res.text();
          assert.equal(res.status, 200, text);
          assert.match(
            text,
            new RegExp(`^swiftdeploy_edge_requests_total\\{class="2xx"\\} ${n}$`, "m"),
          );
          assert.match(
            text,
            new RegExp(
              `^swiftdeploy_edge_variant_requests_total\\{variant="stable",class="2xx"\\} ${n}$`,
              "m",
            ),
          );
          assert.match(
            text,
            new RegExp(
              `^swiftdeploy_edge_variant_request_duration_seconds_count\\{variant="stable"\\} ${n}$`,
              "m",
            ),
          );
          assert.match(
            text,
            /^swiftdeploy_edge_route_info\{variant="stable",address="tasks\.shop-app:\d+",version="",container="shop-app"\} 1$/m,
          );
          assert.match(text, /^swiftdeploy_edge_canary_weight 0$/m);
          assert.match(text, /^swiftdeploy_edge_routes_revision 0$/m);
          assert.match(text, /^swiftdeploy_edge_instance_info\{instance="[0-9a-f-]{36}"\} 1$/m);
        },
      );

      await t.step(
        "a task dropped from the answer leaves every worker's rotation within the refresh",
        async () => {
          dns.state.addresses = ["127.0.0.2", "127.0.0.3"];
          const t0 = performance.now();
          await until(
            "every worker lists 2 tasks",
            async () => (await peers(nginx)).every((p) => p.join() === "127.0.0.2,127.0.0.3"),
            DNS_REFRESH_SECONDS + 2,
          );
          console.log(
            `  left the rotation after ${((performance.now() - t0) / 1000).toFixed(2)} s`,
          );
          const before = tasks[2]!.requests;
          const { statuses } = await load(nginx.base, 600);
          assert.deepEqual(statuses, { 200: 600 });
          assert.equal(tasks[2]!.requests, before, "no request reached the dropped task");
        },
      );

      await t.step(
        "a stopped task still in the answer costs a retry on another task, no failure",
        async () => {
          dns.state.addresses = tasks.map((x) => x.address);
          await until(
            "every worker lists 3 tasks",
            async () => (await peers(nginx)).every((p) => p.length === 3),
            DNS_REFRESH_SECONDS + 2,
          );
          await tasks[1]!.stop();
          const { statuses, byTask } = await load(nginx.base, 600);
          assert.deepEqual(statuses, { 200: 600 }, await nginx.log());
          assert.equal(byTask["127.0.0.3"], undefined);
        },
      );

      await t.step("a truncated UDP answer is asked again over TCP", async () => {
        dns.state.truncateUdp = true;
        dns.state.addresses = ["127.0.0.2", "127.0.0.4"];
        await until(
          "every worker lists the TCP answer",
          async () => (await peers(nginx)).every((p) => p.join() === "127.0.0.2,127.0.0.4"),
          DNS_REFRESH_SECONDS + 2,
        );
        assert.ok(dns.state.tcpQueries > 0);
        dns.state.truncateUdp = false;
      });

      await t.step(
        "no task at all (NXDOMAIN): 502 with the JSON body, and back when one returns",
        async () => {
          dns.state.addresses = [];
          await until(
            "every worker lists no task",
            async () => (await peers(nginx)).every((p) => p.length === 0),
            DNS_REFRESH_SECONDS + 2,
          );
          const res = await fetch(`${nginx.base}/`);
          assert.equal(res.status, 502);
          assert.equal((await res.json()).error, "Bad Gateway");
          dns.state.addresses = ["127.0.0.2"];
          await until(
            "nginx answers again",
            async () =>
              (await fetch(`${nginx.base}/`).then((r) => r.body?.cancel().then(() => r.status))) ===
                200,
            DNS_REFRESH_SECONDS + 2,
          );
        },
      );
    } finally {
      await nginx.stop();
      nginx.admin.close();
      for (const x of tasks) await x.stop().catch(() => {});
      dns.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "swarm nginx holds a fresh worker's first requests until Docker's DNS first answers, instead of failing them",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sd-swarm-nginx-" });
    await Deno.chmod(dir, 0o755);
    const dns = await fakeDns();
    const appPort = freePort();
    const task = fakeTask("127.0.0.2", appPort);
    dns.state.addresses = [task.address];
    // A container's first DNS queries may go unanswered (seen on the lab: a timeout at start).
    dns.state.silentUntil = Date.now() + 1500;
    const nginx = await startNginx(dir, appPort, dns.port);
    try {
      const { statuses } = await load(nginx.base, 40, 8);
      assert.deepEqual(statuses, { 200: 40 }, await nginx.log());
      assert.match(await nginx.log(), /cannot resolve tasks\.shop-app: timeout/);
    } finally {
      await nginx.stop();
      nginx.admin.close();
      await task.stop();
      dns.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "swarm nginx tries another task when a listed task's connect times out (a stopped task's address), never a 504",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sd-swarm-nginx-" });
    await Deno.chmod(dir, 0o755);
    const dns = await fakeDns();
    const appPort = freePort();
    const task = fakeTask("127.0.0.2", appPort);
    const silent = await silentTask("127.0.0.6", appPort);
    dns.state.addresses = ["127.0.0.2", "127.0.0.6"];
    const nginx = await startNginx(dir, appPort, dns.port);
    try {
      const t0 = performance.now();
      const { statuses } = await load(nginx.base, 8, 4);
      const seconds = (performance.now() - t0) / 1000;
      assert.deepEqual(statuses, { 200: 8 }, await nginx.log());
      assert.match(await nginx.log(), /upstream timed out .* while connecting to upstream/);
      assert.ok(seconds < 10, `${seconds} s`);
    } finally {
      await nginx.stop();
      nginx.admin.close();
      await task.stop();
      await silent.stop();
      dns.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
