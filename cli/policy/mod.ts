/**
 * Policy as code: the Rego in policies/ decides, this module only runs it.
 *
 * - buildPolicyBundle: compile policies/ to `build/policy/policy-<hash12>.wasm`
 *   (+ policy.json), refusing modules that need built-ins opa-wasm lacks.
 * - createWasmEvaluator: evaluate in-process; a missing or stale bundle is an
 *   error naming `deno task build`.
 * - createSidecarEvaluator: the same decision from the OPA server over HTTP.
 * - compareEngines / generateParitySamples: prove both engines agree.
 * - runRegoTests: `opa test -v` and the coverage figure.
 * - formatDecision: display lines; the caller adds colour.
 */
export {
  type Decision,
  decisionProblem,
  type Domain,
  DOMAINS,
  entrypointFor,
  ENTRYPOINTS,
  formatDecision,
  isDomain,
  type PolicyEvaluator,
  validateDecision,
} from "./decision.ts";
export {
  buildPolicyBundle,
  type BuildPolicyBundleOptions,
  type BuiltPolicyBundle,
  BUNDLE_MANIFEST,
  type BundleManifest,
  readBundleManifest,
} from "./build_policy_bundle.ts";
export { createWasmEvaluator, type WasmEvaluatorOptions } from "./wasm_evaluator.ts";
export { createSidecarEvaluator, type SidecarEvaluatorOptions } from "./sidecar_evaluator.ts";
export {
  compareEngines,
  type EngineOutcome,
  generateParitySamples,
  type ParityMismatch,
  type ParitySample,
  type PolicyLimits,
} from "./parity.ts";
export { type RegoTestOptions, type RegoTestResult, runRegoTests } from "./rego_tests.ts";
export { DEFAULT_BUNDLE_DIR, DEFAULT_POLICIES_DIR, defaultOpaBin } from "./_opa.ts";
export { hashPolicySources, type PolicySources } from "./_sources.ts";
