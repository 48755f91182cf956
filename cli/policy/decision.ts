/**
 * A policy decision is data: `{ allow, reasons, domain, checked }`, the same
 * object from the in-process WASM evaluator and from the OPA sidecar. The CLI
 * renders it and never decides itself. Anything that is not exactly this
 * shape is an error, never an allow.
 */
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";

export type Domain = "infrastructure" | "canary" | "rollout" | "promotion";

export const DOMAINS: readonly Domain[] = ["infrastructure", "canary", "rollout", "promotion"];

export interface Decision {
  allow: boolean;
  /** Sorted; never empty when `allow` is false. */
  reasons: string[];
  domain: Domain;
  /**
   * What the policy examined: inputs, limits, per-check results (canary adds
   * `outcome` and `direction`; rollout adds `outcome`: "continue" | "hold" |
   * "rollback", and `failed` / `inconclusive`).
   */
  checked: Record<string, unknown>;
}

export interface PolicyEvaluator {
  engine: "wasm" | "sidecar";
  evaluate(domain: Domain, input: unknown): Promise<Decision>;
  close?(): void;
}

/** `swiftdeploy/<domain>/decision`: the WASM entrypoint and the OPA data path. */
export function entrypointFor(domain: Domain): string {
  return `swiftdeploy/${domain}/decision`;
}

export const ENTRYPOINTS: readonly string[] = DOMAINS.map(entrypointFor);

export function isDomain(value: unknown): value is Domain {
  return (DOMAINS as readonly unknown[]).includes(value);
}

const DECISION_KEYS = ["allow", "checked", "domain", "reasons"];

/** Why `value` is not a decision for `domain`, or undefined when it is one. */
export function decisionProblem(value: unknown, domain: Domain): string | undefined {
  if (value === undefined) return "the decision is undefined";
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return `the decision must be an object, got ${describe(value)}`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const extra = keys.filter((k) => !DECISION_KEYS.includes(k));
  if (extra.length > 0) return `unexpected key ${extra.map((k) => `"${k}"`).join(", ")}`;
  const absent = DECISION_KEYS.filter((k) => !(k in record));
  if (absent.length > 0) return `missing key ${absent.map((k) => `"${k}"`).join(", ")}`;
  if (typeof record.allow !== "boolean") {
    return `"allow" must be a boolean, got ${describe(record.allow)}`;
  }
  if (!Array.isArray(record.reasons)) {
    return `"reasons" must be an array, got ${describe(record.reasons)}`;
  }
  const badReason = record.reasons.findIndex((r) => typeof r !== "string" || r === "");
  if (badReason >= 0) {
    return `"reasons[${badReason}]" must be a non-empty string, got ${
      describe(record.reasons[badReason])
    }`;
  }
  if (record.domain !== domain) {
    return `"domain" must be "${domain}", got ${describe(record.domain)}`;
  }
  const checked = record.checked;
  if (checked === null || typeof checked !== "object" || Array.isArray(checked)) {
    return `"checked" must be an object, got ${describe(checked)}`;
  }
  if (record.allow === false && record.reasons.length === 0) {
    return "a denial must give at least one reason";
  }
  return undefined;
}

/**
 * Returns `value` as a Decision, or throws POLICY_UNAVAILABLE naming what is
 * wrong with it: a malformed decision never allows.
 */
export function validateDecision(value: unknown, domain: Domain, source: string): Decision {
  const problem = decisionProblem(value, domain);
  if (problem !== undefined) {
    throw new SwiftDeployError(
      "POLICY_UNAVAILABLE",
      `Cannot use the ${source} decision for "${domain}": malformed decision: ${problem}`,
      {
        exitCode: ExitCode.failure,
        hint:
          `check that the ${source} runs the policies in policies/ (package swiftdeploy.${domain})`,
      },
    );
  }
  return value as Decision;
}

/**
 * Display lines for a decision, without colours (the caller colours them):
 * `✔ Policy [canary] ALLOWED` or `✘ Policy [canary] DENIED`, then `  ! reason`.
 */
export function formatDecision(decision: Decision): string[] {
  const head = decision.allow
    ? `✔ Policy [${decision.domain}] ALLOWED`
    : `✘ Policy [${decision.domain}] DENIED`;
  // A denial's reasons are warnings; an allow's (a rollout analysis says why it continues) are not.
  const mark = decision.allow ? "-" : "!";
  return [head, ...decision.reasons.map((r) => `  ${mark} ${r}`)];
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  }
  if (typeof value === "object") return "object";
  return `${typeof value} ${String(value)}`;
}
