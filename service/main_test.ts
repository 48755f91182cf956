/**
 * The real process: `deno run service/main.ts` as a child, driven over TCP
 * and signals. Slower than the handler tests (each start costs ~100 ms).
 */

import assert from "node:assert/strict";
import {
  connectionRefused,
  freePort,
  MAIN_TS,
  runDeno,
  type RunningDeno,
  spawnDeno,
  waitUntilRefused,
} from "./_testing.ts";

const RUN = ["run", "--allow-net", "--allow-env", "--no-prompt", MAIN_TS];
const STARTED = /Started SwiftDeploy API: .*\n/;

async function startService(vars: Record<string, string>): Promise<RunningDeno> {
  const service = spawnDeno(RUN, vars);
  try {
    await service.stdout.waitFor(STARTED);
  } catch (error) {
    service.child.kill("SIGKILL");
    await service.finished();
    throw new Error(`${(error as Error).message}\nstderr: ${service.stderr.text}`);
  }
  return service;
}

async function stop(service: RunningDeno): Promise<void> {
  try {
    service.child.kill("SIGKILL");
  } catch {
    // already exited
  }
  await service.finished();
}

const INVALID_ENV: readonly [string, string][] = [
  ["MODE", "prod"],
  ["APP_VERSION", "has space"],
  ["APP_PORT", "99999"],
  ["SHUTDOWN_TIMEOUT_SECONDS", "-5"],
];

Deno.test("main.ts exits 2 with one line naming the variable when the environment is invalid", async () => {
  await Promise.all(INVALID_ENV.map(async ([variable, value]) => {
    const { code, stdout, stderr } = await runDeno(RUN, { [variable]: value });
    assert.equal(code, 2, `${variable}=${value}: exit code`);
    assert.equal(stdout, "", `${variable}: nothing on stdout`);
    const lines = stderr.split("\n").filter((line) => line !== "");
    assert.equal(lines.length, 1, `${variable}: one line on stderr, got ${JSON.stringify(stderr)}`);
    assert.match(
      lines[0] as string,
      new RegExp(`^Invalid environment variable ${variable}: .*, got ${JSON.stringify(value)}$`),
    );
  }));
});

Deno.test("main.ts logs its start", async () => {
  const port = freePort();
  const service = await startService({ MODE: "stable", APP_VERSION: "2.0.0", APP_PORT: `${port}` });
  try {
    assert.match(
      service.stdout.text,
      new RegExp(
        `^\\S+Z Started SwiftDeploy API: mode "stable", version "2.0.0", port ${port}\\n$`,
      ),
    );
    assert.equal((await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).status, "ok");
  } finally {
    await stop(service);
  }
});

Deno.test("main.ts finishes an in-flight slow request and exits 0 when sent SIGTERM", async () => {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const service = await startService({ MODE: "canary", APP_PORT: `${port}` });
  try {
    const set = await fetch(`${base}/chaos`, {
      method: "POST",
      body: JSON.stringify({ mode: "slow", duration: 1 }),
    });
    assert.equal(set.status, 200);
    await set.body?.cancel();

    const started = performance.now();
    const slow = fetch(`${base}/`).then(async (response) => ({
      status: response.status,
      mode: response.headers.get("X-Mode"),
      body: await response.json(),
      ms: performance.now() - started,
    }));
    await new Promise((resolve) => setTimeout(resolve, 300));

    service.child.kill("SIGTERM");
    await service.stdout.waitFor(/Shutting down on SIGTERM: .*\n/);
    assert.match(
      service.stdout.text,
      /Shutting down on SIGTERM: closing the listener, waiting up to 10s for 1 in-flight request\n/,
    );
    // The listener closes asynchronously, within milliseconds of the signal.
    const refusedAfter = await waitUntilRefused(port, 500);
    assert.ok(refusedAfter !== undefined, "a new connection after SIGTERM is refused");
    assert.equal(await connectionRefused(port), true, "and stays refused");

    const answer = await slow;
    assert.equal(answer.status, 200);
    assert.equal(answer.mode, "canary");
    assert.equal(answer.body.message, "Welcome to SwiftDeploy API");
    assert.ok(answer.ms >= 950, `the slow request took ${answer.ms} ms`);

    const status = await service.finished();
    assert.equal(status.code, 0, `exit code; stderr: ${service.stderr.text}`);
    assert.match(
      service.stdout.text,
      /Shutdown complete: in-flight requests finished in \d+\.\d\ds\n$/,
    );
    assert.equal(service.stderr.text, "");
  } finally {
    await stop(service);
  }
});

Deno.test("main.ts exits 1 after SHUTDOWN_TIMEOUT_SECONDS when a request outlives it", async () => {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const service = await startService({
    MODE: "canary",
    APP_PORT: `${port}`,
    SHUTDOWN_TIMEOUT_SECONDS: "0.3",
  });
  try {
    const set = await fetch(`${base}/chaos`, {
      method: "POST",
      body: JSON.stringify({ mode: "slow", duration: 5 }),
    });
    await set.body?.cancel();
    const slow = fetch(`${base}/`).then((r) => r.body?.cancel(), (error) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const started = performance.now();
    service.child.kill("SIGINT");
    const status = await service.finished();
    const ms = performance.now() - started;
    assert.equal(status.code, 1);
    assert.ok(ms < 2000, `exited ${ms} ms after SIGINT`);
    assert.match(
      service.stdout.text,
      /Shutting down on SIGINT: .*up to 0.3s for 1 in-flight request\n/,
    );
    assert.match(
      service.stdout.text,
      /Shutdown timed out: 1 request still in flight after 0.3s\n$/,
    );
    assert.ok(await slow instanceof Error, "the abandoned request fails");
  } finally {
    await stop(service);
  }
});

Deno.test("main.ts exits 1 with one line when the port is already taken", async () => {
  const listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const { code, stderr } = await runDeno(RUN, { APP_PORT: `${port}` });
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`^Cannot listen on port ${port}: .+\\n$`));
  } finally {
    listener.close();
  }
});
