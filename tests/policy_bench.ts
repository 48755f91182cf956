/**
 * One canary decision in-process (the WASM evaluator) against the same
 * decision over HTTP from the REAL OPA sidecar container of a freshly
 * deployed stack (`<project>-opa` on 127.0.0.1:<opa.port>), in one group so
 * `deno bench` prints the ratio: a healthy promotion (allowed) and one
 * denied with a formatted reason. deno bench shows no median, so the setup
 * also prints the median of individually timed calls of each.
 * It also prints the in-process cold load (createWasmEvaluator: bundle read,
 * source hash checked, module compiled and instantiated, data set).
 * Target: in-process median <= 20 µs (public opa-wasm API; measured 6-7 µs,
 * about 85x faster than the sidecar).
 * Run: `deno bench -A tests/policy_bench.ts` (the stack is removed at the end).
 */
import { canonicalJson } from "../cli/digest/mod.ts";
import { join } from "node:path";
import { loadManifest } from "../cli/manifest/mod.ts";
import {
  createSidecarEvaluator,
  createWasmEvaluator,
  type PolicyEvaluator,
} from "../cli/policy/mod.ts";
import { CLI_ENV, cliArgs, makeStack } from "./_harness.ts";

/** A healthy canary asking to become stable: the usual promotion. */
const allowed = {
  current_mode: "canary",
  target_mode: "stable",
  error_rate_percent: 0.42,
  p99_latency_ms: 48.5,
  request_count: 250,
  window_seconds: 4,
};

/** The same canary with a slow tail: denied with one formatted reason. */
const denied = { ...allowed, p99_latency_ms: 612.3 };

const stack = await makeStack();

/** Removes the stack; synchronous, so it also runs from the unload handler. */
function teardown(): void {
  new Deno.Command(Deno.execPath(), {
    args: cliArgs(["-f", stack.manifestPath, "teardown"]),
    env: { ...CLI_ENV },
    stdout: "null",
    stderr: "inherit",
  }).outputSync();
  Deno.removeSync(stack.dir, { recursive: true });
}

let wasm: PolicyEvaluator;
let sidecar: PolicyEvaluator;
let coldLoad = { first: NaN, median: NaN };
try {
  const deploy = await stack.run(["deploy"]);
  if (deploy.code !== 0) {
    throw new Error(`deploy failed with ${deploy.code}:\n${deploy.stdout}\n${deploy.stderr}`);
  }
  const { manifest } = await loadManifest(stack.manifestPath);
  // The data document the container loaded, for the in-process engine too.
  const data = JSON.parse(
    await Deno.readTextFile(join(stack.dir, ".swiftdeploy", "opa", "policy_data.json")),
  );
  // Cold load: the first createWasmEvaluator of this process (bundle read, source hash
  // checked, module compiled and instantiated, data set), then the median of 20 more.
  let started = performance.now();
  wasm = await createWasmEvaluator({ data });
  const firstLoad = performance.now() - started;
  const loads: number[] = [];
  for (let i = 0; i < 20; i++) {
    started = performance.now();
    await createWasmEvaluator({ data });
    loads.push(performance.now() - started);
  }
  coldLoad = { first: firstLoad, median: medianMicros(loads) / 1000 };
  sidecar = createSidecarEvaluator({
    url: `http://127.0.0.1:${manifest.opa.port}`,
    timeoutMs: manifest.opa.decision_timeout_seconds * 1000,
  });

  // Both engines must give the same answer before their speed is worth comparing.
  for (const input of [allowed, denied]) {
    const [a, b] = [await wasm.evaluate("canary", input), await sidecar.evaluate("canary", input)];
    if (canonicalJson(a) !== canonicalJson(b)) {
      throw new Error(`Engines disagree: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  }
} catch (error) {
  teardown();
  throw error;
}
globalThis.addEventListener("unload", teardown);

/** Times `n` calls of `fn` one by one, appending each duration (ms) to `times`. */
async function timeCalls(fn: () => Promise<unknown>, n: number, times: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
}

function medianMicros(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return (sorted[Math.floor(sorted.length / 2)] ?? NaN) * 1000;
}

/**
 * Medians of individually timed calls, in µs, of both engines side by side:
 * after a warm-up of each (the JIT's, and the HTTP connection's), 40 rounds
 * alternate 1,000 in-process calls with 25 sidecar calls, so that a host
 * whose speed drifts during the run (this one's does, by up to 2x) weighs on
 * both engines alike.
 */
async function sideBySide(
  inProcess: () => Promise<unknown>,
  http: () => Promise<unknown>,
): Promise<{ inProcess: number; http: number }> {
  const ignored: number[] = [];
  await timeCalls(inProcess, 20_000, ignored);
  await timeCalls(http, 200, ignored);
  const times = { inProcess: [] as number[], http: [] as number[] };
  for (let round = 0; round < 40; round++) {
    await timeCalls(inProcess, 1_000, times.inProcess);
    await timeCalls(http, 25, times.http);
  }
  return { inProcess: medianMicros(times.inProcess), http: medianMicros(times.http) };
}

console.log(
  `in-process cold load (read, check, compile, instantiate, set data): first ${
    coldLoad.first.toFixed(1)
  } ms, median of 20 more ${coldLoad.median.toFixed(1)} ms`,
);
for (const [label, input] of [["allowed", allowed], ["denied", denied]] as const) {
  const median = await sideBySide(
    () => wasm.evaluate("canary", input),
    () => sidecar.evaluate("canary", input),
  );
  console.log(
    `canary decision, ${label}: median in-process ${median.inProcess.toFixed(1)} µs, ` +
      `OPA sidecar container ${median.http.toFixed(1)} µs: ${
        (median.http / median.inProcess).toFixed(1)
      }x`,
  );
}

for (const [label, input] of [["allowed", allowed], ["denied", denied]] as const) {
  Deno.bench({
    name: `${label}: in-process (wasm)`,
    group: `canary decision, ${label}`,
    baseline: true,
    async fn() {
      await wasm.evaluate("canary", input);
    },
  });

  Deno.bench({
    name: `${label}: over HTTP (OPA sidecar container)`,
    group: `canary decision, ${label}`,
    async fn() {
      await sidecar.evaluate("canary", input);
    },
  });
}
