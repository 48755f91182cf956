import assert from "node:assert/strict";
import { createHandler, type Handler, type HandlerDeps, MAX_CHAOS_BODY_BYTES } from "./handler.ts";
import type { Mode } from "./config.ts";
import { deferred, mulberry32, samples, sampleValue } from "./_testing.ts";

const VERSION = "9.8.7";

function handlerFor(mode: Mode, deps: HandlerDeps = {}): Handler {
  return createHandler({ mode, version: VERSION }, deps);
}

interface Answer {
  status: number;
  headers: Headers;
  body: string;
  json: () => Record<string, unknown>;
}

async function call(
  handler: Handler,
  method: string,
  path: string,
  body?: string,
): Promise<Answer> {
  const init: RequestInit = { method };
  if (body !== undefined) init.body = body;
  const response = await handler(new Request(`http://app.test${path}`, init));
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text,
    json: () => JSON.parse(text),
  };
}

function chaos(handler: Handler, command: unknown): Promise<Answer> {
  return call(handler, "POST", "/chaos", JSON.stringify(command));
}

async function scrape(handler: Handler): Promise<string> {
  return (await call(handler, "GET", "/metrics")).body;
}

/** How many times a header name occurs in the raw header list. */
function headerCount(headers: Headers, name: string): number {
  return [...headers].filter(([key]) => key.toLowerCase() === name.toLowerCase()).length;
}

// --- endpoints --------------------------------------------------------------

Deno.test("GET / returns the welcome JSON when called in stable mode", async () => {
  const handler = handlerFor("stable", { date: () => new Date("2026-11-21T23:59:58.765Z") });
  const answer = await call(handler, "GET", "/");
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get("Content-Type"), "application/json");
  assert.deepEqual(answer.json(), {
    message: "Welcome to SwiftDeploy API",
    mode: "stable",
    version: VERSION,
    timestamp: "2026-11-21T23:59:58Z",
  });
});

Deno.test("GET / returns an ISO-8601 UTC timestamp of now when no clock is injected", async () => {
  const before = Math.floor(Date.now() / 1000) * 1000;
  const answer = await call(handlerFor("canary"), "GET", "/");
  const timestamp = answer.json().timestamp as string;
  assert.match(timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const at = Date.parse(timestamp);
  assert.ok(at >= before && at <= Date.now(), timestamp);
});

Deno.test("GET /healthz returns ok with mode, version and uptime from the clock", async () => {
  let now = 5_000;
  const handler = handlerFor("canary", { now: () => now });
  now += 12_345.678;
  const answer = await call(handler, "GET", "/healthz");
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get("Content-Type"), "application/json");
  assert.deepEqual(answer.json(), {
    status: "ok",
    mode: "canary",
    version: VERSION,
    uptime_seconds: 12.35,
  });
});

Deno.test("GET /healthz ignores the query string when one is given", async () => {
  const handler = handlerFor("stable");
  const answer = await call(handler, "GET", "/healthz?probe=1");
  assert.equal(answer.status, 200);
  assert.equal(answer.json().status, "ok");
  assert.equal(
    sampleValue(await scrape(handler), "http_requests_total", { path: "/healthz" }),
    1,
  );
});

Deno.test("GET /metrics returns the five metrics in Prometheus text when scraped", async () => {
  let now = 0;
  const handler = handlerFor("stable", { now: () => now });
  now = 61_500;
  const answer = await call(handler, "GET", "/metrics");
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  for (
    const [name, type] of [
      ["http_requests_total", "counter"],
      ["http_request_duration_seconds", "histogram"],
      ["app_uptime_seconds", "gauge"],
      ["app_mode", "gauge"],
      ["chaos_active", "gauge"],
    ]
  ) {
    assert.match(answer.body, new RegExp(`^# TYPE ${name} ${type}$`, "m"));
    assert.match(answer.body, new RegExp(`^# HELP ${name} \\S`, "m"));
  }
  assert.equal(sampleValue(answer.body, "app_uptime_seconds"), 61.5);
  assert.equal(sampleValue(answer.body, "app_mode"), 0);
  assert.equal(sampleValue(answer.body, "chaos_active"), 0);
});

Deno.test("GET /metrics reports app_mode 1 when the service runs in canary mode", async () => {
  assert.equal(sampleValue(await scrape(handlerFor("canary")), "app_mode"), 1);
});

Deno.test("GET /metrics counts itself from the next scrape when scraped twice", async () => {
  const handler = handlerFor("stable");
  const first = await scrape(handler);
  assert.equal(sampleValue(first, "http_requests_total", { path: "/metrics" }), undefined);
  const second = await scrape(handler);
  assert.equal(
    sampleValue(second, "http_requests_total", {
      method: "GET",
      path: "/metrics",
      status_code: "200",
    }),
    1,
  );
});

Deno.test("HEAD / answers like GET without a body when called", async () => {
  const handler = handlerFor("canary");
  const answer = await call(handler, "HEAD", "/");
  assert.equal(answer.status, 200);
  assert.equal(answer.body, "");
  assert.equal(answer.headers.get("Content-Type"), "application/json");
  assert.equal(answer.headers.get("X-Mode"), "canary");
  assert.equal(
    sampleValue(await scrape(handler), "http_requests_total", { method: "HEAD", path: "/" }),
    1,
  );
});

// --- errors -------------------------------------------------------------------

Deno.test("an unknown path returns a JSON 404 when requested", async () => {
  for (const path of ["/nope", "/healthz/", "/metrics/x", "//", "/chaos/slow"]) {
    const answer = await call(handlerFor("stable"), "GET", path);
    assert.equal(answer.status, 404, path);
    assert.equal(answer.headers.get("Content-Type"), "application/json");
    assert.match(answer.json().error as string, /^Not found: no route for "/);
  }
});

Deno.test("a known path returns 405 with an Allow header when the method is wrong", async () => {
  const cases: [Mode, string, string, string][] = [
    ["stable", "POST", "/", "GET, HEAD"],
    ["canary", "DELETE", "/healthz", "GET, HEAD"],
    ["canary", "PUT", "/metrics", "GET, HEAD"],
    ["canary", "GET", "/chaos", "POST"],
    ["stable", "GET", "/chaos", "POST"],
    ["canary", "OPTIONS", "/", "GET, HEAD"],
    ["canary", "BREW", "/chaos", "POST"],
  ];
  for (const [mode, method, path, allow] of cases) {
    const answer = await call(handlerFor(mode), method, path);
    assert.equal(answer.status, 405, `${method} ${path}`);
    assert.equal(answer.headers.get("Allow"), allow);
    assert.equal(answer.headers.get("Content-Type"), "application/json");
    assert.equal(
      answer.json().error,
      `Method not allowed: ${JSON.stringify(path)} accepts ${allow}`,
    );
  }
});

Deno.test("an unexpected error returns a JSON 500 and is reported when a dependency throws", async () => {
  const reported: unknown[] = [];
  const handler = handlerFor("canary", {
    date: () => {
      throw new Error("clock broke");
    },
    onError: (error) => reported.push(error),
  });
  const answer = await call(handler, "GET", "/");
  assert.equal(answer.status, 500);
  assert.equal(answer.headers.get("Content-Type"), "application/json");
  assert.equal(answer.headers.get("X-Mode"), "canary");
  assert.match(answer.json().error as string, /^Internal server error/);
  assert.equal((reported[0] as Error).message, "clock broke");
  assert.equal(
    sampleValue(await scrape(handler), "http_requests_total", { path: "/", status_code: "500" }),
    1,
  );
});

// --- X-Mode ---------------------------------------------------------------------

async function everyKindOfAnswer(handler: Handler): Promise<Answer[]> {
  return [
    await call(handler, "GET", "/"),
    await call(handler, "HEAD", "/healthz"),
    await call(handler, "GET", "/healthz"),
    await call(handler, "GET", "/metrics"),
    await call(handler, "GET", "/missing"),
    await call(handler, "PATCH", "/"),
    await call(handler, "POST", "/chaos", "{not json"),
    await chaos(handler, { mode: "error", rate: 1 }),
    await call(handler, "GET", "/"),
    await chaos(handler, { mode: "recover" }),
  ];
}

Deno.test("every response carries X-Mode: canary exactly once when in canary mode", async () => {
  const answers = await everyKindOfAnswer(handlerFor("canary"));
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 200, 200, 200, 404, 405, 400, 200, 500, 200],
  );
  for (const answer of answers) {
    assert.equal(headerCount(answer.headers, "X-Mode"), 1, `status ${answer.status}`);
    assert.equal(answer.headers.get("X-Mode"), "canary");
  }
});

Deno.test("no response carries X-Mode when in stable mode", async () => {
  const answers = await everyKindOfAnswer(handlerFor("stable"));
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 200, 200, 200, 404, 405, 403, 403, 200, 403],
  );
  for (const answer of answers) {
    assert.equal(answer.headers.has("X-Mode"), false, `status ${answer.status}`);
  }
});

// --- POST /chaos --------------------------------------------------------------

Deno.test("POST /chaos returns 403 JSON and changes nothing when in stable mode", async () => {
  const handler = handlerFor("stable", { random: () => 0 });
  const answer = await chaos(handler, { mode: "error", rate: 1 });
  assert.equal(answer.status, 403);
  assert.equal(answer.headers.get("Content-Type"), "application/json");
  assert.match(answer.json().error as string, /only available in canary mode/);
  assert.equal((await call(handler, "GET", "/")).status, 200);
  assert.equal(sampleValue(await scrape(handler), "chaos_active"), 0);
});

Deno.test("POST /chaos echoes the new state and sets chaos_active when the command is valid", async () => {
  const handler = handlerFor("canary");
  const cases: [unknown, unknown, number][] = [
    [{ mode: "slow", duration: 1 }, { mode: "slow", duration: 1 }, 1],
    [{ mode: "error", rate: 0.5 }, { mode: "error", rate: 0.5 }, 2],
    [{ operation: "slow", duration: 30 }, { mode: "slow", duration: 30 }, 1],
    [{ operation: "error", rate: 0 }, { mode: "error", rate: 0 }, 2],
    [{ mode: "recover" }, { mode: "none" }, 0],
  ];
  for (const [command, state, active] of cases) {
    const answer = await chaos(handler, command);
    assert.equal(answer.status, 200, JSON.stringify(command));
    assert.equal(answer.headers.get("Content-Type"), "application/json");
    assert.deepEqual(answer.json(), { chaos: state });
    assert.equal(sampleValue(await scrape(handler), "chaos_active"), active);
  }
});

Deno.test("POST /chaos returns 400 naming the problem and keeps the state when the command is invalid", async () => {
  const handler = handlerFor("canary");
  await chaos(handler, { mode: "error", rate: 0.25 });
  const cases: [string, RegExp][] = [
    ["{not json", /body is not valid JSON/],
    ["", /body must be a JSON object, got nothing/],
    ["[1]", /body must be a JSON object/],
    ['{"mode":"melt"}', /unknown mode "melt"/],
    ['{"mode":"slow","duration":0}', /"duration" must be .* got 0$/],
    ['{"mode":"slow","duration":30.0001}', /got 30.0001$/],
    ['{"mode":"slow","duration":-1}', /got -1$/],
    ['{"mode":"slow","duration":"2"}', /got "2"$/],
    ['{"mode":"error","rate":1.0001}', /"rate" must be a number between 0 and 1, got 1.0001$/],
    ['{"mode":"error","rate":-0.1}', /got -0.1$/],
    ['{"mode":"error","rate":"0.5"}', /got "0.5"$/],
    ['{"mode":"slow","operation":"error"}', /disagree/],
  ];
  for (const [body, message] of cases) {
    const answer = await call(handler, "POST", "/chaos", body);
    assert.equal(answer.status, 400, body);
    assert.equal(answer.headers.get("Content-Type"), "application/json");
    assert.match(answer.json().error as string, /^Invalid chaos command: /);
    assert.match(answer.json().error as string, message);
  }
  assert.equal(sampleValue(await scrape(handler), "chaos_active"), 2);
});

Deno.test("POST /chaos accepts the bounds 30 seconds and rate 1 when given", async () => {
  const handler = handlerFor("canary");
  assert.equal((await chaos(handler, { mode: "slow", duration: 30 })).status, 200);
  assert.equal((await chaos(handler, { mode: "error", rate: 1 })).status, 200);
  assert.equal((await chaos(handler, { mode: "error", rate: 0 })).status, 200);
});

Deno.test("POST /chaos returns 413 when the body is larger than the limit", async () => {
  const handler = handlerFor("canary");
  const padding = " ".repeat(MAX_CHAOS_BODY_BYTES);
  const answer = await call(handler, "POST", "/chaos", `{"mode":"recover"}${padding}`);
  assert.equal(answer.status, 413);
  assert.match(answer.json().error as string, /larger than 16384 bytes/);
  const streamed = await handler(
    new Request("http://app.test/chaos", {
      method: "POST",
      body: ReadableStream.from([new TextEncoder().encode(`{"mode":"recover"}${padding}`)]),
    }),
  );
  assert.equal(streamed.status, 413, "a body without Content-Length is bounded too");
  await streamed.body?.cancel();
});

// --- chaos behaviour --------------------------------------------------------------

Deno.test("error chaos fails 50% ± 2% of 10,000 requests when the rate is 0.5", async () => {
  const handler = handlerFor("canary", { random: mulberry32(20261121) });
  await chaos(handler, { mode: "error", rate: 0.5 });
  let errors = 0;
  for (let i = 0; i < 10_000; i++) {
    const answer = await call(handler, "GET", "/");
    if (answer.status === 500) {
      errors++;
      if (errors === 1) {
        assert.deepEqual(answer.json(), {
          error: "chaos: injected error",
          mode: "canary",
          version: VERSION,
        });
        assert.equal(answer.headers.get("Content-Type"), "application/json");
      }
    } else {
      assert.equal(answer.status, 200);
    }
  }
  assert.ok(Math.abs(errors / 10_000 - 0.5) <= 0.02, `${errors} errors out of 10000`);
  const text = await scrape(handler);
  const labels = { method: "GET", path: "/" };
  assert.equal(sampleValue(text, "http_requests_total", { ...labels, status_code: "500" }), errors);
  assert.equal(
    sampleValue(text, "http_requests_total", { ...labels, status_code: "200" }),
    10_000 - errors,
  );
  assert.equal(sampleValue(text, "http_request_duration_seconds_count", labels), 10_000);
});

Deno.test("error chaos never fails when the rate is 0 and always fails when it is 1", async () => {
  const handler = handlerFor("canary", { random: mulberry32(7) });
  await chaos(handler, { mode: "error", rate: 0 });
  for (let i = 0; i < 200; i++) assert.equal((await call(handler, "GET", "/")).status, 200);
  await chaos(handler, { mode: "error", rate: 1 });
  for (let i = 0; i < 200; i++) assert.equal((await call(handler, "GET", "/")).status, 500);
  await chaos(handler, { mode: "recover" });
  assert.equal((await call(handler, "GET", "/")).status, 200);
});

Deno.test("error chaos spares /healthz, /metrics, /chaos and unknown paths when active", async () => {
  const handler = handlerFor("canary", { random: () => 0 });
  await chaos(handler, { mode: "error", rate: 1 });
  assert.equal((await call(handler, "GET", "/")).status, 500);
  assert.equal((await call(handler, "GET", "/healthz")).status, 200);
  assert.equal((await call(handler, "GET", "/metrics")).status, 200);
  assert.equal((await call(handler, "GET", "/other")).status, 404);
  assert.equal((await call(handler, "POST", "/")).status, 405);
  assert.equal((await chaos(handler, { mode: "error", rate: 1 })).status, 200);
});

Deno.test("slow chaos delays GET / without delaying other requests when active", async () => {
  let now = 0;
  const gate = deferred();
  const slept: number[] = [];
  const handler = handlerFor("canary", {
    now: () => now,
    sleep: (ms) => (slept.push(ms), gate.promise),
  });
  assert.deepEqual((await chaos(handler, { mode: "slow", duration: 1.5 })).json(), {
    chaos: { mode: "slow", duration: 1.5 },
  });

  let slowDone = false;
  const slow = call(handler, "GET", "/").then((answer) => ((slowDone = true), answer));
  await Promise.resolve();
  assert.deepEqual(slept, [1500]);

  // While the slow request sleeps, everything that is not an application path answers.
  assert.equal((await call(handler, "GET", "/healthz")).status, 200);
  assert.equal((await call(handler, "GET", "/metrics")).status, 200);
  assert.equal((await call(handler, "GET", "/nowhere")).status, 404);
  assert.equal((await chaos(handler, { mode: "slow", duration: 2 })).status, 200);
  assert.equal(slowDone, false, "the slow request is still sleeping");

  now += 1500;
  gate.resolve();
  const answer = await slow;
  assert.equal(answer.status, 200);
  assert.equal(answer.json().message, "Welcome to SwiftDeploy API");

  // The sleep is part of the recorded latency: 1.5 s lands in the le="2.5" bucket.
  const text = await scrape(handler);
  const labels = { method: "GET", path: "/" };
  assert.equal(sampleValue(text, "http_request_duration_seconds_sum", labels), 1.5);
  assert.equal(
    sampleValue(text, "http_request_duration_seconds_bucket", { ...labels, le: "1" }),
    0,
  );
  assert.equal(
    sampleValue(text, "http_request_duration_seconds_bucket", { ...labels, le: "2.5" }),
    1,
  );
});

Deno.test("slow chaos spares /healthz when served over real HTTP with a real 200 ms sleep", async () => {
  const handler = handlerFor("canary");
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const set = await fetch(`${base}/chaos`, {
      method: "POST",
      body: JSON.stringify({ mode: "slow", duration: 0.2 }),
    });
    assert.equal(set.status, 200);
    await set.body?.cancel();

    const started = performance.now();
    const slow = fetch(`${base}/`).then(async (r) => {
      await r.body?.cancel();
      return { status: r.status, ms: performance.now() - started };
    });
    await new Promise((r) => setTimeout(r, 20));
    const health = await fetch(`${base}/healthz`);
    const healthMs = performance.now() - started;
    assert.equal(health.status, 200);
    assert.equal(health.headers.get("X-Mode"), "canary");
    await health.body?.cancel();

    const done = await slow;
    assert.equal(done.status, 200);
    assert.ok(done.ms >= 195, `the slow request took ${done.ms} ms`);
    assert.ok(healthMs < done.ms - 50, `/healthz took ${healthMs} ms, / took ${done.ms} ms`);
  } finally {
    await server.shutdown();
  }
});

// --- metrics ------------------------------------------------------------------

Deno.test("metrics count failing requests by status code when requests fail", async () => {
  const handler = handlerFor("canary", { random: () => 0 });
  await call(handler, "GET", "/missing");
  await call(handler, "DELETE", "/");
  await call(handler, "POST", "/chaos", "nope");
  await chaos(handler, { mode: "error", rate: 1 });
  await call(handler, "GET", "/");
  await call(handler, "GET", "/");
  const text = await scrape(handler);
  const count = (labels: Record<string, string>) =>
    sampleValue(text, "http_requests_total", labels);
  assert.equal(count({ method: "GET", path: "other", status_code: "404" }), 1);
  assert.equal(count({ method: "DELETE", path: "/", status_code: "405" }), 1);
  assert.equal(count({ method: "POST", path: "/chaos", status_code: "400" }), 1);
  assert.equal(count({ method: "POST", path: "/chaos", status_code: "200" }), 1);
  assert.equal(count({ method: "GET", path: "/", status_code: "500" }), 2);
});

Deno.test("metrics record every unknown path as other when 100 random paths are requested", async () => {
  const handler = handlerFor("stable");
  const random = mulberry32(99);
  for (let i = 0; i < 100; i++) {
    const path = "/" + Math.floor(random() * 1e12).toString(36) + "/" + i;
    assert.equal((await call(handler, "GET", path)).status, 404);
  }
  const text = await scrape(handler);
  const paths = new Set(samples(text, "http_requests_total").map((s) => s.labels.path));
  assert.deepEqual([...paths], ["other"]);
  assert.equal(sampleValue(text, "http_requests_total", { path: "other" }), 100);
  const histogramPaths = new Set(
    samples(text, "http_request_duration_seconds_count").map((s) => s.labels.path),
  );
  assert.deepEqual([...histogramPaths], ["other"]);
});

Deno.test("metrics record unknown methods as OTHER when unusual methods are used", async () => {
  const handler = handlerFor("stable");
  for (const method of ["BREW", "PROPFIND", "SEARCH", "MKCOL"]) {
    await call(handler, method, "/healthz");
  }
  await call(handler, "OPTIONS", "/healthz");
  const text = await scrape(handler);
  const methods = new Set(samples(text, "http_requests_total").map((s) => s.labels.method));
  assert.deepEqual([...methods].sort(), ["OPTIONS", "OTHER"]);
  assert.equal(
    sampleValue(text, "http_requests_total", {
      method: "OTHER",
      path: "/healthz",
      status_code: "405",
    }),
    4,
  );
});

Deno.test("createHandler() keeps separate metrics when many handlers live in one process", async () => {
  const handlers = Array.from({ length: 20 }, () => handlerFor("stable"));
  const first = handlers[0] as Handler;
  await call(first, "GET", "/");
  await call(first, "GET", "/");
  assert.equal(sampleValue(await scrape(first), "http_requests_total", { path: "/" }), 2);
  const second = handlers[1] as Handler;
  assert.equal(sampleValue(await scrape(second), "http_requests_total", { path: "/" }), undefined);
});

Deno.test("createHandler() reports the instance in /healthz when it is configured", async () => {
  const handler = createHandler({ mode: "stable", version: "1.0.0", instance: "0123456789ab" });
  const body = await (await handler(new Request("http://app/healthz"))).json();
  assert.equal(body.instance, "0123456789ab");
  const plain = createHandler({ mode: "stable", version: "1.0.0" });
  assert.equal((await (await plain(new Request("http://app/healthz"))).json()).instance, undefined);
});
