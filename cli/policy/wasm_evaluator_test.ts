import assert from "node:assert/strict";
import { join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import { buildPolicyBundle } from "./build_policy_bundle.ts";
import type { PolicyEvaluator } from "./decision.ts";
import { createWasmEvaluator } from "./wasm_evaluator.ts";
import { entrypointEvaluator, loadWasm } from "./_wasm.ts";
import {
  copyPolicies,
  fixturePolicies,
  OPA_BIN,
  POLICIES_DIR,
  sharedBundle,
  TEST_DATA,
} from "./_testing.ts";

async function realEvaluator(data: unknown = TEST_DATA): Promise<PolicyEvaluator> {
  const { bundleDir } = await sharedBundle();
  return await createWasmEvaluator({ bundleDir, policiesDir: POLICIES_DIR, data });
}

function isError(code: string, pattern: RegExp) {
  return (e: unknown) =>
    e instanceof SwiftDeployError && e.code === code && pattern.test(e.message);
}

/** Builds a fixture whose canary decision is `canaryBody`, and an evaluator on it. */
async function fixtureEvaluator(
  canaryBody: string,
): Promise<{ evaluator: PolicyEvaluator; cleanup(): Promise<void> }> {
  const policiesDir = await fixturePolicies(canaryBody);
  const outDir = join(policiesDir, "out");
  await buildPolicyBundle({ policiesDir, outDir, opaBin: OPA_BIN });
  const evaluator = await createWasmEvaluator({ bundleDir: outDir, policiesDir, data: TEST_DATA });
  return { evaluator, cleanup: () => Deno.remove(policiesDir, { recursive: true }) };
}

Deno.test("createWasmEvaluator() denies the seed's unhealthy host with every reason", async () => {
  const evaluator = await realEvaluator();
  assert.equal(evaluator.engine, "wasm");
  const decision = await evaluator.evaluate("infrastructure", {
    disk_free_gb: 8.2,
    cpu_load_1m: 9.1,
    mem_free_percent: 5,
  });
  assert.deepEqual(decision, {
    allow: false,
    reasons: [
      "1-minute CPU load 9.10 exceeds the maximum 8.00",
      "disk free 8.20 GB is below the minimum 10.00 GB",
      "free memory 5.00% is below the minimum 10.00%",
    ],
    domain: "infrastructure",
    checked: {
      disk_free_gb: 8.2,
      cpu_load_1m: 9.1,
      mem_free_percent: 5,
    },
  });
});

Deno.test("createWasmEvaluator() allows a healthy host", async () => {
  const evaluator = await realEvaluator();
  const decision = await evaluator.evaluate("infrastructure", {
    disk_free_gb: 50,
    cpu_load_1m: 0.5,
    mem_free_percent: 40,
  });
  assert.equal(decision.allow, true);
  assert.deepEqual(decision.reasons, []);
});

Deno.test("createWasmEvaluator() denies a broken canary and names the outcome", async () => {
  const evaluator = await realEvaluator();
  const decision = await evaluator.evaluate("canary", {
    current_mode: "canary",
    target_mode: "stable",
    error_rate_percent: 56.45,
    p99_latency_ms: 612.3,
    request_count: 80,
    window_seconds: 30,
  });
  assert.equal(decision.allow, false);
  assert.deepEqual(decision.reasons, [
    "P99 latency 612.30 ms exceeds the maximum 500.00 ms",
    "error rate 56.45% exceeds the maximum 1.00%",
  ]);
  assert.equal(decision.checked.outcome, "denied");
});

Deno.test("createWasmEvaluator() reports insufficient traffic and allows stable to canary", async () => {
  const evaluator = await realEvaluator();
  const few = await evaluator.evaluate("canary", {
    current_mode: "canary",
    target_mode: "stable",
    error_rate_percent: null,
    p99_latency_ms: null,
    request_count: 5,
    window_seconds: 30,
  });
  assert.deepEqual(few.reasons, [
    "insufficient traffic: 5 requests in the 30s window, at least 20 required",
  ]);
  assert.equal(few.checked.outcome, "insufficient_traffic");
  const up = await evaluator.evaluate("canary", { current_mode: "stable", target_mode: "canary" });
  assert.equal(up.allow, true);
  assert.equal(up.checked.outcome, "allowed");
});

Deno.test("createWasmEvaluator() denies when there is no input at all", async () => {
  const evaluator = await realEvaluator();
  const decision = await evaluator.evaluate("infrastructure", undefined);
  assert.equal(decision.allow, false);
  assert.equal(decision.reasons.length, 3);
});

Deno.test("createWasmEvaluator() reads thresholds from the data it was given", async () => {
  const strict = structuredClone(TEST_DATA);
  strict.limits.infrastructure.min_disk_free_gb = 100;
  const evaluator = await realEvaluator(strict);
  const decision = await evaluator.evaluate("infrastructure", {
    disk_free_gb: 50,
    cpu_load_1m: 0.5,
    mem_free_percent: 40,
  });
  assert.deepEqual(decision.reasons, ["disk free 50.00 GB is below the minimum 100.00 GB"]);
});

Deno.test("createWasmEvaluator() fails with POLICY_BUNDLE_MISSING when there is no bundle", async () => {
  const empty = await Deno.makeTempDir();
  try {
    await assert.rejects(
      createWasmEvaluator({ bundleDir: empty, policiesDir: POLICIES_DIR, data: TEST_DATA }),
      (e: unknown) =>
        isError(
          "POLICY_BUNDLE_MISSING",
          /^Cannot load the policy bundle: no valid ".*policy\.json"$/,
        )(e) &&
        (e as SwiftDeployError).hint === "run `deno task build` to compile policies/ to WASM",
    );
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("createWasmEvaluator() refuses a stale bundle built from other sources", async () => {
  const policiesDir = await copyPolicies();
  const outDir = join(policiesDir, "out");
  try {
    const built = await buildPolicyBundle({ policiesDir, outDir, opaBin: OPA_BIN });
    await Deno.writeTextFile(join(policiesDir, "infrastructure.rego"), "\n# edited\n", {
      append: true,
    });
    await assert.rejects(
      createWasmEvaluator({ bundleDir: outDir, policiesDir, data: TEST_DATA }),
      isError(
        "POLICY_BUNDLE_MISSING",
        new RegExp(
          `^Cannot use the policy bundle: it is stale, built from other policy sources \\(bundle ${
            built.hash.slice(0, 12)
          }, `,
        ),
      ),
    );
  } finally {
    await Deno.remove(policiesDir, { recursive: true });
  }
});

Deno.test("createWasmEvaluator() fails with POLICY_BUNDLE_MISSING when the module file is gone or corrupt", async () => {
  const policiesDir = await copyPolicies();
  const outDir = join(policiesDir, "out");
  try {
    const built = await buildPolicyBundle({ policiesDir, outDir, opaBin: OPA_BIN });
    await Deno.writeTextFile(built.wasmPath, "not wasm");
    await assert.rejects(
      createWasmEvaluator({ bundleDir: outDir, policiesDir, data: TEST_DATA }),
      isError("POLICY_BUNDLE_MISSING", /is not a valid policy module$/),
    );
    await Deno.remove(built.wasmPath);
    await assert.rejects(
      createWasmEvaluator({ bundleDir: outDir, policiesDir, data: TEST_DATA }),
      isError("POLICY_BUNDLE_MISSING", /\.wasm" does not exist$/),
    );
  } finally {
    await Deno.remove(policiesDir, { recursive: true });
  }
});

Deno.test("evaluate() rejects a decision whose allow is not a boolean", async () => {
  const { evaluator, cleanup } = await fixtureEvaluator(
    'decision := {"allow": "yes", "reasons": [], "domain": "canary", "checked": {}}',
  );
  try {
    await assert.rejects(
      evaluator.evaluate("canary", {}),
      isError("POLICY_UNAVAILABLE", /malformed decision: "allow" must be a boolean, got "yes"$/),
    );
  } finally {
    await cleanup();
  }
});

Deno.test("evaluate() rejects an undefined decision", async () => {
  const { evaluator, cleanup } = await fixtureEvaluator(
    'decision := {"allow": true, "reasons": [], "domain": "canary", "checked": {}} if input.ready',
  );
  try {
    await assert.rejects(
      evaluator.evaluate("canary", { ready: false }),
      isError("POLICY_UNAVAILABLE", /malformed decision: the decision is undefined$/),
    );
    assert.equal((await evaluator.evaluate("canary", { ready: true })).allow, true);
  } finally {
    await cleanup();
  }
});

Deno.test("evaluate() rejects a denial without reasons", async () => {
  const { evaluator, cleanup } = await fixtureEvaluator(
    'decision := {"allow": false, "reasons": [], "domain": "canary", "checked": {}}',
  );
  try {
    await assert.rejects(
      evaluator.evaluate("canary", {}),
      isError("POLICY_UNAVAILABLE", /a denial must give at least one reason$/),
    );
  } finally {
    await cleanup();
  }
});

Deno.test("evaluate() turns an abort inside the module into POLICY_UNAVAILABLE", async () => {
  // Two values for one complete rule is a conflict: the module aborts at evaluation time.
  const { evaluator, cleanup } = await fixtureEvaluator(
    'decision := {"allow": true, "reasons": [], "domain": "canary", "checked": {}} if input.a\n\n' +
      'decision := {"allow": false, "reasons": ["b"], "domain": "canary", "checked": {}} if input.b',
  );
  try {
    assert.equal((await evaluator.evaluate("canary", { a: true })).allow, true);
    await assert.rejects(
      evaluator.evaluate("canary", { a: true, b: true }),
      isError("POLICY_UNAVAILABLE", /^Cannot evaluate the "canary" policy in-process: .*conflict/),
    );
  } finally {
    await cleanup();
  }
});

Deno.test("evaluate() rejects an unknown domain", async () => {
  const evaluator = await realEvaluator();
  await assert.rejects(
    evaluator.evaluate("network" as "canary", {}),
    isError("INTERNAL", /^Cannot evaluate policy domain "network": unknown domain$/),
  );
});

Deno.test("entrypointEvaluator() gives falsy inputs to the policy as values, as the OPA server does", async () => {
  // A policy that says what type its input has, and has no decision without one.
  const policiesDir = await fixturePolicies(
    'decision := {"allow": true, "reasons": [], "domain": "canary", "checked": {"type": type_name(input)}}',
  );
  try {
    const built = await buildPolicyBundle({
      policiesDir,
      outDir: join(policiesDir, "out"),
      opaBin: OPA_BIN,
    });
    const policy = await loadWasm(await Deno.readFile(built.wasmPath));
    const run = entrypointEvaluator(policy, "swiftdeploy/canary/decision");
    const typeOf = (input: unknown) =>
      (run(input) as { checked: { type: string } } | undefined)?.checked.type;
    assert.equal(typeOf(undefined), undefined, "no input: no decision");
    // opa-wasm's evaluate() would take each of these as no input at all.
    assert.equal(typeOf(null), "null");
    assert.equal(typeOf(0), "number");
    assert.equal(typeOf(""), "string");
    assert.equal(typeOf(false), "boolean");
    assert.equal(typeOf([]), "array");
    assert.equal(typeOf({ a: 1 }), "object");
  } finally {
    await Deno.remove(policiesDir, { recursive: true });
  }
});

Deno.test("entrypointEvaluator() reads non-ASCII and inputs larger than the memory", async () => {
  const { wasmPath } = await sharedBundle();
  const policy = await loadWasm(await Deno.readFile(wasmPath));
  policy.setData(TEST_DATA);
  const run = entrypointEvaluator(policy, "swiftdeploy/canary/decision");
  assert.deepEqual(
    (run({ current_mode: "Kanarienvögel ✓ 🐤", target_mode: "stable" }) as {
      reasons: string[];
    }).reasons,
    [
      'input field "current_mode" must be "stable" or "canary", got "Kanarienvögel ✓ 🐤"',
    ],
  );
  const memoryBefore = policy.mem.buffer.byteLength;
  const large = { current_mode: "canary", target_mode: "x".repeat(1_000_000), request_count: 5 };
  assert.equal((run(large) as { allow: boolean }).allow, false);
  assert.ok(
    policy.mem.buffer.byteLength > memoryBefore + 1_000_000,
    "the memory grew for the input",
  );
  assert.throws(
    () => entrypointEvaluator(policy, "swiftdeploy/network/decision"),
    /not in the module/,
  );
});

Deno.test("the in-process evaluator uses opa-wasm's public API only", async () => {
  const source = await Deno.readTextFile(new URL("./_wasm.ts", import.meta.url));
  const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
  for (
    const name of [
      "wasmInstance",
      "dataAddr",
      "dataHeapPtr",
      "baseHeapPtr",
      "mem.",
      "minorVersion",
      ".exports",
    ]
  ) {
    assert.ok(!code.includes(name), `_wasm.ts reaches into "${name}"`);
  }
});
