import assert from "node:assert/strict";
import { changeArgv, matchRoute, parseListenAddress, resumeLine, ROUTES, sseFrame } from "./mod.ts";

Deno.test("matchRoute() finds each route with its params; 404 for unknown paths, 405 with Allow for other methods", () => {
  for (const r of ROUTES) {
    const path = r.pattern.replace("{id}", "op-1").replace("{action}", "pause");
    const m = matchRoute(r.method, path);
    assert.ok(m.ok && m.route.name === r.name, `${r.method} ${path}`);
  }
  const op = matchRoute("GET", "/v1/operations/op-20261130T000000Z-0a1b2c3d");
  assert.ok(op.ok);
  assert.deepEqual(op.params, { id: "op-20261130T000000Z-0a1b2c3d" });
  assert.deepEqual(matchRoute("GET", "/v1/deploy"), { ok: false, status: 405, allow: ["POST"] });
  assert.deepEqual(matchRoute("DELETE", "/v1/status"), { ok: false, status: 405, allow: ["GET"] });
  assert.ok(matchRoute("HEAD", "/v1/status").ok);
  for (
    const p of [
      "/v1/nope",
      "/v1/status/",
      "/v1/operations/..",
      "/v1/operations/a%2Fb",
      "/v1/operations/" + "a".repeat(129),
      "/v1/releases/%2e%2e",
      "/",
      "",
    ]
  ) {
    assert.deepEqual(matchRoute("GET", p), { ok: false, status: 404, allow: [] }, p);
  }
});

Deno.test("parseListenAddress() accepts loopback addresses only", () => {
  assert.deepEqual(parseListenAddress("127.0.0.1:8080"), { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListenAddress("127.3.2.1:0"), { hostname: "127.3.2.1", port: 0 });
  assert.deepEqual(parseListenAddress("localhost:9"), { hostname: "127.0.0.1", port: 9 });
  assert.deepEqual(parseListenAddress("[::1]:8080"), { hostname: "::1", port: 8080 });
  for (
    const bad of [
      "0.0.0.0:80",
      "192.168.1.2:80",
      "[::]:80",
      "10.0.0.1:1",
      "127.0.0.1",
      "127.0.0.256:80",
      "127.0.0.1:70000",
      "example.com:80",
    ]
  ) {
    assert.throws(
      () => parseListenAddress(bad),
      (e: Error & { exitCode?: number }) => e.exitCode === 2,
      bad,
    );
  }
});

Deno.test("changeArgv() maps bodies to CLI arguments and refuses unknown fields and bad values", () => {
  assert.deepEqual(changeArgv("deploy", {}, {}), { ok: true, kind: "deploy", argv: ["deploy"] });
  assert.deepEqual(changeArgv("deploy", {}, { retry: true, timeout_seconds: 30 }), {
    ok: true,
    kind: "deploy",
    argv: ["deploy", "--retry", "--timeout", "30"],
  });
  assert.deepEqual(changeArgv("promote", {}, { mode: "canary" }), {
    ok: true,
    kind: "promote",
    argv: ["promote", "canary"],
  });
  assert.deepEqual(changeArgv("rollout", { action: "abort" }, { force: true }), {
    ok: true,
    kind: "rollout abort",
    argv: ["rollout", "abort", "--force"],
  });
  for (const release of ["7", 7]) {
    assert.deepEqual(changeArgv("rollback", {}, { release }), {
      ok: true,
      kind: "rollback",
      argv: ["rollback", "7"],
    });
  }
  for (
    const [route, params, body] of [
      ["deploy", {}, { retyr: true }],
      ["deploy", {}, { retry: "yes" }],
      ["deploy", {}, { timeout_seconds: -1 }],
      ["promote", {}, { mode: "blue" }],
      ["promote", {}, {}],
      ["rollout", { action: "pause" }, { force: true }],
      ["rollout", { action: "explode" }, {}],
      ["rollback", {}, { release: "../x" }],
      ["rollback", {}, { release: "abc" }],
      ["rollback", {}, { release: "0" }],
      ["rollback", {}, { release: 1.5 }],
      ["rollback", {}, { release: -3 }],
      ["rollback", {}, { release: true }],
    ] as const
  ) {
    assert.equal(
      changeArgv(route, params, body as Record<string, unknown>).ok,
      false,
      JSON.stringify(body),
    );
  }
});

Deno.test("sseFrame() frames id, event and one data line per payload line; resumeLine() reads our ids only", () => {
  assert.equal(
    sseFrame({ id: "4", event: "history", data: "a\nb" }),
    "id: 4\nevent: history\ndata: a\ndata: b\n\n",
  );
  assert.equal(sseFrame({ id: "4\n5", data: "x" }), "id: 45\ndata: x\n\n");
  assert.equal(resumeLine("42"), 42);
  assert.equal(resumeLine("42.7"), 42);
  assert.equal(resumeLine(" 0 "), 0);
  assert.equal(resumeLine(null), undefined);
  assert.equal(resumeLine("abc"), undefined);
  assert.equal(resumeLine("-1"), undefined);
});

Deno.test("docs/openapi.yaml and docs/api.md describe every route of ROUTES, and no other", async () => {
  const { parse } = await import("yaml");
  const root = new URL("../../docs/", import.meta.url);
  const spec = parse(await Deno.readTextFile(new URL("openapi.yaml", root))) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const documented = Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)
  ).sort();
  const routes = ROUTES.map((r) =>
    `${r.method} ${r.pattern.replace("{id}", r.name.startsWith("release") ? "{n}" : "{id}")}`
  )
    .sort();
  assert.deepEqual(documented, routes);
  const md = await Deno.readTextFile(new URL("api.md", root));
  for (const r of ROUTES) {
    const path = r.pattern.replace("{id}", r.name.startsWith("release") ? "{n}" : "{id}");
    assert.ok(md.includes(`\`${path}\``), `docs/api.md lacks ${path}`);
  }
});
