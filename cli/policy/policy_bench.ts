/**
 * One canary decision in-process (WASM) against the same decision over HTTP
 * from a real `opa run --server` subprocess, in one group so `deno bench`
 * prints the ratio: a healthy promotion (allowed) and one denied with a
 * formatted reason. Run: `deno bench -A cli/policy/policy_bench.ts`.
 */
import { canonicalJson } from "./parity.ts";
import { createSidecarEvaluator } from "./sidecar_evaluator.ts";
import { createWasmEvaluator } from "./wasm_evaluator.ts";
import { POLICIES_DIR, sharedBundle, startOpaServer, TEST_DATA } from "./_testing.ts";

/** A healthy canary asking to become stable: the usual promotion. */
const allowed = {
  current_mode: "canary",
  target_mode: "stable",
  error_rate_percent: 0.42,
  p99_latency_ms: 48.5,
  request_count: 250,
  window_seconds: 30,
};

/** The same canary with a slow tail: denied with one formatted reason. */
const denied = { ...allowed, p99_latency_ms: 612.3 };

const { bundleDir } = await sharedBundle();
const wasm = await createWasmEvaluator({ bundleDir, policiesDir: POLICIES_DIR, data: TEST_DATA });
const server = await startOpaServer(POLICIES_DIR, TEST_DATA);
globalThis.addEventListener("unload", () => server.closeSync());
const sidecar = createSidecarEvaluator({ url: server.url, timeoutMs: 5000 });

// Both engines must give the same answer before their speed is worth comparing.
for (const input of [allowed, denied]) {
  const [a, b] = [await wasm.evaluate("canary", input), await sidecar.evaluate("canary", input)];
  if (canonicalJson(a) !== canonicalJson(b)) {
    throw new Error(`Engines disagree: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
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
    name: `${label}: over HTTP (opa run --server)`,
    group: `canary decision, ${label}`,
    async fn() {
      await sidecar.evaluate("canary", input);
    },
  });
}
