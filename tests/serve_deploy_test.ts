/**
 * One lean real-engine run of the admin API: a deploy requested over the
 * unix socket runs as an operation (the real CLI against the real engine,
 * nginx and the app), is followed over SSE to its end, and the history
 * records it with the token's name; the status then shows the version.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readHistory } from "../cli/history/mod.ts";
import { makeStack } from "./_harness.ts";
import { call, followOperation, sseFrames, startServe } from "./serve_helpers.ts";

Deno.test("serve: POST /v1/deploy deploys through the real engine, recorded as token:<name>", async () => {
  const stack = await makeStack({ version: "7.1.0" });
  const serve = await startServe(stack);
  try {
    const created = await stack.run(["token", "create", "--name", "ci-bot", "--scope", "deploy"]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    const res = await call(serve, "unix", "POST", "/v1/deploy", {
      token,
      body: JSON.stringify({ timeout_seconds: 60 }),
    });
    assert.equal(res.status, 202);
    const op = await res.json();
    const frames = sseFrames(
      await call(serve, "unix", "GET", res.headers.get("location")!, {
        token,
        headers: { accept: "text/event-stream" },
      }),
    );
    const { output, end } = await followOperation(frames, 120_000);
    assert.equal(end.state, "succeeded", output.join("\n"));
    assert.equal(end.exit_code, 0);
    assert.equal(end.id, op.id);
    const { events } = await readHistory(join(stack.dir, "history.jsonl"));
    const deployed = events.find((e) => e.event === "deploy");
    assert.ok(deployed, events.map((e) => e.event).join(","));
    assert.equal(deployed.actor.user, "token:ci-bot");
    const health = await (await fetch(stack.url("/healthz"))).json();
    assert.equal(health.version, "7.1.0");
    // The status ticks pick the running stack up.
    const deadline = Date.now() + 20_000;
    let version: string | null = null;
    while (Date.now() < deadline && version !== "7.1.0") {
      const doc = await (await call(serve, "http", "GET", "/v1/status", { token })).json();
      version = doc.version;
      if (version !== "7.1.0") await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(version, "7.1.0");
  } finally {
    serve.child.kill("SIGTERM");
    await serve.child.status;
    await stack.cleanup();
  }
});
