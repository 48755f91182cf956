/**
 * `status` with a persisted rollout, through the real CLI (issue 13 item 7):
 * the rollout block of `--json`, a damaged state shown as an error and not
 * thrown, an old finished rollout no longer shown. No engine is needed:
 * DOCKER_HOST names a socket nobody listens on, and nginx's admin socket
 * is absent, so the per-variant figures say why they are missing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeStack, type RunResult } from "./_harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const describe = (r: RunResult) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

function state(phase: string, updatedAt: string): Record<string, unknown> {
  const variant = (n: string, version: string) => ({
    container: `app-${n}`,
    address: `10.1.2.${n}:3000`,
    version,
    spec_hash: n.repeat(64).slice(0, 64),
  });
  return {
    id: "20261201T100000-22222222",
    phase,
    steps: [{ weight: 10 }, { pause_seconds: 600 }, { analysis: {} }],
    step_index: 1,
    weight: 10,
    stable: variant("1", "1.0.0"),
    canary: variant("2", "1.1.0"),
    started_at: updatedAt,
    step_started_at: updatedAt,
    updated_at: updatedAt,
    analyses: [],
    analyses_failed: 0,
    analyses_inconclusive: 0,
  };
}

Deno.test({
  name:
    "status --json shows the persisted rollout, says a damaged one cannot be read, and drops an old finished one",
  ...opts,
  fn: async () => {
    const stack = await makeStack();
    try {
      assert.equal((await stack.run(["init"])).code, 0);
      const dir = join(stack.dir, ".swiftdeploy", "rollout");
      await Deno.mkdir(dir, { recursive: true });
      const file = join(dir, "state.json");
      const env = { DOCKER_HOST: `unix://${join(stack.dir, "no-engine.sock")}` };
      const status = async () => {
        const r = await stack.run(["status", "--once", "--json"], env);
        assert.equal(r.code, 0, describe(r));
        return { r, doc: JSON.parse(r.stdout.trim().split("\n").pop()!) };
      };

      await Deno.writeTextFile(
        file,
        JSON.stringify(state("progressing", new Date().toISOString())),
      );
      const { r, doc } = await status();
      assert.equal(doc.rollout?.step?.text, "step 2/3: pause", describe(r));
      assert.deepEqual([doc.rollout.stable.weight_percent, doc.rollout.canary.weight_percent], [
        90,
        10,
      ]);
      assert.ok(doc.rollout.time_left_seconds > 590 && doc.rollout.time_left_seconds <= 600);
      // No nginx here: the per-variant figures are unknown, and say why.
      assert.equal(doc.rollout.canary.requests_per_second, null);
      assert.match(doc.rollout.live_error, /Cannot read the edge counters/);

      const text = await stack.run(["status", "--once"], env);
      assert.equal(text.code, 0, describe(text));
      assert.match(text.stdout, /── Rollout 20261201T100000-22222222/);
      assert.match(text.stdout, /step {8}: step 2\/3: pause 600 s — \d+m \d\ds left/);

      await Deno.writeTextFile(file, "{ not json");
      const damaged = await status();
      assert.match(
        damaged.doc.rollout?.error ?? "",
        /^Cannot read the rollout state .*state\.json/,
      );

      await Deno.writeTextFile(file, JSON.stringify(state("completed", "2026-01-01T00:00:00Z")));
      const old = await status();
      assert.ok(!("rollout" in old.doc), JSON.stringify(old.doc.rollout));
    } finally {
      await stack.cleanup();
    }
  },
});
