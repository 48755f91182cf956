import assert from "node:assert/strict";
import { createMetrics, DURATION_BUCKETS, methodLabel, pathLabel } from "./metrics.ts";
import { createHandler } from "./handler.ts";
import { mulberry32, sampleValue } from "./_testing.ts";

Deno.test("pathLabel() keeps the four routes and maps anything else to other", () => {
  for (const path of ["/", "/healthz", "/metrics", "/chaos"]) assert.equal(pathLabel(path), path);
  for (const path of ["/healthz/", "/x", "", "/CHAOS", "/metrics?x", "/other"]) {
    assert.equal(pathLabel(path), "other", path);
  }
});

Deno.test("methodLabel() keeps the seven usual methods and maps anything else to OTHER", () => {
  for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]) {
    assert.equal(methodLabel(method), method);
  }
  for (const method of ["BREW", "get", "CONNECT", "TRACE", ""]) {
    assert.equal(methodLabel(method), "OTHER", method);
  }
});

Deno.test("DURATION_BUCKETS resolve a P99 of a few milliseconds when sorted ascending", () => {
  assert.deepEqual([...DURATION_BUCKETS].sort((a, b) => a - b), [...DURATION_BUCKETS]);
  const below25ms = DURATION_BUCKETS.filter((b) => b <= 0.025);
  assert.ok(below25ms.length >= 8, `${below25ms.length} buckets at or below 25 ms`);
  assert.ok(DURATION_BUCKETS.includes(0.005) && DURATION_BUCKETS.includes(0.0025));
  assert.equal(DURATION_BUCKETS.at(-1), 10);
});

Deno.test("createMetrics() reads uptime and chaos at each scrape when sources change", async () => {
  let uptime = 1;
  let chaos: 0 | 1 | 2 = 0;
  const metrics = createMetrics({
    mode: "canary",
    uptimeSeconds: () => uptime,
    chaosActive: () => chaos,
  });
  metrics.observe("GET", "/", 200, 0.004);
  metrics.observe("GET", "/", 200, 0.004);
  metrics.observe("BREW", "/x/y", 404, 0.0001);
  let text = await metrics.render();
  assert.equal(sampleValue(text, "app_uptime_seconds"), 1);
  assert.equal(sampleValue(text, "chaos_active"), 0);
  assert.equal(sampleValue(text, "app_mode"), 1);
  assert.equal(
    sampleValue(text, "http_requests_total", { method: "GET", path: "/", status_code: "200" }),
    2,
  );
  assert.equal(
    sampleValue(text, "http_requests_total", {
      method: "OTHER",
      path: "other",
      status_code: "404",
    }),
    1,
  );
  const bucket = (le: string) =>
    sampleValue(text, "http_request_duration_seconds_bucket", { method: "GET", path: "/", le });
  assert.equal(bucket("0.0025"), 0);
  assert.equal(bucket("0.005"), 2);
  assert.equal(bucket("+Inf"), 2);

  uptime = 42.5;
  chaos = 2;
  text = await metrics.render();
  assert.equal(sampleValue(text, "app_uptime_seconds"), 42.5);
  assert.equal(sampleValue(text, "chaos_active"), 2);
  assert.equal(metrics.contentType, "text/plain; version=0.0.4; charset=utf-8");
});

/** Runs Debian's promtool; fails (never skips) when it is not installed. */
async function promtoolCheckMetrics(text: string): Promise<Deno.CommandOutput> {
  const command = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  });
  let child: Deno.ChildProcess;
  try {
    child = command.spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      assert.fail(
        'Cannot run "promtool": it is not on PATH; install Debian\'s "prometheus" package (apt-get install -y prometheus), which ships /usr/bin/promtool',
      );
    }
    throw error;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  return await child.output();
}

Deno.test("GET /metrics passes promtool check metrics with no lint problem after traffic", async () => {
  const handler = createHandler({ mode: "canary", version: "1.0.0" }, {
    random: mulberry32(1),
  });
  const send = (method: string, path: string, body?: string) =>
    handler(
      new Request(`http://app.test${path}`, body === undefined ? { method } : { method, body }),
    )
      .then((r) => r.body?.cancel());
  await send("POST", "/chaos", JSON.stringify({ mode: "error", rate: 0.3 }));
  for (let i = 0; i < 50; i++) await send("GET", "/");
  await send("GET", "/healthz");
  await send("GET", "/nowhere");
  await send("BREW", "/");
  await send("POST", "/chaos", "{broken");
  await send("GET", "/metrics");
  const text = await (await handler(new Request("http://app.test/metrics"))).text();
  assert.ok(sampleValue(text, "http_requests_total", { path: "/", status_code: "500" }));

  const result = await promtoolCheckMetrics(text);
  const printed = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  assert.equal(printed.trim(), "", `promtool reported problems:\n${printed}`);
  assert.equal(result.code, 0, `promtool exited ${result.code}`);
});

Deno.test("promtool check metrics reports a problem when a counter lacks _total (the check is live)", async () => {
  const result = await promtoolCheckMetrics(
    "# HELP requests Requests\n# TYPE requests counter\nrequests 1\n",
  );
  const printed = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  assert.match(printed, /_total/);
});

Deno.test("createMetrics() exports app_instance_info with an id that differs for every start", async () => {
  const sources = {
    mode: "stable" as const,
    uptimeSeconds: () => 1,
    chaosActive: () => 0 as const,
  };
  const a = createMetrics(sources);
  const b = createMetrics(sources);
  assert.notEqual(a.instance, b.instance);
  assert.match(a.instance, /^[0-9a-f-]{36}$/);
  const text = await a.render();
  assert.equal(sampleValue(text, "app_instance_info", { instance: a.instance }), 1);
  assert.equal(sampleValue(text, "app_instance_info", { instance: b.instance }), undefined);
  const named = createMetrics({ ...sources, instance: "pid-42" });
  assert.equal(named.instance, "pid-42");
  assert.equal(sampleValue(await named.render(), "app_instance_info", { instance: "pid-42" }), 1);
});
