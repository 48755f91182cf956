/**
 * Load on `swiftdeploy serve` (a bench, run by hand, not part of the suite):
 *
 *   deno run -A --config deno.json tests/serve_bench.ts [--seconds 30] [--hostile 10000] [--no-deploy]
 *
 * 1. A throwaway stack is deployed on the real engine (unless --no-deploy),
 *    so the status ticks scrape a live app through nginx.
 * 2. 200 concurrent readers loop on `GET /v1/status` (100 over loopback
 *    HTTP, 100 over the unix socket) while 50 SSE clients follow
 *    `/v1/events`, for 30 s; p50/p99/max of the readers' latency, requests
 *    per second, errors, and the events each SSE client got.
 * 3. 10,000 malformed or hostile requests (tests/serve_hostile.ts); then
 *    the server must still answer and the state must be unchanged (only the
 *    status ticks' `status_scrape` lines added to the history).
 *
 * Everything goes to 127.0.0.1 or the unix socket; every loop is bounded in
 * time and count. The client runs on the same 2 cores as the server.
 */
import { join } from "node:path";
import { makeStack } from "./_harness.ts";
import { call, sseFrames, startServe } from "./serve_helpers.ts";
import { historyAdded, sendHostile, stateDigest } from "./serve_hostile.ts";

const arg = (name: string, dflt: number) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
};
const seconds = arg("--seconds", 30);
const hostileCount = arg("--hostile", 10_000);
const deploy = !Deno.args.includes("--no-deploy");

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

const stack = await makeStack();
const serve = await startServe(stack, ["--status-interval", "5"]);
try {
  const created = await stack.run(["token", "create", "--name", "bench", "--scope", "deploy"]);
  if (created.code !== 0) throw new Error(created.stderr);
  const token = created.stdout.trim();
  if (deploy) {
    const res = await call(serve, "unix", "POST", "/v1/deploy", { token });
    const op = await res.json();
    const frames = sseFrames(await call(serve, "unix", "GET", `${op.url}/events`, { token }));
    const end = JSON.parse((await frames.nextOf("end", 180_000)).data);
    console.log(`deploy through the API: ${end.state} (exit ${end.exit_code})`);
    if (end.state !== "succeeded") throw new Error("deploy failed");
    await new Promise((r) => setTimeout(r, 6000)); // one status tick of the live stack
  }

  // 50 SSE clients.
  const sse = Array.from({ length: 50 }, async (_, i) => {
    const res = await call(serve, i % 2 ? "unix" : "http", "GET", "/v1/events", { token });
    const frames = sseFrames(res);
    let events = 0;
    const until = Date.now() + seconds * 1000;
    try {
      while (Date.now() < until) {
        await frames.next(Math.max(1, until - Date.now()));
        events++;
      }
    } catch (error) {
      if (!/no SSE frame in time/.test((error as Error).message)) throw error;
    } finally {
      await frames.cancel();
    }
    return events;
  });

  // 200 readers.
  const latencies: number[] = [];
  let errors = 0;
  const until = Date.now() + seconds * 1000;
  const readers = Array.from({ length: 200 }, async (_, i) => {
    while (Date.now() < until) {
      const t0 = performance.now();
      try {
        const res = await call(serve, i % 2 ? "unix" : "http", "GET", "/v1/status", { token });
        await res.arrayBuffer();
        if (res.status !== 200) errors++;
        else latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  });
  await Promise.all(readers);
  const sseCounts = await Promise.all(sse);
  latencies.sort((a, b) => a - b);
  const load = {
    readers: 200,
    sse_clients: 50,
    seconds,
    requests: latencies.length,
    errors,
    requests_per_second: Math.round(latencies.length / seconds),
    p50_ms: +quantile(latencies, 0.5).toFixed(2),
    p99_ms: +quantile(latencies, 0.99).toFixed(2),
    max_ms: +latencies[latencies.length - 1]!.toFixed(2),
    sse_events_min: Math.min(...sseCounts),
    sse_events_max: Math.max(...sseCounts),
  };
  console.log("load:", JSON.stringify(load));

  // 10,000 hostile requests.
  const before = await stateDigest(stack.dir);
  const historyFile = join(stack.dir, "history.jsonl");
  const historyBefore = await Deno.readTextFile(historyFile);
  const hostile = await sendHostile(serve, token, {
    count: hostileCount,
    concurrency: 32,
    deadlineMs: 600_000,
  });
  const after = await call(serve, "unix", "GET", "/v1/status", { token });
  await after.arrayBuffer();
  const afterHttp = await call(serve, "http", "GET", "/v1/status", { token });
  await afterHttp.arrayBuffer();
  const ops = await (await call(serve, "http", "GET", "/v1/operations", { token })).json();
  const added = await historyAdded(historyFile, historyBefore);
  const digestAfter = await stateDigest(stack.dir);
  if (digestAfter !== before) console.log("changed:\n" + digestAfter + "\nwas:\n" + before);
  const unchanged = digestAfter === before &&
    added.every((e) => e === "status_scrape") &&
    ops.operations.length === (deploy ? 1 : 0);
  console.log(
    "hostile:",
    JSON.stringify({
      sent: hostile.sent,
      seconds: +hostile.seconds.toFixed(1),
      outcomes: hostile.outcomes,
      answering_after: [after.status, afterHttp.status],
      state_unchanged: unchanged,
      history_lines_added: added.length,
    }),
  );
  if (!unchanged || after.status !== 200 || afterHttp.status !== 200) Deno.exitCode = 1;
} finally {
  serve.child.kill("SIGTERM");
  await serve.child.status;
  await stack.cleanup();
}
