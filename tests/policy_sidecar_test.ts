/**
 * The policy engine against the REAL OPA sidecar container `<project>-opa`
 * (published on 127.0.0.1:<opa.port>, loading /policies and the generated
 * policy data): both engines give the same decisions, `--policy-engine
 * sidecar` is honoured, and every way the sidecar can fail blocks with its
 * own message, within the manifest's decision timeout, changing nothing.
 */
import { canonicalJson } from "../cli/digest/mod.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import { SwiftDeployError } from "../cli/errors/mod.ts";
import { loadManifest } from "../cli/manifest/mod.ts";
import { LABEL_PROJECT, OPA_POLICIES_DIR, planStack } from "../cli/plan/mod.ts";
import {
  compareEngines,
  createSidecarEvaluator,
  createWasmEvaluator,
  type Decision,
  type Domain,
  generateParitySamples,
  type PolicyEvaluator,
} from "../cli/policy/mod.ts";
import { HOME, makeStack, type RunResult, type TestStack } from "./_harness.ts";

/** Extra time a failing decision may take beyond the manifest's timeout (CPU is shared). */
const MARGIN_MS = 1500;

/** A healthy canary asking to become stable: allowed when the policy can be evaluated. */
const HEALTHY_CANARY = {
  current_mode: "canary",
  target_mode: "stable",
  error_rate_percent: 0.42,
  p99_latency_ms: 48.5,
  request_count: 250,
  window_seconds: 4,
};

/** The same canary with a slow tail: denied with a formatted reason. */
const SLOW_CANARY = { ...HEALTHY_CANARY, p99_latency_ms: 612.3 };

const HEALTHY_HOST = { disk_free_gb: 500, cpu_load_1m: 0.5, mem_free_percent: 60 };

function connect(): Promise<EngineClient> {
  return EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
}

interface Running {
  id: string;
  state: string;
}

/** The project's containers: name → id and state, straight from the engine. */
async function containersOf(project: string): Promise<Map<string, Running>> {
  const engine = await connect();
  try {
    const list = await engine.containerList([`${LABEL_PROJECT}=${project}`]);
    return new Map(list.map((c) => [(c.Names[0] ?? "").slice(1), { id: c.Id, state: c.State }]));
  } finally {
    engine.close();
  }
}

async function opaId(stack: TestStack): Promise<string> {
  const opa = (await containersOf(stack.project)).get(`${stack.project}-opa`);
  assert.ok(opa, `the stack has no ${stack.project}-opa container`);
  return opa.id;
}

/** Runs `fn` with an engine client that is closed afterwards. */
async function withEngine<T>(fn: (engine: EngineClient) => Promise<T>): Promise<T> {
  const engine = await connect();
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/** Waits until OPA on `port` answers /health with 200 (it has loaded its policies and data). */
async function waitOpaReady(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, {
        signal: AbortSignal.timeout(1000),
      });
      last = `HTTP ${res.status}: ${await res.text()}`;
      if (res.ok) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`OPA on 127.0.0.1:${port} did not become ready: ${last}`);
}

/** The decision JSON text that `policy eval` prints before its display lines. */
function printedText(run: RunResult): string {
  const end = run.stdout.indexOf("\n}\n");
  assert.ok(end > 0, `no decision JSON in the output:\n${run.stdout}\n${run.stderr}`);
  return run.stdout.slice(0, end + 2);
}

function printedDecision(run: RunResult): Decision {
  return JSON.parse(printedText(run));
}

async function writeInput(stack: TestStack, name: string, input: unknown): Promise<string> {
  const file = join(stack.dir, name);
  await Deno.writeTextFile(file, JSON.stringify(input));
  return file;
}

/** What the stack's sidecar evaluator is: the URL and timeout the CLI derives from the manifest. */
async function sidecarOf(
  stack: TestStack,
): Promise<{ evaluator: PolicyEvaluator; timeoutMs: number }> {
  const { manifest } = await loadManifest(stack.manifestPath);
  const timeoutMs = manifest.opa.decision_timeout_seconds * 1000;
  assert.equal(timeoutMs, 2000, "the harness manifest sets opa.decision_timeout_seconds: 2");
  return {
    evaluator: createSidecarEvaluator({ url: `http://127.0.0.1:${manifest.opa.port}`, timeoutMs }),
    timeoutMs,
  };
}

/**
 * Evaluates on the sidecar expecting a POLICY_UNAVAILABLE error matching
 * `pattern`; returns how long it took. An allow (or any decision) fails.
 */
async function expectUnavailable(
  evaluator: PolicyEvaluator,
  domain: Domain,
  input: unknown,
  pattern: RegExp,
): Promise<number> {
  const started = performance.now();
  let outcome: unknown;
  try {
    outcome = await evaluator.evaluate(domain, input);
  } catch (error) {
    const elapsed = performance.now() - started;
    assert.ok(error instanceof SwiftDeployError, `not a SwiftDeployError: ${error}`);
    assert.equal(error.code, "POLICY_UNAVAILABLE");
    assert.match(error.message, pattern);
    return elapsed;
  }
  assert.fail(`the sidecar decided instead of failing: ${JSON.stringify(outcome)}`);
}

async function timedRun(
  stack: TestStack,
  args: string[],
  env?: Record<string, string>,
): Promise<RunResult & { ms: number }> {
  const started = performance.now();
  const run = await stack.run(args, env);
  return { ...run, ms: performance.now() - started };
}

function assertBlocked(run: RunResult, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout + run.stderr, pattern);
  assert.doesNotMatch(run.stdout, /ALLOWED/);
}

async function deployed(): Promise<TestStack> {
  const stack = await makeStack();
  const run = await stack.run(["deploy"]);
  if (run.code !== 0) {
    await stack.cleanup();
    assert.fail(`deploy failed with ${run.code}:\n${run.stdout}\n${run.stderr}`);
  }
  await waitOpaReady(stack.opaPort);
  return stack;
}

Deno.test({
  name: "policy parity finds 0 mismatches when the real OPA sidecar container serves the policies",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await deployed();
    try {
      const cli = await stack.run(["policy", "parity", "--samples", "1000"]);
      assert.equal(cli.code, 0, cli.stdout + cli.stderr);
      assert.match(
        cli.stdout,
        new RegExp(
          `1000 samples, 0 mismatch\\(es\\) .* at http://127\\.0\\.0\\.1:${stack.opaPort}`,
        ),
      );

      // The same comparison in this process, on the data file the container loads.
      const { manifest } = await loadManifest(stack.manifestPath);
      const data = JSON.parse(
        await Deno.readTextFile(join(stack.dir, ".swiftdeploy", "opa", "policy_data.json")),
      );
      const wasm = await createWasmEvaluator({ data });
      const { evaluator: sidecar } = await sidecarOf(stack);
      const samples = generateParitySamples(1000, manifest.policy_limits);
      assert.equal(samples.length, 1000);
      const mismatches = await compareEngines(wasm, sidecar, samples);
      assert.deepEqual(mismatches, [], JSON.stringify(mismatches.slice(0, 3), null, 2));

      // Inputs the samples do not make: none at all, not an object, non-ASCII, 1 MB.
      const awkward = [
        undefined,
        null,
        ["canary", "stable"],
        { current_mode: "Kanarienvögel ✓ 🐤", target_mode: "stable" },
        { ...HEALTHY_CANARY, target_mode: "x".repeat(1_000_000) },
      ];
      for (const input of awkward) {
        for (const domain of ["canary", "infrastructure"] as const) {
          const [a, b] = [
            await wasm.evaluate(domain, input),
            await sidecar.evaluate(domain, input),
          ];
          assert.equal(canonicalJson(a), canonicalJson(b));
          assert.equal(a.allow, false);
        }
      }

      // Not a vacuous agreement: the samples cover both outcomes in both domains, with reasons.
      const tally = new Map<string, number>();
      for (const sample of samples) {
        const decision = await wasm.evaluate(sample.domain, sample.input);
        const key = `${sample.domain} ${decision.allow ? "allow" : "deny"}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
        if (!decision.allow) assert.ok(decision.reasons.length > 0);
      }
      for (
        const key of ["infrastructure allow", "infrastructure deny", "canary allow", "canary deny"]
      ) {
        assert.ok((tally.get(key) ?? 0) >= 20, `too few "${key}" samples: ${[...tally]}`);
      }

      // And the comparison does see a difference: other limits in-process disagree with the sidecar.
      const stricter = structuredClone(data);
      stricter.limits.canary.min_requests = 10_000;
      const other = await createWasmEvaluator({ data: stricter });
      const differ = await compareEngines(other, sidecar, samples);
      assert.ok(differ.length > 50, `only ${differ.length} mismatches with other limits`);
      assert.ok(differ.every((m) => m.sample.domain === "canary"));
    } finally {
      await stack.cleanup();
    }
  },
});

Deno.test({
  name:
    "policy eval gives the in-process decision when --policy-engine or SWIFTDEPLOY_POLICY_ENGINE selects the sidecar",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await deployed();
    try {
      const cases = [
        { name: "healthy", input: HEALTHY_CANARY, code: 0 },
        { name: "slow", input: SLOW_CANARY, code: 3 },
      ];
      for (const { name, input, code } of cases) {
        const file = await writeInput(stack, `${name}.json`, input);
        const args = ["policy", "eval", "canary", "--input", file];
        const wasm = await stack.run(args);
        const flag = await stack.run(["--policy-engine", "sidecar", ...args]);
        const env = await stack.run(args, { SWIFTDEPLOY_POLICY_ENGINE: "sidecar" });
        for (const run of [wasm, flag, env]) assert.equal(run.code, code, run.stdout + run.stderr);
        const decision = printedDecision(wasm);
        assert.equal(decision.allow, code === 0);
        // Printed with sorted keys: the very same text from either engine.
        assert.equal(printedText(flag), printedText(wasm));
        assert.equal(printedText(env), printedText(wasm));
        assert.equal(
          printedText(wasm),
          JSON.stringify(JSON.parse(canonicalJson(decision)), null, 2),
        );
        if (code === 3) {
          assert.deepEqual(decision.reasons, [
            "P99 latency 612.30 ms exceeds the maximum 500.00 ms",
          ]);
        }
      }

      // The sidecar really answered those: with it stopped, the same runs fail and the default does not.
      await withEngine(async (engine) => engine.containerStop(await opaId(stack), 5));
      const file = join(stack.dir, "healthy.json");
      const args = ["policy", "eval", "canary", "--input", file];
      assert.equal((await stack.run(args)).code, 0);
      assertBlocked(
        await stack.run(["--policy-engine", "sidecar", ...args]),
        1,
        /connection refused/,
      );
      assertBlocked(
        await stack.run(args, { SWIFTDEPLOY_POLICY_ENGINE: "sidecar" }),
        1,
        /connection refused/,
      );
    } finally {
      await stack.cleanup();
    }
  },
});

Deno.test({
  name:
    "the policy gates block within the decision timeout when the OPA sidecar is stopped, paused or has lost its data",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stack = await deployed();
    try {
      const { evaluator, timeoutMs } = await sidecarOf(stack);
      const healthyFile = await writeInput(stack, "healthy.json", HEALTHY_CANARY);
      const evalArgs = [
        "--policy-engine",
        "sidecar",
        "policy",
        "eval",
        "canary",
        "--input",
        healthyFile,
      ];
      // How long a CLI run takes when nothing is wrong, to bound the failing ones.
      const baseline = await timedRun(stack, evalArgs);
      assert.equal(baseline.code, 0, baseline.stdout + baseline.stderr);
      const manifestText = await Deno.readTextFile(stack.manifestPath);
      const id = await opaId(stack);

      await t.step("stopped: unreachable, and deploy and promote change nothing", async () => {
        await withEngine((engine) => engine.containerStop(id, 5));
        try {
          const before = await containersOf(stack.project);
          assert.equal(before.get(`${stack.project}-opa`)?.state, "exited");

          const ms = await expectUnavailable(
            evaluator,
            "canary",
            HEALTHY_CANARY,
            /^Cannot reach the OPA sidecar at "http:\/\/127\.0\.0\.1:\d+": connection refused$/,
          );
          assert.ok(ms < timeoutMs + MARGIN_MS, `took ${ms} ms`);

          const run = await timedRun(stack, evalArgs);
          assertBlocked(run, 1, /Cannot reach the OPA sidecar at .*: connection refused/);
          assert.ok(run.ms < baseline.ms + timeoutMs + MARGIN_MS, `took ${run.ms} ms`);

          // deploy: the infrastructure gate runs before anything is (re)created, OPA included.
          const deploy = await stack.run(["--policy-engine", "sidecar", "deploy"]);
          assertBlocked(deploy, 1, /Cannot reach the OPA sidecar/);
          assert.doesNotMatch(deploy.stdout, /started|Deployed/);
          assert.deepEqual(await containersOf(stack.project), before);

          // promote: stable -> canary needs only valid modes, but still a decision.
          const promote = await stack.run(["--policy-engine", "sidecar", "promote", "canary"]);
          assertBlocked(promote, 1, /Cannot reach the OPA sidecar/);
          assert.equal(await Deno.readTextFile(stack.manifestPath), manifestText);
          assert.deepEqual(await containersOf(stack.project), before);
          const history = await Deno.readTextFile(join(stack.dir, "history.jsonl"));
          assert.doesNotMatch(history, /"event":"promote"/);
        } finally {
          await withEngine((engine) => engine.containerStart(id));
          await waitOpaReady(stack.opaPort);
        }
        // Running again, the sidecar answers.
        assert.equal((await evaluator.evaluate("canary", HEALTHY_CANARY)).allow, true);
      });

      await t.step("paused: the decision times out after the manifest's 2 s", async () => {
        await withEngine((engine) => engine.containerPause(id));
        try {
          const ms = await expectUnavailable(
            evaluator,
            "canary",
            HEALTHY_CANARY,
            /^OPA sidecar decision timed out after 2 s: no answer from "http:\/\/127\.0\.0\.1:\d+\/v1\/data\/swiftdeploy\/canary\/decision"$/,
          );
          assert.ok(ms >= timeoutMs - 50, `gave up after ${ms} ms, before the timeout`);
          assert.ok(ms < timeoutMs + MARGIN_MS, `took ${ms} ms`);

          const run = await timedRun(stack, evalArgs);
          assertBlocked(run, 1, /OPA sidecar decision timed out after 2 s/);
          assert.ok(run.ms >= timeoutMs, `took ${run.ms} ms`);
          assert.ok(run.ms < baseline.ms + timeoutMs + MARGIN_MS, `took ${run.ms} ms`);
        } finally {
          await withEngine((engine) => engine.containerUnpause(id));
        }
        assert.equal((await evaluator.evaluate("canary", HEALTHY_CANARY)).allow, true);
      });

      await t.step(
        "data without limits: every decision denies naming the missing policy data",
        async () => {
          const dataFile = join(stack.dir, ".swiftdeploy", "opa", "policy_data.json");
          const broken = JSON.stringify({ _generated: { note: "broken by a test" } });
          await Deno.writeTextFile(dataFile, broken);
          await withEngine((engine) => engine.containerRestart(id, 5));
          await waitOpaReady(stack.opaPort);

          const run = await timedRun(stack, evalArgs);
          assert.equal(run.code, 3, run.stdout + run.stderr);
          const decision = printedDecision(run);
          assert.equal(decision.allow, false);
          assert.deepEqual(decision.reasons, [
            'policy data "limits.canary.max_error_rate_percent" is missing',
            'policy data "limits.canary.max_p99_latency_ms" is missing',
            'policy data "limits.canary.min_requests" is missing',
          ]);
          assert.ok(run.ms < baseline.ms + timeoutMs + MARGIN_MS, `took ${run.ms} ms`);

          const started = performance.now();
          const host = await evaluator.evaluate("infrastructure", HEALTHY_HOST);
          assert.ok(performance.now() - started < timeoutMs + MARGIN_MS);
          assert.equal(host.allow, false);
          assert.deepEqual(host.reasons, [
            'policy data "limits.infrastructure.max_cpu_load" is missing',
            'policy data "limits.infrastructure.min_disk_free_gb" is missing',
            'policy data "limits.infrastructure.min_mem_free_percent" is missing',
          ]);

          // deploy rewrites the data file in init, but the gate asks the sidecar as it is:
          // denied, exit 3, nothing recreated.
          const before = await containersOf(stack.project);
          const deploy = await stack.run(["--policy-engine", "sidecar", "deploy"]);
          assertBlocked(deploy, 3, /Deployment blocked by policy: infrastructure/);
          assert.match(
            deploy.stdout,
            /policy data "limits\.infrastructure\.min_disk_free_gb" is missing/,
          );
          assert.deepEqual(await containersOf(stack.project), before);
          assert.equal(await Deno.readTextFile(dataFile), broken);
        },
      );
    } finally {
      await stack.cleanup();
    }
  },
});

Deno.test({
  name:
    "policy eval reports an undefined decision, never an allow, when the sidecar's package was renamed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await makeStack();
    const policies = await Deno.makeTempDir({ prefix: "swiftdeploy-renamed-" });
    try {
      const init = await stack.run(["init"]);
      assert.equal(init.code, 0, init.stdout + init.stderr);

      // The shipped policies with both packages renamed, readable by OPA's user.
      for await (const entry of Deno.readDir(join(HOME, "policies"))) {
        if (!entry.name.endsWith(".rego") || entry.name.endsWith("_test.rego")) continue;
        const text = await Deno.readTextFile(join(HOME, "policies", entry.name));
        const renamed = text.replace(
          /^package swiftdeploy\.(canary|infrastructure)$/m,
          "package swiftdeploy.$1_renamed",
        );
        await Deno.writeTextFile(join(policies, entry.name), renamed, { mode: 0o644 });
      }
      await Deno.chmod(policies, 0o755);
      const canary = await Deno.readTextFile(join(policies, "canary.rego"));
      assert.match(canary, /^package swiftdeploy\.canary_renamed$/m);

      // A sidecar made from the plan's own OPA body, with the renamed policies bound instead.
      const loaded = await loadManifest(stack.manifestPath);
      const plan = planStack(loaded.manifest, { manifestDir: stack.dir, installDir: HOME });
      const opa = plan.containers.find((c) => c.role === "opa");
      assert.ok(opa);
      const body = structuredClone(opa.body);
      const binds = body.HostConfig?.Binds ?? [];
      const index = binds.findIndex((b) => b.endsWith(`:${OPA_POLICIES_DIR}:ro`));
      assert.ok(index >= 0, `no policies bind in ${JSON.stringify(binds)}`);
      binds[index] = `${policies}:${OPA_POLICIES_DIR}:ro`;
      // The data file the apply step would put beside it (init renders it next to the manifest).
      await Deno.mkdir(plan.hostDirs.opaDataDir, { recursive: true });
      await Deno.copyFile(
        join(stack.dir, "policy_data.json"),
        join(plan.hostDirs.opaDataDir, "policy_data.json"),
      );
      await withEngine(async (engine) => {
        const id = await engine.containerCreate(opa.name, body);
        await engine.containerStart(id);
      });
      await waitOpaReady(stack.opaPort);

      const { evaluator, timeoutMs } = await sidecarOf(stack);
      for (const domain of ["canary", "infrastructure"] as const) {
        const ms = await expectUnavailable(
          evaluator,
          domain,
          domain === "canary" ? HEALTHY_CANARY : HEALTHY_HOST,
          new RegExp(
            `^OPA sidecar returned no decision for "swiftdeploy/${domain}/decision": the response has no "result"$`,
          ),
        );
        assert.ok(ms < timeoutMs + MARGIN_MS, `took ${ms} ms`);
      }

      const file = await writeInput(stack, "healthy.json", HEALTHY_CANARY);
      const run = await stack.run([
        "--policy-engine",
        "sidecar",
        "policy",
        "eval",
        "canary",
        "--input",
        file,
      ]);
      assertBlocked(run, 1, /OPA sidecar returned no decision for "swiftdeploy\/canary\/decision"/);
      assert.match(run.stderr, /package swiftdeploy\.canary/);
      // The in-process engine, on the real policies, allows the same input.
      assert.equal((await stack.run(["policy", "eval", "canary", "--input", file])).code, 0);

      const parity = await stack.run(["policy", "parity", "--samples", "50"]);
      assert.equal(parity.code, 1, parity.stdout + parity.stderr);
      assert.match(parity.stdout, /50 samples, 50 mismatch\(es\)/);
    } finally {
      await stack.cleanup();
      await Deno.remove(policies, { recursive: true });
    }
  },
});
