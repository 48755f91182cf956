import assert from "node:assert/strict";
import { join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import { runRegoTests } from "./rego_tests.ts";
import { OPA_BIN, POLICIES_DIR } from "./_testing.ts";

Deno.test("runRegoTests() passes the shipped policies with full coverage", async () => {
  const result = await runRegoTests({ policiesDir: POLICIES_DIR, opaBin: OPA_BIN });
  assert.equal(result.ok, true, result.output);
  assert.match(result.output, /^PASS: \d+\/\d+$/m);
  assert.match(
    result.output,
    /test_insufficient_traffic_does_not_judge_error_rate_or_latency: PASS/,
  );
  assert.match(result.output, /test_too_little_canary_traffic_holds_with_its_reason: PASS/);
  assert.equal(result.coverage, 100);
  for (
    const file of [
      "canary.rego",
      "infrastructure.rego",
      "promotion.rego",
      "rollout.rego",
      "text.rego",
    ]
  ) {
    assert.equal(
      result.files[join(POLICIES_DIR, file)] ?? result.files[`policies/${file}`],
      100,
      file,
    );
  }
});

Deno.test("runRegoTests() reports a failing Rego test", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "limits.rego"), "package limits\n\nmax := 5\n");
    await Deno.writeTextFile(
      join(dir, "limits_test.rego"),
      "package limits_test\n\nimport data.limits\n\ntest_max if limits.max == 6\n",
    );
    const result = await runRegoTests({ policiesDir: dir, opaBin: OPA_BIN });
    assert.equal(result.ok, false);
    assert.match(result.output, /test_max: FAIL/);
    assert.equal(result.coverage, 0);
    assert.deepEqual(result.files, {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runRegoTests() fails with TOOL_MISSING when opa is absent", async () => {
  await assert.rejects(
    runRegoTests({ policiesDir: POLICIES_DIR, opaBin: "/nonexistent/opa" }),
    (e: unknown) => e instanceof SwiftDeployError && e.code === "TOOL_MISSING",
  );
});
