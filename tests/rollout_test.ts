/**
 * Progressive delivery against the real engine and the real nginx (issue
 * 13): a rollout walks its steps; a slow canary, an erroring canary and a
 * canary with too little traffic are rolled back by the Rego analysis on
 * their own; the operator verbs act from another process; a killed CLI
 * leaves a state `rollout status` reports truthfully and `resume`/`abort`
 * finish; a restarted nginx keeps the split. Zero-downtime figures come from
 * a plain keep-alive Python client that never resends (testing/keepalive_load.py).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import { LABEL_PROJECT, LABEL_ROLE } from "../cli/plan/mod.ts";
import { failedRequests, startLoad } from "../testing/keepalive_load.ts";
import {
  projectContainers,
  type RunResult,
  spawnCli,
  type TestStack,
  withStack,
} from "./_harness.ts";

const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sets the app's version and mode and the rollout section of the stack's manifest. */
async function setManifest(
  stack: TestStack,
  o: { version: string; mode?: "stable" | "canary"; rollout?: string },
): Promise<void> {
  let text = await Deno.readTextFile(stack.manifestPath);
  text = text.replace(/version: "[^"]*"/, `version: "${o.version}"`)
    .replace(/mode: (stable|canary)/, `mode: ${o.mode ?? "stable"}`);
  text = text.replace(/\nrollout:\n[\s\S]*$/, "\n");
  if (o.rollout) text += `rollout:\n${o.rollout}`;
  await Deno.writeTextFile(stack.manifestPath, text);
}

/** A canary rollout: `steps` and analysis settings as YAML lines (2-space indented). */
function canary(steps: string, analysis = ""): string {
  return `  strategy: canary
  steps:
${steps}
  analysis:
    window: 3s
    min_requests: 10
    max_error_rate_percent: 5
    max_error_rate_increase_points: 1
    max_p99_latency_ms: 2000
    max_p99_ratio: 2
    failure_limit: 0
    inconclusive_limit: 1
${analysis}  routing:
    header: X-Canary
    sticky_cookie: null
`;
}

interface State {
  id: string;
  phase: string;
  weight: number;
  step_index: number;
  stable: { container: string; version: string };
  canary: { container: string; version: string };
  analyses: { outcome: string; reasons: string[] }[];
  abort?: { by: string; reasons: string[] };
  started_at: string;
}

interface RolloutRelease {
  record: {
    number: number;
    kind: string;
    status: string;
    reason?: string;
    started_at: string;
    duration_ms: number;
    rollout_id?: string;
  };
  /** gates.tsv's rows (header skipped), as lines. */
  gates: string[];
  decisions: { domain: string }[];
  actions: { kind: string }[];
  /** When its rollout started (the history's rollout_started line). */
  rolloutStarted: string;
}

/** The stack's `rollout` releases, oldest first, with their evidence files. */
async function rolloutReleases(stack: TestStack): Promise<RolloutRelease[]> {
  const root = join(stack.dir, ".swiftdeploy", "releases");
  const history = (await Deno.readTextFile(join(stack.dir, "history.jsonl"))).trim().split("\n")
    .map((l) => JSON.parse(l) as { ts: string; event: string; data: { id?: string } });
  const out: RolloutRelease[] = [];
  for await (const e of Deno.readDir(root)) {
    if (!/^\d+$/.test(e.name)) continue;
    const dir = join(root, e.name);
    const record = JSON.parse(await Deno.readTextFile(join(dir, "release.json")));
    if (record.kind !== "rollout") continue;
    const lines = async (f: string) =>
      (await Deno.readTextFile(join(dir, f))).split("\n").filter((l) => l !== "");
    out.push({
      record,
      gates: (await lines("gates.tsv")).slice(1),
      decisions: (await lines("decisions.jsonl")).map((l) => JSON.parse(l)),
      actions: (await lines("actions.jsonl")).map((l) => JSON.parse(l)),
      rolloutStarted: history.find((h) =>
        h.event === "rollout_started" && h.data.id === record.rollout_id
      )?.ts ?? "",
    });
  }
  return out.sort((a, b) => a.record.number - b.record.number);
}

async function rolloutState(stack: TestStack): Promise<State | undefined> {
  try {
    return JSON.parse(
      await Deno.readTextFile(join(stack.dir, ".swiftdeploy", "rollout", "state.json")),
    );
  } catch {
    return undefined;
  }
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await probe();
    if (v) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function events(
  stack: TestStack,
): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const text = await Deno.readTextFile(join(stack.dir, "history.jsonl"));
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

async function appContainers(project: string): Promise<string[]> {
  return [...(await projectContainers(project)).keys()].filter((n) => n.includes("-app-")).sort();
}

/** Sets chaos on the canary only, through nginx with the pin header. */
async function canaryChaos(stack: TestStack, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(stack.url("/chaos"), {
    method: "POST",
    headers: { "X-Canary": "always", "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
}

/** Waits until the canary has joined (a rollout state exists for `version`). */
function canaryJoined(stack: TestStack, version: string): Promise<State> {
  return waitFor(`the canary ${version}`, async () => {
    const s = await rolloutState(stack);
    return s && s.canary.version === version && s.phase === "progressing" ? s : undefined;
  });
}

async function finish(child: Deno.ChildProcess): Promise<RunResult> {
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function nginxPids(project: string): Promise<string> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    const [n] = await engine.containerList([`${LABEL_PROJECT}=${project}`, `${LABEL_ROLE}=nginx`]);
    const res = await engine.request("GET", `/containers/${n!.Id}/top`);
    const top = await res.json() as { Processes: string[][] };
    return JSON.stringify(top.Processes.map((p) => p[1]).sort());
  } finally {
    engine.close();
  }
}

Deno.test({
  name:
    "a full rollout, a slow canary rolled back on P99 against stable, promote canary and stable: 0 failed requests at a keep-alive client that never resends, no nginx reload",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({ windowSeconds: 3, minRequests: 5 }, async (stack) => {
      const deployed = await stack.run(["deploy"]);
      assert.equal(deployed.code, 0, output(deployed));
      const pids = await nginxPids(stack.project);
      const loadRun = await startLoad(stack.nginxPort, 4);
      try {
        // 1. a healthy rollout through every step
        const steps =
          "    - weight: 20\n    - analysis: {}\n    - weight: 60\n    - pause: 1s\n    - analysis: {}";
        await setManifest(stack, { version: "2.0.0", rollout: canary(steps) });
        const full = await stack.run(["deploy"]);
        assert.equal(full.code, 0, output(full));
        assert.match(full.stdout, /Rollout \S+ complete: version 2\.0\.0 takes all traffic/);
        assert.match(full.stdout, /weight 0 % → 20 %/);
        assert.match(full.stdout, /weight 20 % → 60 %/);
        const completed = await rolloutState(stack);
        assert.equal(completed?.phase, "completed");
        assert.deepEqual(completed?.analyses.map((a) => a.outcome), ["continue", "continue"]);
        assert.deepEqual(await appContainers(stack.project), [completed!.canary.container]);

        // 2. a slow canary: rolled back at its first analysis, on P99 relative to stable
        await setManifest(stack, { version: "3.0.0", mode: "canary", rollout: canary(steps) });
        const slow = spawnCli(["-f", stack.manifestPath, "deploy"]);
        await canaryJoined(stack, "3.0.0");
        await canaryChaos(stack, { mode: "slow", duration: 0.2 });
        const rolledBack = await finish(slow);
        assert.equal(rolledBack.code, 3, output(rolledBack));
        assert.match(rolledBack.stdout, /rolled back by analysis/);
        const aborted = await rolloutState(stack);
        assert.equal(aborted?.phase, "aborted");
        assert.equal(aborted?.abort?.by, "analysis");
        assert.match(aborted!.abort!.reasons.join("\n"), /P99/);
        assert.deepEqual(await appContainers(stack.project), [aborted!.stable.container]);

        // 3. the seeds' promote canary + promote stable (a switch, no rollout)
        await setManifest(stack, { version: "2.0.0", rollout: canary(steps) });
        for (const mode of ["canary", "stable"]) {
          const p = await stack.run(["promote", mode]);
          assert.equal(p.code, 0, output(p));
        }
      } finally {
        const counts = await loadRun.stop();
        console.log(
          `keep-alive client: ${counts.total} requests, ${failedRequests(counts)} failed, ` +
            `versions ${JSON.stringify(counts.versions)}, variants ${
              JSON.stringify(counts.variants)
            }` +
            (counts.lost ? `, lost: ${counts.lost_samples.join(" | ")}` : ""),
        );
        assert.equal(failedRequests(counts), 0, JSON.stringify(counts));
        assert.ok(counts.total >= 20_000, `only ${counts.total} requests`);
      }
      assert.equal(await nginxPids(stack.project), pids, "nginx was never reloaded or restarted");
    });
  },
});

Deno.test({
  name:
    "a canary returning errors is rolled back at the first analysis with stable untouched; the same spec needs --retry, which then completes",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      assert.equal((await stack.run(["deploy"])).code, 0);
      const stableApp = (await appContainers(stack.project))[0]!;
      const steps = "    - weight: 50\n    - analysis: {}";
      await setManifest(stack, { version: "2.0.0", mode: "canary", rollout: canary(steps) });
      const dry = await stack.run(["deploy", "--dry-run"]);
      assert.equal(dry.code, 0, output(dry));
      assert.match(
        dry.stdout,
        /a canary rollout: the new version starts beside "[^"]+", then 2 steps: weight 50 %, analysis \(3 s window\)/,
      );
      assert.match(
        dry.stdout,
        /route stable "[^"]+" \(100 %\), canary "[^"]+" \(0 %\) \(no reload\)/,
      );
      assert.doesNotMatch(dry.stdout, /drain/, "stable keeps serving");
      assert.equal(await rolloutState(stack), undefined, "a dry run starts nothing");
      const loadRun = await startLoad(stack.nginxPort, 2);
      try {
        const child = spawnCli(["-f", stack.manifestPath, "deploy"]);
        await canaryJoined(stack, "2.0.0");
        await canaryChaos(stack, { mode: "error", rate: 1 });
        const r = await finish(child);
        assert.equal(r.code, 3, output(r));
        assert.match(r.stdout, /error rate/);
        assert.deepEqual(await appContainers(stack.project), [stableApp], "stable untouched");
        const history = await events(stack);
        const analysis = history.filter((e) => e.event === "rollout_analysis");
        assert.equal(analysis.length, 1, "rolled back at the first analysis");
        assert.equal(analysis[0]!.data.outcome, "rollback");
        assert.ok(history.some((e) => e.event === "rollout_aborted"));

        // The rejected spec is not retried silently.
        const again = await stack.run(["deploy"]);
        assert.equal(again.code, 3, output(again));
        assert.match(again.stderr + again.stdout, /was rolled back .* by analysis/);
        assert.match(again.stderr + again.stdout, /--retry/);
        const retried = await stack.run(["deploy", "--retry"]);
        assert.equal(retried.code, 0, output(retried));
        assert.equal((await rolloutState(stack))?.phase, "completed");
      } finally {
        await loadRun.stop();
      }
    });
  },
});

Deno.test({
  name:
    "too little traffic holds (a named outcome), then rolls back after the tolerated inconclusive analyses",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      assert.equal((await stack.run(["deploy"])).code, 0);
      await setManifest(stack, {
        version: "2.0.0",
        rollout: canary("    - weight: 10\n    - analysis: { window: 2s }"),
      });
      const r = await stack.run(["deploy"]);
      assert.equal(r.code, 3, output(r));
      const s = await rolloutState(stack);
      assert.deepEqual(s?.analyses.map((a) => a.outcome), ["hold", "rollback"]);
      assert.match(s!.analyses[0]!.reasons.join("\n"), /too little traffic/);
      assert.equal(s?.phase, "aborted");
    });
  },
});

Deno.test({
  name:
    "pause, resume, promote and abort act from another process; a deploy during a rollout is refused; a restarted nginx keeps the split",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      assert.equal((await stack.run(["deploy"])).code, 0);
      const steps = "    - weight: 50\n    - pause: 1h\n    - analysis: {}";
      await setManifest(stack, { version: "2.0.0", rollout: canary(steps) });
      let loadRun = await startLoad(stack.nginxPort, 2);
      try {
        const child = spawnCli(["-f", stack.manifestPath, "deploy"]);
        await waitFor("weight 50", async () => (await rolloutState(stack))?.weight === 50);

        const busy = await stack.run(["deploy"]);
        assert.equal(busy.code, 4, output(busy));
        assert.match(busy.stderr, /rollout \S+ of version 2\.0\.0 is progressing/);

        const paused = await stack.run(["rollout", "pause"]);
        assert.equal(paused.code, 0, output(paused));
        assert.equal((await rolloutState(stack))?.phase, "paused");
        const status = await stack.run(["rollout", "status"]);
        assert.match(status.stdout, /: paused/);
        assert.match(status.stdout, /weight {2}50 %/);

        // nginx restarted (a restart closes client connections: the load pauses for it):
        // the split comes back from the persisted routes.
        const before = await loadRun.stop();
        assert.equal(failedRequests(before), 0, JSON.stringify(before));
        const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
        try {
          await engine.containerRestart(`${stack.project}-nginx`, 5);
        } finally {
          engine.close();
        }
        const seen = await waitFor("both variants after the restart", async () => {
          const counts: Record<string, number> = {};
          for (let i = 0; i < 200; i++) {
            try {
              const res = await fetch(stack.url("/"));
              await res.body?.cancel();
              const v = res.headers.get("X-SwiftDeploy-Variant") ?? "-";
              counts[v] = (counts[v] ?? 0) + 1;
            } catch { /* nginx still starting */ }
          }
          return (counts.canary ?? 0) > 40 && (counts.stable ?? 0) > 40 ? counts : undefined;
        });
        console.log(`after the nginx restart, 200 requests: ${JSON.stringify(seen)}`);
        loadRun = await startLoad(stack.nginxPort, 2);

        assert.equal((await stack.run(["rollout", "resume"])).code, 0);
        assert.equal((await rolloutState(stack))?.phase, "progressing");
        const promoted = await stack.run(["rollout", "promote"]);
        assert.equal(promoted.code, 0, output(promoted));
        const done = await finish(child);
        assert.equal(done.code, 0, output(done));
        assert.equal((await rolloutState(stack))?.phase, "completed");

        // abort by hand: the deploy that drives it ends with 3, the canary is gone
        await setManifest(stack, { version: "3.0.0", rollout: canary(steps) });
        const second = spawnCli(["-f", stack.manifestPath, "deploy"]);
        const s = await waitFor("weight 50", async () => {
          const st = await rolloutState(stack);
          return st?.canary.version === "3.0.0" && st.weight === 50 ? st : undefined;
        });
        const abortAt = Date.now();
        const aborted = await stack.run(["rollout", "abort"]);
        assert.equal(aborted.code, 0, output(aborted));
        const ended = await finish(second);
        assert.equal(ended.code, 3, output(ended));
        assert.equal((await rolloutState(stack))?.abort?.by, "operator");
        assert.deepEqual(await appContainers(stack.project), [s.stable.container]);

        // Both rollouts' releases carry the evidence of their start (validate, the
        // infrastructure policy, the canary's start), their actions and analyses, and the time
        // from the deploy's start to their end; the operator's abort is `aborted`, no gate's.
        const [completedRelease, abortedRelease] = (await rolloutReleases(stack)).slice(-2);
        assert.equal(completedRelease!.record.status, "good");
        assert.equal(abortedRelease!.record.status, "aborted");
        assert.match(abortedRelease!.record.reason ?? "", /rolled back by operator/);
        for (const r of [completedRelease!, abortedRelease!]) {
          const names = r.gates.map((g) => g.split("\t")[0]);
          for (const g of ["validate", "policy.infrastructure", "canary.start"]) {
            assert.ok(names.includes(g), `release ${r.record.number} gates: ${names.join(", ")}`);
          }
          assert.ok(
            r.decisions.some((d) => d.domain === "infrastructure"),
            "the deploy's decision",
          );
          assert.ok(r.actions.length > 0, `release ${r.record.number} actions`);
          assert.ok(
            Date.parse(r.record.started_at) <= Date.parse(r.rolloutStarted),
            "the release starts with the deploy, before the rollout",
          );
        }
        assert.ok(
          completedRelease!.actions.some((a) => a.kind === "route"),
          "the steps' routes are in the action log",
        );
        assert.ok(
          abortedRelease!.record.duration_ms >= abortAt - Date.parse(s.started_at),
          `aborted ${abortedRelease!.record.duration_ms} ms after its start`,
        );
        const shown = await stack.run(["releases", "show", String(abortedRelease!.record.number)]);
        assert.equal(shown.code, 0, output(shown));
        assert.match(shown.stdout, /Release \d+: rollout, aborted/);
      } finally {
        const counts = await loadRun.stop();
        assert.equal(failedRequests(counts), 0, JSON.stringify(counts));
      }
    });
  },
});

Deno.test({
  name:
    "SIGKILL mid-rollout: status tells the truth, resume finishes it; killed again, abort rolls back; stable never stops serving",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      assert.equal((await stack.run(["deploy"])).code, 0);
      const steps = "    - weight: 30\n    - pause: 3s\n    - weight: 60\n    - analysis: {}";
      await setManifest(stack, { version: "2.0.0", rollout: canary(steps) });
      const loadRun = await startLoad(stack.nginxPort, 2);
      try {
        const child = spawnCli(["-f", stack.manifestPath, "deploy"]);
        await waitFor("weight 30", async () => (await rolloutState(stack))?.weight === 30);
        child.kill("SIGKILL");
        await child.output();
        const status = await stack.run(["rollout", "status"]);
        assert.equal(status.code, 0, output(status));
        assert.match(status.stdout, /progressing/);
        assert.match(status.stdout, /no process walks its steps/);
        const resumed = await stack.run(["rollout", "resume"]);
        assert.equal(resumed.code, 0, output(resumed));
        assert.equal((await rolloutState(stack))?.phase, "completed");

        await setManifest(stack, { version: "3.0.0", rollout: canary(steps) });
        const again = spawnCli(["-f", stack.manifestPath, "deploy"]);
        const s = await waitFor("weight 30", async () => {
          const st = await rolloutState(stack);
          return st?.canary.version === "3.0.0" && st.weight === 30 ? st : undefined;
        });
        again.kill("SIGKILL");
        await again.output();
        const aborted = await stack.run(["rollout", "abort"]);
        assert.equal(aborted.code, 0, output(aborted));
        assert.equal((await rolloutState(stack))?.phase, "aborted");
        assert.deepEqual(await appContainers(stack.project), [s.stable.container]);
        const after = await stack.run(["rollout", "status"]);
        assert.doesNotMatch(after.stdout, /!/, "no discrepancy left");
      } finally {
        const counts = await loadRun.stop();
        assert.equal(failedRequests(counts), 0, JSON.stringify(counts));
      }
    });
  },
});
