import assert from "node:assert/strict";
import { nginxTestArgs, nginxTestCopy } from "./mod.ts";
import { loadVariant, requireProgram, run, VARIANTS } from "./_testing.ts";
import { freePort } from "../../testing/free_port.ts";
import { readEdgeSample } from "../edge/mod.ts";

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
 * free loopback ports, the upstream pointed at `upstream`, timeouts of 1s)
 * and calls `use` with the base URLs of the public and health servers.
 */
async function withNginx(
  conf: string,
  upstream: string,
  use: (publicUrl: string, healthUrl: string, dir: string) => Promise<void>,
): Promise<void> {
  const [publicPort, healthPort] = [freePort(), freePort()];
  const dir = await confDir();
  const live = nginxTestCopy(conf, dir)
    .replace(/^(\s*)listen \d+;/m, `$1listen 127.0.0.1:${publicPort};`)
    .replace(/^(\s*)listen 127\.0\.0\.1:8099;/m, `$1listen 127.0.0.1:${healthPort};`)
    .replace(/^(\s*set \$app_upstream )'[^']*';/m, `$1'${upstream}';`)
    .replace(/^(\s*server )[^\s;]+:\d+( max_fails)/m, `$1${upstream}$2`)
    .replace(/^(\s*proxy_\w+_timeout )\d+s;/gm, "$11s;");
  assert.ok(live.includes(`'${upstream}'`) && live.includes(`:${healthPort};`));
  await Deno.writeTextFile(`${dir}/nginx.conf`, live);
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
