import assert from "node:assert/strict";
import { SwiftDeployError } from "../errors/mod.ts";
import {
  type Decision,
  decisionProblem,
  entrypointFor,
  formatDecision,
  validateDecision,
} from "./decision.ts";

const denied: Decision = {
  allow: false,
  reasons: ["error rate 56.45% exceeds the maximum 1.00%"],
  domain: "canary",
  checked: { outcome: "denied" },
};

Deno.test("validateDecision() returns a well-formed decision unchanged", () => {
  assert.equal(validateDecision(denied, "canary", "test"), denied);
  const allowed = { allow: true, reasons: [], domain: "infrastructure", checked: {} };
  assert.deepEqual(validateDecision(allowed, "infrastructure", "test"), allowed);
});

Deno.test("validateDecision() throws POLICY_UNAVAILABLE when the decision is undefined", () => {
  assert.throws(
    () => validateDecision(undefined, "canary", "OPA sidecar"),
    (e: unknown) =>
      e instanceof SwiftDeployError && e.code === "POLICY_UNAVAILABLE" && e.exitCode === 1 &&
      e.message ===
        'Cannot use the OPA sidecar decision for "canary": malformed decision: the decision is undefined',
  );
});

Deno.test("decisionProblem() names each way a decision can be malformed", () => {
  const cases: [unknown, string][] = [
    [null, "the decision must be an object, got null"],
    [[denied], "the decision must be an object, got array"],
    [true, "the decision must be an object, got boolean true"],
    [{ ...denied, allow: "false" }, '"allow" must be a boolean, got "false"'],
    [{ ...denied, allow: 0 }, '"allow" must be a boolean, got number 0'],
    [{ ...denied, reasons: "bad" }, '"reasons" must be an array, got "bad"'],
    [{ ...denied, reasons: ["ok", 3] }, '"reasons[1]" must be a non-empty string, got number 3'],
    [{ ...denied, reasons: [""] }, '"reasons[0]" must be a non-empty string, got ""'],
    [{ ...denied, domain: "infrastructure" }, '"domain" must be "canary", got "infrastructure"'],
    [{ ...denied, checked: null }, '"checked" must be an object, got null'],
    [{ ...denied, checked: [] }, '"checked" must be an object, got array'],
    [{ ...denied, reasons: [] }, "a denial must give at least one reason"],
    [{ allow: true, reasons: [], domain: "canary" }, 'missing key "checked"'],
    [{ ...denied, outcome: "denied" }, 'unexpected key "outcome"'],
  ];
  for (const [value, problem] of cases) {
    assert.equal(decisionProblem(value, "canary"), problem, JSON.stringify(value));
  }
});

Deno.test("validateDecision() never lets a deny without reasons through", () => {
  assert.throws(
    () => validateDecision({ ...denied, reasons: [] }, "canary", "test"),
    /a denial must give at least one reason/,
  );
});

Deno.test("formatDecision() prints the verdict then one line per reason", () => {
  assert.deepEqual(formatDecision(denied), [
    "✘ Policy [canary] DENIED",
    "  ! error rate 56.45% exceeds the maximum 1.00%",
  ]);
  assert.deepEqual(
    formatDecision({ allow: true, reasons: [], domain: "infrastructure", checked: {} }),
    [
      "✔ Policy [infrastructure] ALLOWED",
    ],
  );
});

Deno.test("entrypointFor() is the WASM entrypoint and the OPA data path", () => {
  assert.equal(entrypointFor("canary"), "swiftdeploy/canary/decision");
  assert.equal(entrypointFor("infrastructure"), "swiftdeploy/infrastructure/decision");
});
