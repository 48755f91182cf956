import assert from "node:assert/strict";
import { join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import type { Decision, Domain, PolicyEvaluator } from "./decision.ts";
import { compareEngines, generateParitySamples, type PolicyLimits } from "./parity.ts";
import { createSidecarEvaluator } from "./sidecar_evaluator.ts";
import { createWasmEvaluator } from "./wasm_evaluator.ts";
import { POLICIES_DIR, sharedBundle, startOpaServer, TEST_DATA } from "./_testing.ts";

const LIMITS: PolicyLimits = TEST_DATA.limits;

/** Odd thresholds, so parity does not hinge on round numbers. */
const ODD_LIMITS: PolicyLimits = {
  infrastructure: { min_disk_free_gb: 12.5, max_cpu_load: 1.75, min_mem_free_percent: 7.125 },
  canary: {
    max_error_rate_percent: 0.5,
    max_p99_latency_ms: 250.25,
    window_seconds: 60,
    min_requests: 7,
  },
  rollout: {
    min_requests: 7,
    max_error_rate_percent: 2.5,
    max_error_rate_increase_points: 0.75,
    max_p99_latency_ms: 250.25,
    max_p99_ratio: 1.3,
    p99_ratio_floor_ms: 0,
    failure_limit: 2,
    inconclusive_limit: 1,
  },
  promotion: {
    environment: "staging",
    from: "dev",
    production: false,
    soak_seconds: 37,
    allowed_registries: ["127.0.0.1:5000"],
    freezes: [],
  },
};

Deno.test("generateParitySamples() returns n deterministic samples", () => {
  const a = generateParitySamples(1200, LIMITS);
  assert.equal(a.length, 1200);
  assert.deepEqual(generateParitySamples(1200, LIMITS), a);
  assert.notDeepEqual(generateParitySamples(1200, LIMITS, 7), a);
  assert.equal(generateParitySamples(10, LIMITS).length, 10);
});

Deno.test("generateParitySamples() covers every boundary, both directions, the same mode and bad fields", () => {
  const samples = generateParitySamples(1000, LIMITS);
  const has = (domain: Domain, predicate: (input: Record<string, unknown>) => boolean) =>
    samples.some((s) => s.domain === domain && predicate(s.input));
  for (
    const [field, t] of [["disk_free_gb", 10], ["cpu_load_1m", 8], [
      "mem_free_percent",
      10,
    ]] as const
  ) {
    for (const value of [t, t - 0.005, t + 0.005, 0, 1e9]) {
      assert.ok(has("infrastructure", (i) => i[field] === value), `${field} = ${value}`);
    }
    assert.ok(has("infrastructure", (i) => !(field in i)), `${field} missing`);
    assert.ok(has("infrastructure", (i) => i[field] === null), `${field} null`);
    assert.ok(has("infrastructure", (i) => typeof i[field] === "string"), `${field} string`);
  }
  const toStable = (i: Record<string, unknown>) =>
    i.current_mode === "canary" && i.target_mode === "stable";
  for (const value of [19, 20, 0, 1e9]) {
    assert.ok(
      has("canary", (i) => toStable(i) && i.request_count === value),
      `request_count = ${value}`,
    );
  }
  for (const value of [1, 0.995, 1.005]) {
    assert.ok(
      has("canary", (i) => toStable(i) && i.error_rate_percent === value),
      `error rate ${value}`,
    );
  }
  for (const value of [500, 499.995, 500.005]) {
    assert.ok(has("canary", (i) => toStable(i) && i.p99_latency_ms === value), `p99 ${value}`);
  }
  assert.ok(has("canary", (i) => toStable(i) && i.error_rate_percent === null));
  assert.ok(has("canary", (i) => toStable(i) && !("p99_latency_ms" in i)));
  assert.ok(has("canary", (i) => i.current_mode === "stable" && i.target_mode === "canary"));
  assert.ok(has("canary", (i) => i.current_mode === "canary" && i.target_mode === "canary"));
  assert.ok(has("canary", (i) => i.current_mode === "stable" && i.target_mode === "stable"));
  assert.ok(has("canary", (i) => i.current_mode === "blue"));
});

function fake(decide: (domain: Domain, input: unknown) => Decision): PolicyEvaluator {
  // deno-lint-ignore require-await
  return { engine: "wasm", evaluate: async (domain, input) => decide(domain, input) };
}

Deno.test("compareEngines() reports differing reasons and failures, and nothing when engines agree", async () => {
  const samples = generateParitySamples(20, LIMITS);
  const base = (domain: Domain): Decision => ({
    allow: false,
    reasons: ["r"],
    domain,
    checked: { a: 1, b: [1, 2] },
  });
  const same = fake(base);
  const reordered = fake((domain) => ({
    checked: { b: [1, 2], a: 1 },
    domain,
    reasons: ["r"],
    allow: false,
  }));
  assert.deepEqual(await compareEngines(same, reordered, samples), []);

  const otherReason = fake((domain) => ({ ...base(domain), reasons: ["r "] }));
  const mismatches = await compareEngines(same, otherReason, samples);
  assert.equal(mismatches.length, 20);
  assert.deepEqual(mismatches[0]?.fields, ["reasons"]);
  assert.equal(mismatches[0]?.index, 0);

  const failing: PolicyEvaluator = {
    engine: "sidecar",
    evaluate: () => Promise.reject(new SwiftDeployError("POLICY_UNAVAILABLE", "down")),
  };
  const failures = await compareEngines(same, failing, samples.slice(0, 3));
  assert.deepEqual(failures.map((m) => [m.fields, m.b]), [
    [["error"], { error: "down" }],
    [["error"], { error: "down" }],
    [["error"], { error: "down" }],
  ]);
});

async function parity(limits: PolicyLimits, n: number): Promise<void> {
  const data = { limits, _generated: { by: "swiftdeploy init", note: "parity test" } };
  const { bundleDir } = await sharedBundle();
  const wasm = await createWasmEvaluator({ bundleDir, policiesDir: POLICIES_DIR, data });
  const server = await startOpaServer(POLICIES_DIR, data);
  try {
    const sidecar = createSidecarEvaluator({ url: server.url, timeoutMs: 5000 });
    const samples = generateParitySamples(n, limits);
    assert.ok(samples.length >= 1000);
    const mismatches = await compareEngines(wasm, sidecar, samples);
    assert.deepEqual(
      mismatches.slice(0, 3),
      [],
      `${mismatches.length} of ${samples.length} samples differ`,
    );
    // The set exercises every outcome, not just one branch.
    const outcomes = new Set<string>();
    const rollout = new Set<string>();
    const reasons: string[] = [];
    const promotionReasons: string[] = [];
    for (const sample of samples) {
      const d = await wasm.evaluate(sample.domain, sample.input);
      outcomes.add(`${d.domain}:${d.allow}:${String(d.checked.outcome ?? "")}`);
      if (d.domain === "rollout") {
        rollout.add(`${String(d.checked.outcome)}:${d.checked.failed ? "failed" : "not failed"}`);
        reasons.push(...d.reasons);
      }
      if (d.domain === "promotion") promotionReasons.push(...d.reasons);
    }
    for (
      const phrase of [
        /less than its soak time of/,
        /comes from registry/,
        /is not the one that gated release 3/,
        /no longer runs in/,
        /the soak time cannot be judged/,
        ...(limits.promotion?.production ?? true
          ? [/where no image may be :latest$/, /is not pinned by digest/, /is frozen from/]
          : []),
      ]
    ) {
      assert.ok(
        promotionReasons.some((r) => phrase.test(r)),
        `no promotion reason matches ${phrase}`,
      );
    }
    // Rollout: hold on a failure only where failure_limit tolerates one.
    const holdsOnFailure = (limits.rollout?.failure_limit ?? 0) > 0;
    assert.deepEqual([...rollout].sort(), [
      "continue:not failed",
      ...(holdsOnFailure ? ["hold:failed"] : []),
      "hold:not failed",
      "rollback:failed",
      "rollback:not failed",
    ]);
    for (
      const phrase of [
        /^canary error rate .* exceeds the maximum/,
        /^canary error rate .* exceeds stable's .* by more than/,
        /^canary P99 latency .* exceeds the maximum/,
        /^canary P99 latency .* times stable's/,
        /^canary P99 latency is above .* \(beyond the highest latency bucket\)/,
        /^too little traffic: canary served/,
        /^too little traffic: stable served/,
        /^canary error rate is unknown: counters reset$/,
        /^stable P99 latency is unknown/,
        /^input field "stable.requests" must be a number/,
        /^analysis inconclusive, .*: roll back$/,
        /^canary within every limit: .*: continue$/,
      ]
    ) {
      assert.ok(reasons.some((r) => phrase.test(r)), `no rollout reason matches ${phrase}`);
    }
    assert.deepEqual([...outcomes].sort(), [
      "canary:false:denied",
      "canary:false:insufficient_traffic",
      "canary:true:allowed",
      "infrastructure:false:",
      "infrastructure:true:",
      "promotion:false:",
      "promotion:true:",
      "rollout:false:hold",
      "rollout:false:rollback",
      "rollout:true:continue",
    ]);
  } finally {
    await server.close();
  }
}

Deno.test("the WASM evaluator and the real OPA server agree on 1200 samples, reasons included", async () => {
  await parity(LIMITS, 1200);
});

Deno.test("the WASM evaluator and the real OPA server agree on 1000 samples with odd limits", async () => {
  await parity(ODD_LIMITS, 1000);
});

Deno.test("createSidecarEvaluator() returns the real OPA server's decision for the seed example", async () => {
  const server = await startOpaServer(POLICIES_DIR, TEST_DATA);
  try {
    const sidecar = createSidecarEvaluator({ url: server.url, timeoutMs: 5000 });
    const decision = await sidecar.evaluate("canary", {
      current_mode: "canary",
      target_mode: "stable",
      error_rate_percent: 56.45,
      p99_latency_ms: 5,
      request_count: 80,
      window_seconds: 30,
    });
    assert.equal(decision.allow, false);
    assert.deepEqual(decision.reasons, ["error rate 56.45% exceeds the maximum 1.00%"]);
  } finally {
    await server.close();
  }
});

Deno.test("createSidecarEvaluator() reports no decision when OPA serves a renamed package", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(dir, "canary.rego"),
    'package swiftdeploy.canary_v2\n\ndecision := {"allow": true, "reasons": [], "domain": "canary", "checked": {}}\n',
  );
  const server = await startOpaServer(dir, TEST_DATA);
  try {
    const sidecar = createSidecarEvaluator({ url: server.url, timeoutMs: 5000 });
    await assert.rejects(
      sidecar.evaluate("canary", {}),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.code === "POLICY_UNAVAILABLE" &&
        e.message ===
          'OPA sidecar returned no decision for "swiftdeploy/canary/decision": the response has no "result"',
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
