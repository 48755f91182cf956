/**
 * Hostile traffic leaves `swiftdeploy serve` answering and the deployment's
 * state unchanged (a smaller count than tests/serve_bench.ts's 10,000).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeStack } from "./_harness.ts";
import { call, type ServeHandle, startServe } from "./serve_helpers.ts";
import { historyAdded, sendHostile, stateDigest } from "./serve_hostile.ts";

Deno.test("serve: 600 malformed or hostile requests leave the server answering and the state unchanged", async () => {
  const stack = await makeStack();
  let serve: ServeHandle | undefined;
  try {
    const created = await stack.run(["token", "create", "--name", "ops", "--scope", "deploy"]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    serve = await startServe(stack);
    const s = serve;
    assert.equal((await call(s, "unix", "GET", "/v1/status", { token })).status, 200);
    const before = await stateDigest(stack.dir);
    const historyFile = join(stack.dir, "history.jsonl");
    const historyBefore = await Deno.readTextFile(historyFile).catch(() => "");
    const result = await sendHostile(s, token, {
      count: 600,
      concurrency: 16,
      deadlineMs: 120_000,
    });
    assert.equal(result.sent, 600);
    const kinds = Object.keys(result.outcomes);
    // Nothing was accepted as a change, and nothing crashed the handler.
    for (const k of kinds) {
      assert.ok(!/ (202|500)$/.test(k), `${k}: ${JSON.stringify(result.outcomes)}`);
    }
    assert.ok(kinds.some((k) => k.startsWith("bad-json 400")), JSON.stringify(result.outcomes));
    assert.ok(kinds.some((k) => k.startsWith("big-body 413")), JSON.stringify(result.outcomes));
    assert.ok(kinds.some((k) => k.startsWith("slow-body 408")), JSON.stringify(result.outcomes));
    assert.ok(kinds.some((k) => k.startsWith("bad-token 401")), JSON.stringify(result.outcomes));
    assert.ok(kinds.some((k) => k.startsWith("bad-method 405")), JSON.stringify(result.outcomes));
    for (const k of kinds.filter((k) => k.startsWith("traversal "))) {
      assert.match(k, / (400|404)$/, JSON.stringify(result.outcomes));
    }
    for (const tr of ["unix", "http"] as const) {
      const res = await call(s, tr, "GET", "/v1/status", { token });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    const ops = await (await call(s, "http", "GET", "/v1/operations", { token })).json();
    assert.deepEqual(ops.operations, []);
    assert.equal(await stateDigest(stack.dir), before);
    const added = await historyAdded(historyFile, historyBefore);
    assert.deepEqual(added.filter((e) => e !== "status_scrape"), [], "only the status ticks wrote");
  } finally {
    if (serve) {
      serve.child.kill("SIGTERM");
      await serve.child.status;
    }
    await stack.cleanup();
  }
});
