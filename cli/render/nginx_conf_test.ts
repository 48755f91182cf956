import assert from "node:assert/strict";
import { nginxTestArgs, nginxTestCopy } from "./mod.ts";
import { loadVariant, planAndRender, requireProgram, run, VARIANTS } from "./_testing.ts";
import { freePort } from "../../testing/free_port.ts";
import { readEdgeSample } from "../edge/mod.ts";
import { encodeRoutes, parseRoutes } from "../routing/mod.ts";
import { variantSampleFromText } from "../edge/mod.ts";
import { unixHttpClient } from "../net/mod.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { DURATION_BUCKETS } from "../../service/buckets.ts";
import { luaBuckets } from "./nginx_shared.ts";
import { NGINX_ADMIN_SOCKET, nginxPrometheusListener } from "../plan/mod.ts";

const NGINX = requireProgram("nginx");

/** A fresh folder for an nginx.conf, readable by nginx's worker user when the tests run as root. */
async function confDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_nginx_" });
  await Deno.chmod(dir, 0o755);
  return dir;
}

/** `nginx -t` of the test copy of `conf`, made for the folder it is checked in. */
async function nginxCheck(conf: string): Promise<{ code: number; stderr: string }> {
  const dir = await confDir();
  await Deno.writeTextFile(`${dir}/nginx.conf`, nginxTestCopy(conf, dir));
  try {
    return await run(NGINX, nginxTestArgs(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("nginxTestCopy() points every written path and the admin socket at the prefix", () => {
  const conf = [
    "pid /tmp/nginx.pid;",
    "error_log /var/log/nginx/error.log warn;",
    "http {",
    "    client_body_temp_path /tmp/client_body_temp;",
    "    proxy_temp_path /tmp/proxy_temp 1 2;",
    "    access_log /var/log/nginx/access.log swiftdeploy;",
    "    location = /x { access_log off; return 200 '/tmp/keep.me'; }",
    "    server { listen unix:/run/nginx-admin/edge.sock; }",
    "}",
  ].join("\n");
  assert.equal(
    nginxTestCopy(conf, "/tmp/check/"),
    [
      "pid nginx.pid;",
      "error_log error.log warn;",
      "http {",
      "    client_body_temp_path client_body_temp;",
      "    proxy_temp_path proxy_temp 1 2;",
      "    access_log access.log swiftdeploy;",
      "    location = /x { access_log off; return 200 '/tmp/keep.me'; }",
      "    server { listen unix:/tmp/check/edge.sock; }",
      "}",
    ].join("\n"),
  );
});

Deno.test("nginxTestCopy() leaves no absolute written path in a rendered config", async () => {
  for (const variant of VARIANTS) {
    const copy = nginxTestCopy((await loadVariant(variant)).files["nginx.conf"], "/tmp/check");
    assert.doesNotMatch(copy, /\/run\/nginx-admin/);
    assert.doesNotMatch(copy, /^\s*(pid|error_log|access_log|\w+_temp_path)\s+\//m);
    assert.doesNotMatch(copy, /127\.0\.0\.11/);
  }
});

for (const variant of VARIANTS) {
  Deno.test(`nginx -t accepts the test copy when rendering the "${variant.name}" variant`, async () => {
    const { files } = await loadVariant(variant);
    const out = await nginxCheck(files["nginx.conf"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /test is successful/);
  });
}

Deno.test("nginx -t rejects the test copy when the config is corrupted", async () => {
  const conf = (await loadVariant(VARIANTS[0]!)).files["nginx.conf"];
  const corruptions = [
    conf.replace("proxy_next_upstream error;", "proxy_next_upstream error"),
    conf.replace("server_tokens off;", "server_tokenz off;"),
    conf.replace(/\}\s*$/, ""),
  ];
  for (const broken of corruptions) {
    assert.notEqual(broken, conf);
    const out = await nginxCheck(broken);
    assert.notEqual(out.code, 0, "nginx -t accepted a corrupted config");
    assert.match(out.stderr, /emerg/);
  }
});

/**
 * Runs the rendered config for real on the host (test copy; listening on
 * free loopback ports, timeouts of 1s) and calls `use` with the base URLs of
 * the public and health servers. `upstream` is the stable address of the
 * routing table nginx finds persisted at its start (a full table's text
 * with `routes`; none at all with `null`).
 */
async function withNginx(
  conf: string,
  upstream: string | null,
  use: (publicUrl: string, healthUrl: string, dir: string) => Promise<void>,
  opts: { routes?: string } = {},
): Promise<void> {
  const [publicPort, healthPort] = [freePort(), freePort()];
  const dir = await confDir();
  const live = nginxTestCopy(conf, dir)
    .replace(/^(\s*)listen \d+;/m, `$1listen 127.0.0.1:${publicPort};`)
    .replace(/^(\s*)listen 127\.0\.0\.1:8099;/m, `$1listen 127.0.0.1:${healthPort};`)
    .replace(/^(\s*proxy_\w+_timeout )\d+s;/gm, "$11s;");
  assert.ok(live.includes(`:${healthPort};`) && live.includes(`${dir}/routes`));
  await Deno.writeTextFile(`${dir}/nginx.conf`, live);
  const routes = opts.routes ??
    (upstream === null ? undefined : encodeRoutes({
      revision: 1,
      stable: { address: upstream, version: "1.0.0", container: "app-a" },
    }));
  if (routes !== undefined) await Deno.writeTextFile(`${dir}/routes`, routes + "\n");
  const args = nginxTestArgs(dir).filter((a) => a !== "-t");
  const child = new Deno.Command(NGINX, {
    args: [...args, "-g", "daemon off;"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const publicUrl = `http://127.0.0.1:${publicPort}`;
    const healthUrl = `http://127.0.0.1:${healthPort}`;
    for (let i = 0;; i++) {
      try {
        (await fetch(`${healthUrl}/nginx-health`)).body?.cancel();
        break;
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await use(publicUrl, healthUrl, dir);
  } finally {
    child.kill("SIGTERM");
    await child.output();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("nginx serves the JSON 502 body with the exact contact when the app is down", async () => {
  const { files, manifest } = await loadVariant(VARIANTS.find((v) => v.name === "tricky_contact")!);
  const closed = freePort();
  await withNginx(files["nginx.conf"], `127.0.0.1:${closed}`, async (url) => {
    const res = await fetch(`${url}/anything?x=1`);
    assert.equal(res.status, 502);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.headers.get("x-deployed-by"), "swiftdeploy");
    assert.equal(res.headers.get("server"), "nginx");
    assert.deepEqual(await res.json(), {
      error: "Bad Gateway",
      code: 502,
      service: "swiftdeploy-app",
      contact: manifest.nginx.contact,
    });
  });
});

Deno.test("nginx passes the app's X-Mode through exactly once and adds X-Deployed-By", async () => {
  const { files } = await loadVariant(VARIANTS[0]!);
  const app = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/slow") await new Promise((r) => setTimeout(r, 1500));
    return Response.json(
      {
        path,
        forwardedFor: req.headers.get("x-forwarded-for"),
        realIp: req.headers.get("x-real-ip"),
      },
      { headers: { "X-Mode": "canary" }, status: path === "/fail" ? 500 : 200 },
    );
  });
  try {
    await withNginx(
      files["nginx.conf"],
      `127.0.0.1:${app.addr.port}`,
      async (url, healthUrl, dir) => {
        const ok = await fetch(`${url}/hello`);
        assert.equal(ok.status, 200);
        assert.equal(ok.headers.get("x-mode"), "canary", "one X-Mode, not a joined list");
        assert.equal(ok.headers.get("x-deployed-by"), "swiftdeploy");
        assert.deepEqual(await ok.json(), {
          path: "/hello",
          forwardedFor: "127.0.0.1",
          realIp: "127.0.0.1",
        });

        // The app's own errors pass through unchanged, not replaced by nginx's JSON.
        const failed = await fetch(`${url}/fail`);
        assert.equal(failed.status, 500);
        assert.equal(failed.headers.get("x-deployed-by"), "swiftdeploy");
        assert.equal((await failed.json()).path, "/fail");

        const slow = await fetch(`${url}/slow`);
        assert.equal(slow.status, 504);
        assert.equal(slow.headers.get("x-deployed-by"), "swiftdeploy");
        assert.equal((await slow.json()).error, "Gateway Timeout");

        const health = await fetch(`${healthUrl}/nginx-health`);
        assert.equal(health.status, 200);
        assert.deepEqual(await health.json(), { status: "ok" });

        const log = await Deno.readTextFile(`${dir}/access.log`);
        const line = log.split("\n").find((l) => l.includes("GET /hello"));
        assert.match(
          line ?? "",
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d \| 200 \| \d+\.\d{3}s \| 127\.0\.0\.1:\d+ \| GET \/hello HTTP\/1\.1$/,
        );
        assert.ok(!log.includes("nginx-health"), "health checks are not logged");
      },
    );
  } finally {
    await app.shutdown();
  }
});

Deno.test("nginx answers on a fresh connection when the app restarted at its address under pooled connections", async () => {
  const { files } = await loadVariant(VARIANTS[0]!);
  const port = freePort();
  const serve = (generation: number) =>
    Deno.serve(
      { hostname: "127.0.0.1", port, onListen() {} },
      (req) => Response.json({ path: new URL(req.url).pathname, method: req.method, generation }),
    );
  let app = serve(1);
  try {
    await withNginx(files["nginx.conf"], `127.0.0.1:${port}`, async (url) => {
      // Fill nginx's keepalive pool, then restart the app at the same address:
      // every pooled connection is now one the new process does not know.
      await Promise.all(
        Array.from({ length: 8 }, async () => (await fetch(`${url}/warm`)).body?.cancel()),
      );
      await app.shutdown();
      app = serve(2);
      for (const method of ["GET", "POST", "GET", "POST"]) {
        const res = await fetch(`${url}/moved`, { method, body: method === "POST" ? "{}" : null });
        assert.equal(res.status, 200, `${method} answered by the restarted app`);
        assert.deepEqual(await res.json(), { path: "/moved", method, generation: 2 });
      }
    });
  } finally {
    await app.shutdown();
  }
});

Deno.test("nginx never sends a POST again after the app received it and failed, and may resend a GET", async () => {
  const { files } = await loadVariant(VARIANTS[0]!);
  // An app that reads each request, counts it and hangs up without answering (nginx: 502).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: string[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(4096);
        const n = await conn.read(buf).catch(() => null);
        if (n) seen.push(new TextDecoder().decode(buf.subarray(0, n)).split(" ", 2).join(" "));
        conn.close();
      })();
    }
  })().catch(() => {});
  try {
    await withNginx(files["nginx.conf"], `127.0.0.1:${listener.addr.port}`, async (url) => {
      const post = await fetch(`${url}/chaos`, { method: "POST", body: "{}" });
      await post.body?.cancel();
      assert.equal(post.status, 502);
      assert.deepEqual(seen.filter((l) => l === "POST /chaos"), ["POST /chaos"], "sent once");
      const get = await fetch(`${url}/again`);
      await get.body?.cancel();
      assert.equal(get.status, 502);
      assert.ok(seen.filter((l) => l === "GET /again").length >= 1);
    });
  } finally {
    listener.close();
    await accepting;
  }
});

Deno.test("nginx counts every answer clients got at the edge, its own 502 and 504 included (issue 11 case 2)", async () => {
  const { files } = await loadVariant(VARIANTS[0]!);
  const app = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/slow") await new Promise((r) => setTimeout(r, 1500));
    return Response.json({ path }, { status: path === "/fail" ? 500 : 200 });
  });
  try {
    await withNginx(files["nginx.conf"], `127.0.0.1:${app.addr.port}`, async (url, _, dir) => {
      const socket = `${dir}/edge.sock`;
      const before = await readEdgeSample(socket);
      const statuses: number[] = [];
      // 200, the app's own 500, nginx's 504 (timeout 1 s), and paths the app does not count as traffic.
      for (const path of ["/a", "/fail", "/slow", "/healthz", "/metrics", "/chaos"]) {
        const res = await fetch(`${url}${path}`);
        await res.body?.cancel();
        statuses.push(res.status);
      }
      assert.deepEqual(statuses.slice(0, 3), [200, 500, 504]);
      const after = await readEdgeSample(socket);
      assert.equal(after.instance, before.instance);
      assert.equal(after.requests - before.requests, 3);
      assert.equal(after.errors - before.errors, 2);
    });
    // nginx's own 502: nothing listens at the app's address.
    await withNginx(files["nginx.conf"], `127.0.0.1:${freePort()}`, async (url, _, dir) => {
      const before = await readEdgeSample(`${dir}/edge.sock`);
      const res = await fetch(`${url}/gone`);
      await res.body?.cancel();
      assert.equal(res.status, 502);
      const after = await readEdgeSample(`${dir}/edge.sock`);
      assert.deepEqual([after.requests - before.requests, after.errors - before.errors], [1, 1]);
    });
  } finally {
    await app.shutdown();
  }
});

// ---------------------------------------------------------------------------
// Routing without reloads (issue 13 item 3): the Lua balancer, the admin
// socket's /routes, and the per-variant edge figures, on a real nginx.

/** The shipped manifest rendered with a sticky cookie named `cookie` (or none). */
async function routedConf(cookie: string | null): Promise<string> {
  const shipped = await loadVariant(VARIANTS[0]!);
  const manifest = {
    ...shipped.manifest,
    rollout: {
      ...shipped.manifest.rollout,
      routing: { ...shipped.manifest.rollout.routing, sticky_cookie: cookie },
    },
  };
  return (await planAndRender(manifest, VARIANTS[0]!)).files["nginx.conf"];
}

/** Two apps answering with their name; closed by the returned function. */
function twoApps(): { stable: string; canary: string; close: () => Promise<void> } {
  const serve = (name: string) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) =>
      new Response(name, {
        status: new URL(req.url).pathname === "/fail" && name === "canary" ? 500 : 200,
      }));
  const [s, c] = [serve("stable"), serve("canary")];
  return {
    stable: `127.0.0.1:${s.addr.port}`,
    canary: `127.0.0.1:${c.addr.port}`,
    close: async () => {
      await s.shutdown();
      await c.shutdown();
    },
  };
}

function split(apps: { stable: string; canary: string }, weight: number, revision = 1): string {
  return encodeRoutes({
    revision,
    stable: { address: apps.stable, version: "1.0.0", container: "app-a" },
    canary: { address: apps.canary, version: "1.1.0", container: "app-b", weight },
  });
}

async function admin(
  dir: string,
  method: "GET" | "PUT",
  body?: string,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://nginx-admin/routes`, {
    method,
    ...(body === undefined ? {} : { body }),
    client: unixHttpClient(`${dir}/edge.sock`),
  });
  return { status: res.status, text: await res.text() };
}

async function variantOf(url: string, init: RequestInit = {}): Promise<[string, string, Response]> {
  const res = await fetch(url, init);
  const body = await res.text();
  return [res.headers.get("x-swiftdeploy-variant") ?? "", body, res];
}

Deno.test("renderAll() writes no app address into nginx.conf, only the routing table's path", async () => {
  for (const variant of VARIANTS) {
    const { files, plan } = await loadVariant(variant);
    const app = plan.containers.find((c) => c.role === "app")!;
    const address = Object.values(app.body.NetworkingConfig?.EndpointsConfig ?? {})[0]?.IPAMConfig
      ?.IPv4Address;
    assert.ok(address);
    assert.ok(!files["nginx.conf"].includes(address), variant.name);
    assert.doesNotMatch(files["nginx.conf"], /app_upstream|fresh_address/);
    assert.match(files["nginx.conf"], /local ROUTES_FILE = "\/etc\/nginx\/swiftdeploy\/routes"/);
  }
});

Deno.test("renderAll() renders the service's latency buckets and the pin header's variable", async () => {
  const conf = (await loadVariant(VARIANTS[0]!)).files["nginx.conf"];
  assert.ok(conf.includes(`local BOUNDS = { ${luaBuckets(DURATION_BUCKETS)} }`));
  assert.match(conf, /local PIN_VAR = "http_x_canary"/);
  assert.match(conf, /local COOKIE = ""/);
  assert.equal(luaBuckets([0.0005, 1, 2.5]), '{ 0.0005, "0.0005" }, { 1, "1" }, { 2.5, "2.5" }');
  assert.throws(() => luaBuckets([1, 1]), /latency bucket 1 is not a positive number/);
  assert.throws(() => luaBuckets([NaN]), /latency bucket NaN/);
});

Deno.test("renderAll() refuses a pin header or cookie name that is not a plain token", async () => {
  const shipped = await loadVariant(VARIANTS[0]!);
  const bad: [string, string | null][] = [
    ['X-Canary"; os.exit()', null],
    ["X Canary", null],
    ["X-Canary$", null],
    ["", null],
    ["X-Canary", "sd;x"],
    ["X-Canary", 'sd"'],
    ["X-Canary", "sd$x"],
    ["X-Canary", "-sd"],
  ];
  for (const [header, cookie] of bad) {
    const manifest = {
      ...shipped.manifest,
      rollout: { ...shipped.manifest.rollout, routing: { header, sticky_cookie: cookie } },
    };
    await assert.rejects(
      () => planAndRender(manifest, VARIANTS[0]!),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.code === "MANIFEST_INVALID" &&
        /rollout\.routing\.(header|sticky_cookie) /.test(e.message),
      `${header} / ${cookie}`,
    );
  }
});

Deno.test("nginx answers 503 with the JSON body while it holds no routing table", async () => {
  const { files, manifest } = await loadVariant(VARIANTS[0]!);
  await withNginx(files["nginx.conf"], null, async (url, _, dir) => {
    const res = await fetch(`${url}/anything`);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("x-swiftdeploy-variant"), null);
    assert.equal(res.headers.get("x-deployed-by"), "swiftdeploy");
    assert.deepEqual(await res.json(), {
      error: "Service Unavailable",
      code: 503,
      service: `${manifest.project}-app`,
      contact: manifest.nginx.contact,
    });
    assert.equal((await admin(dir, "GET")).status, 404);
  });
});

Deno.test("nginx's /routes takes only a newer, well-formed table and serves it at once", async () => {
  const apps = twoApps();
  try {
    const conf = (await loadVariant(VARIANTS[0]!)).files["nginx.conf"];
    await withNginx(conf, apps.stable, async (url, _, dir) => {
      assert.deepEqual(await admin(dir, "GET"), {
        status: 200,
        text: encodeRoutes({
          revision: 1,
          stable: { address: apps.stable, version: "1.0.0", container: "app-a" },
        }) + "\n",
      });
      assert.equal((await variantOf(`${url}/`))[1], "stable");
      // Everything to the canary, at revision 2.
      const two = split(apps, 100, 2);
      assert.deepEqual(await admin(dir, "PUT", two), { status: 200, text: two + "\n" });
      assert.deepEqual((await variantOf(`${url}/`)).slice(0, 2), ["canary", "canary"]);
      // Stale or equal revisions are refused with what nginx holds.
      for (const stale of [split(apps, 0, 2), split(apps, 0, 1)]) {
        assert.deepEqual(await admin(dir, "PUT", stale), { status: 409, text: two + "\n" });
      }
      // Malformed tables are refused and change nothing.
      const malformed: [string, RegExp][] = [
        ["", /it is empty/],
        [
          "revision=3&stable=10.0.0.1:80&stable_version=1&stable_container=a-b&x=1",
          /unknown key "x"/,
        ],
        [two.replace("revision=2", "revision=3").replace("weight=100", "weight=101"), /weight:/],
        [two.replace("revision=2", "revision=3") + "&weight=5", /weight: given twice/],
        [
          two.replace("revision=2", "revision=3").replace(/127\.0\.0\.1%3A\d+/, "localhost%3A80"),
          /stable: must be IPv4:port/,
        ],
        [
          two.replace("revision=2", "revision=3").replace(/&canary_container=[^&]*/, ""),
          /canary_container: missing/,
        ],
        [two.replace("revision=2", "revision=0"), /revision:/],
      ];
      for (const [body, pattern] of malformed) {
        const res = await admin(dir, "PUT", body);
        assert.equal(res.status, 400, body);
        assert.match(res.text, pattern);
      }
      assert.equal((await admin(dir, "GET")).text, two + "\n");
      // The CLI's own checks and nginx's agree on what each malformed table breaks.
      for (const [body] of malformed.slice(1)) {
        assert.throws(() => parseRoutes(body, "t"), /Cannot read the routing table/);
      }
    });
  } finally {
    await apps.close();
  }
});

Deno.test("nginx sends about the weight's share to the canary and pins requests by header both ways", async () => {
  const apps = twoApps();
  try {
    const conf = (await loadVariant(VARIANTS[0]!)).files["nginx.conf"];
    await withNginx(conf, null, async (url) => {
      let canary = 0;
      const n = 3000;
      for (let i = 0; i < n; i++) {
        const [variant, body] = await variantOf(`${url}/x`);
        assert.equal(variant, body, "the header names the variant that answered");
        if (body === "canary") canary++;
      }
      const share = (100 * canary) / n;
      console.log(`canary share at weight 10: ${share.toFixed(2)} % of ${n}`);
      assert.ok(Math.abs(share - 10) <= 2, `share ${share}`);
      for (
        const [pin, want] of [["always", "canary"], ["Canary", "canary"], ["NEVER", "stable"], [
          "stable",
          "stable",
        ]]
      ) {
        for (let i = 0; i < 20; i++) {
          const [variant, body] = await variantOf(`${url}/x`, { headers: { "X-Canary": pin! } });
          assert.deepEqual([variant, body], [want, want], pin);
        }
      }
    }, { routes: split(apps, 10) });
    // Without a canary the pin header changes nothing.
    await withNginx(conf, apps.stable, async (url) => {
      const [variant, body] = await variantOf(`${url}/x`, { headers: { "X-Canary": "always" } });
      assert.deepEqual([variant, body], ["stable", "stable"]);
    });
  } finally {
    await apps.close();
  }
});

Deno.test("nginx keeps a client on its variant with the sticky cookie, and a raised weight only moves stable clients", async () => {
  const apps = twoApps();
  try {
    const conf = await routedConf("sd_bucket");
    await withNginx(conf, null, async (url, _, dir) => {
      // 60 clients, each with the cookie nginx gave it at the first request.
      const clients: { cookie: string; variant: string }[] = [];
      for (let i = 0; i < 60; i++) {
        const [variant, , res] = await variantOf(`${url}/first`);
        const set = res.headers.get("set-cookie") ?? "";
        assert.match(set, /^sd_bucket=\d{1,2}; Path=\/; HttpOnly; SameSite=Lax$/);
        const cookie = set.split(";")[0]!;
        const bucket = Number(cookie.split("=")[1]);
        assert.equal(variant, bucket < 30 ? "canary" : "stable");
        clients.push({ cookie, variant });
      }
      for (const c of clients.slice(0, 10)) {
        for (let i = 0; i < 50; i++) {
          const [variant, , res] = await variantOf(`${url}/again`, {
            headers: { cookie: c.cookie },
          });
          assert.equal(variant, c.variant);
          assert.equal(res.headers.get("set-cookie"), null, "drawn once per client");
        }
      }
      assert.equal((await admin(dir, "PUT", split(apps, 60, 2))).status, 200);
      let moved = 0;
      for (const c of clients) {
        const [variant] = await variantOf(`${url}/later`, { headers: { cookie: c.cookie } });
        if (c.variant === "canary") assert.equal(variant, "canary", "a canary client stays");
        else if (variant === "canary") moved++;
      }
      console.log(
        `weight 30 → 60: ${moved} of ${
          clients.filter((c) => c.variant === "stable").length
        } stable clients moved`,
      );
      // The pin header beats the cookie.
      const canaryClient = clients.find((c) => c.variant === "canary");
      if (canaryClient) {
        const [variant] = await variantOf(`${url}/x`, {
          headers: { cookie: canaryClient.cookie, "X-Canary": "never" },
        });
        assert.equal(variant, "stable");
      }
      // A cookie that is not a bucket is replaced.
      const [, , res] = await variantOf(`${url}/x`, { headers: { cookie: "sd_bucket=abc" } });
      assert.match(res.headers.get("set-cookie") ?? "", /^sd_bucket=\d{1,2};/);
    }, { routes: split(apps, 30) });
  } finally {
    await apps.close();
  }
});

Deno.test("nginx counts per variant by class with the service's latency buckets, and names each route", async () => {
  const apps = twoApps();
  try {
    const conf = (await loadVariant(VARIANTS[0]!)).files["nginx.conf"];
    await withNginx(conf, null, async (url, _, dir) => {
      const pinned = async (variant: string, path: string, times: number) => {
        for (let i = 0; i < times; i++) {
          (await fetch(`${url}${path}`, { headers: { "X-Canary": variant } })).body?.cancel();
        }
      };
      await pinned("stable", "/a", 7);
      await pinned("canary", "/a", 4);
      await pinned("canary", "/fail", 3);
      await pinned("canary", "/healthz", 5);
      // nginx counts in its log phase, just after the last answer left.
      await new Promise((r) => setTimeout(r, 100));
      const text = await (await fetch("http://nginx-admin/edge-metrics", {
        client: unixHttpClient(`${dir}/edge.sock`),
      })).text();
      const sample = variantSampleFromText(text, 1);
      assert.equal(sample.revision, 1);
      assert.deepEqual(sample.variants.stable?.classes["2xx"], 7);
      assert.deepEqual(sample.variants.canary?.classes["2xx"], 4);
      assert.deepEqual(sample.variants.canary?.classes["5xx"], 3);
      assert.equal(sample.variants.canary?.count, 7);
      assert.deepEqual(
        sample.variants.canary?.buckets.map((b) => b.le),
        [...DURATION_BUCKETS, Infinity],
      );
      assert.equal(sample.variants.canary?.buckets.at(-1)?.count, 7);
      assert.deepEqual(sample.variants.canary?.route, {
        address: apps.canary,
        version: "1.1.0",
        container: "app-b",
      });
      assert.equal(sample.weight, 5);
      // The totals by class the promotion gate reads are unchanged.
      const edge = await readEdgeSample(`${dir}/edge.sock`);
      assert.deepEqual([edge.requests, edge.errors], [14, 3]);
    }, { routes: split(apps, 5) });
  } finally {
    await apps.close();
  }
});

Deno.test("renderAll() adds nginx's Prometheus listener inside http when prometheus.enabled, and nothing otherwise", async () => {
  const off = await loadVariant(VARIANTS[0]!);
  assert.equal(off.manifest.prometheus.enabled, false);
  assert.doesNotMatch(off.files["nginx.conf"], /9113|Prometheus listener/);
  const manifest = {
    ...off.manifest,
    prometheus: { ...off.manifest.prometheus, enabled: true, port: 9391 },
  };
  const on = await planAndRender(manifest, VARIANTS[0]!, off.hash);
  const conf = on.files["nginx.conf"];
  const address = on.plan.prometheus!.address;
  // The listener is the last block of http, closed by the file's final "}".
  const listener = nginxPrometheusListener(address, NGINX_ADMIN_SOCKET);
  assert.ok(conf.endsWith(`    }\n\n    ${listener}\n}\n`), conf.slice(-800));
  assert.match(conf, new RegExp(`allow ${address.replaceAll(".", "\\.")};\\n\\s+deny all;`));
  // Only the listener differs: everything before it is the disabled file.
  assert.equal(conf.replace(`\n\n    ${listener}`, ""), off.files["nginx.conf"]);
  assert.ok(!/[ \t]$/m.test(conf), "no trailing spaces");
  const checked = await nginxCheck(conf);
  assert.equal(checked.code, 0, checked.stderr);
});
