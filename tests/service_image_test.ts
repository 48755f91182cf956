/**
 * The app image in the real engine, behind the real nginx of a deployed
 * stack: the routes through nginx, the X-Deployed-By header, nginx's own
 * JSON 502 when the app is gone, the access log format, and a slow request
 * that survives the app's SIGTERM.
 */
import assert from "node:assert/strict";
import { EngineClient } from "../cli/engine/mod.ts";
import { readTar } from "../cli/tar/mod.ts";
import { LABEL_PROJECT, LABEL_ROLE } from "../cli/plan/mod.ts";
import { getJson, makeStack, type RunResult, type TestStack } from "./_harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function describe(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

async function withEngine<T>(fn: (engine: EngineClient) => Promise<T>): Promise<T> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/** The id of the project's running container of `role`. */
async function containerOf(stack: TestStack, role: "app" | "nginx"): Promise<string> {
  const list = await withEngine((e) =>
    e.containerList([`${LABEL_PROJECT}=${stack.project}`, `${LABEL_ROLE}=${role}`], false)
  );
  assert.equal(list.length, 1, `expected one running ${role} container of ${stack.project}`);
  return list[0]!.Id;
}

async function deployed(mode: "stable" | "canary"): Promise<TestStack> {
  const stack = await makeStack({ mode });
  const r = await stack.run(["deploy"]);
  if (r.code !== 0) {
    await stack.cleanup();
    assert.fail(`deploy failed: ${describe(r)}`);
  }
  return stack;
}

async function text(url: string, init: RequestInit = {}): Promise<{ res: Response; body: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  return { res, body: await res.text() };
}

/** `$time_iso8601 | $status | ${request_time}s | $upstream_addr | $request` */
const ACCESS_LINE =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2} \| (\d{3}) \| \d+\.\d{3}s \| (\S+(?:, \S+)*) \| ([A-Z]+ \S+ HTTP\/1\.[01])$/;

Deno.test({
  name: "the app image answers every route through nginx when deployed in stable mode",
  ...opts,
  fn: async (t) => {
    const stack = await deployed("stable");
    try {
      await t.step("GET / answers 200 JSON with message, mode, version and timestamp", async () => {
        const { status, body, headers } = await getJson(stack.url("/"));
        assert.equal(status, 200);
        assert.match(headers.get("content-type") ?? "", /^application\/json/);
        assert.equal(headers.get("x-deployed-by"), "swiftdeploy");
        assert.deepEqual(Object.keys(body).sort(), ["message", "mode", "timestamp", "version"]);
        assert.equal(body.message, "Welcome to SwiftDeploy API");
        assert.equal(body.mode, "stable");
        assert.equal(body.version, "1.0.0");
        assert.match(String(body.timestamp), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        assert.ok(Math.abs(Date.parse(String(body.timestamp)) - Date.now()) < 60_000);
        assert.equal(headers.get("x-mode"), null, "stable responses carry no X-Mode");
      });

      await t.step("GET /healthz answers status ok", async () => {
        const { status, body, headers } = await getJson(stack.url("/healthz"));
        assert.equal(status, 200);
        assert.equal(headers.get("x-deployed-by"), "swiftdeploy");
        assert.equal(body.status, "ok");
        assert.equal(body.mode, "stable");
        assert.equal(body.version, "1.0.0");
        assert.equal(typeof body.uptime_seconds, "number");
      });

      await t.step("GET /metrics answers Prometheus text with http_requests_total", async () => {
        const { res, body } = await text(stack.url("/metrics"));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-deployed-by"), "swiftdeploy");
        assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
        assert.match(body, /^# TYPE http_requests_total counter$/m);
        assert.match(
          body,
          /^http_requests_total\{[^}]*path="\/"[^}]*status_code="200"[^}]*\} [1-9]\d*$/m,
        );
      });

      await t.step("an unknown path answers the app's 404 JSON", async () => {
        const { status, body, headers } = await getJson(stack.url("/no-such-path"));
        assert.equal(status, 404);
        assert.equal(headers.get("x-deployed-by"), "swiftdeploy");
        assert.match(headers.get("content-type") ?? "", /^application\/json/);
        assert.match(String(body.error), /no-such-path/);
      });

      await t.step("POST /chaos answers 403 JSON in stable mode", async () => {
        const { res, body } = await text(stack.url("/chaos"), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ mode: "error", rate: 1 }),
        });
        assert.equal(res.status, 403);
        assert.equal(res.headers.get("x-deployed-by"), "swiftdeploy");
        assert.match(String(JSON.parse(body).error), /canary/);
        const after = await getJson(stack.url("/"));
        assert.equal(after.status, 200, "chaos must not have been applied");
      });

      await t.step("nginx writes access log lines in the SwiftDeploy format", async () => {
        const nginx = await containerOf(stack, "nginx");
        const res = await withEngine((e) =>
          e.request("GET", `/containers/${nginx}/archive`, {
            query: { path: "/var/log/nginx/access.log" },
          })
        );
        const entries = readTar(new Uint8Array(await res.arrayBuffer()));
        const log = entries.find((e) => e.name.endsWith("access.log"));
        assert.ok(log, `no access.log in ${entries.map((e) => e.name).join(", ")}`);
        const lines = new TextDecoder().decode(log.data).split("\n").filter((l) => l !== "");
        assert.ok(lines.length >= 5, `too few lines:\n${lines.join("\n")}`);
        for (const line of lines) assert.match(line, ACCESS_LINE);
        const notFound = lines.find((l) => l.endsWith("| GET /no-such-path HTTP/1.1"));
        assert.ok(notFound, `no line for /no-such-path:\n${lines.join("\n")}`);
        const [, status, upstream] = notFound.match(ACCESS_LINE)!;
        assert.equal(status, "404");
        assert.match(upstream!, /^\d+\.\d+\.\d+\.\d+:3000$/);
        assert.ok(lines.some((l) => / \| 403 \| .* \| POST \/chaos HTTP\/1\.1$/.test(l)));
      });

      // Started the moment the app stops; judged in the last step.
      let immediate: Promise<{ status: number; ms: number }> | undefined;

      await t.step("nginx answers its JSON 502 once the app container is stopped", async () => {
        const app = await containerOf(stack, "app");
        await withEngine((e) => e.containerStop(app, 10));
        const t0 = performance.now();
        immediate = fetch(stack.url("/"), { signal: AbortSignal.timeout(10_000) })
          .then(async (res) => {
            await res.body?.cancel();
            return { status: res.status, ms: performance.now() - t0 };
          })
          .catch(() => ({ status: 0, ms: performance.now() - t0 }));
        // Also once nginx has marked the address down (fail_timeout=5s): ask after that.
        await new Promise((r) => setTimeout(r, 6000));
        const { status, body, headers } = await getJson(stack.url("/"));
        assert.equal(status, 502);
        assert.equal(headers.get("x-deployed-by"), "swiftdeploy");
        assert.match(headers.get("content-type") ?? "", /^application\/json/);
        assert.deepEqual(body, {
          error: "Bad Gateway",
          code: 502,
          service: `${stack.project}-app`,
          contact: "ops@swiftdeploy.local",
        });
      });

      await t.step(
        "nginx answers 502 within 5 s when asked right after the app stopped",
        async () => {
          assert.ok(immediate, "the previous step did not run");
          const { status, ms } = await immediate;
          assert.equal(
            status,
            502,
            `right after the app stopped nginx answered ${
              status === 0 ? "nothing" : status
            } after ${(ms / 1000).toFixed(1)} s`,
          );
          assert.ok(ms < 5000, `502 took ${(ms / 1000).toFixed(1)} s`);
        },
      );
    } finally {
      await stack.cleanup();
    }
  },
});

Deno.test({
  name: "the app finishes a slow request when it gets SIGTERM in the middle of it",
  ...opts,
  fn: async () => {
    const stack = await deployed("canary");
    try {
      const chaos = await text(stack.url("/chaos"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ mode: "slow", duration: 2 }),
      });
      assert.equal(chaos.res.status, 200, chaos.body);
      const app = await containerOf(stack, "app");
      const t0 = performance.now();
      const slow = text(stack.url("/"));
      await new Promise((r) => setTimeout(r, 300));
      const stopped = withEngine((e) => e.containerStop(app, 15)).then(() => performance.now());
      const { res, body } = await slow;
      const answered = performance.now();
      assert.equal(res.status, 200, body);
      assert.equal(res.headers.get("x-deployed-by"), "swiftdeploy");
      assert.equal(res.headers.get("x-mode"), "canary");
      assert.equal(JSON.parse(body).mode, "canary");
      assert.ok(answered - t0 >= 1900, `the request was not slow (${answered - t0} ms)`);
      const stoppedAt = await stopped;
      assert.ok(
        stoppedAt - t0 >= 1500,
        `the app exited ${(stoppedAt - t0).toFixed(0)} ms in, before its request was done`,
      );
      const state = await withEngine((e) => e.containerInspect(app));
      assert.equal(state?.State.Running, false);
      assert.equal(state?.State.ExitCode, 0, "SIGTERM should end the app cleanly (exit 0)");
    } finally {
      await stack.cleanup();
    }
  },
});
