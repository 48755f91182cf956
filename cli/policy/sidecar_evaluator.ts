/**
 * The OPA sidecar client: `POST {url}/v1/data/swiftdeploy/<domain>/decision`
 * with `{"input": ...}`. Every way this can fail is its own
 * POLICY_UNAVAILABLE error with its own message; none of them hangs past the
 * timeout and none of them allows.
 */
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import {
  type Decision,
  type Domain,
  entrypointFor,
  isDomain,
  type PolicyEvaluator,
  validateDecision,
} from "./decision.ts";
import { excerpt } from "./_opa.ts";

export interface SidecarEvaluatorOptions {
  /** Base URL of OPA, e.g. `http://127.0.0.1:8181`. */
  url: string;
  /** Whole-request deadline (connect, response and body). */
  timeoutMs: number;
}

function unavailable(message: string, hint: string, cause?: unknown): SwiftDeployError {
  return new SwiftDeployError("POLICY_UNAVAILABLE", message, {
    exitCode: ExitCode.failure,
    hint,
    ...(cause === undefined ? {} : { cause }),
  });
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException &&
    (error.name === "TimeoutError" || error.name === "AbortError");
}

function isRefused(error: unknown): boolean {
  const text = [error, (error as { cause?: unknown })?.cause].map((e) => String(e)).join(" ");
  return /connection refused|ECONNREFUSED|os error 111/i.test(text);
}

export function createSidecarEvaluator(options: SidecarEvaluatorOptions): PolicyEvaluator {
  const base = options.url.replace(/\/+$/, "");
  const { timeoutMs } = options;
  const UNREACHABLE_HINT =
    `start the stack (\`swiftdeploy deploy\`) or check opa.port in manifest.yaml`;

  return {
    engine: "sidecar",
    async evaluate(domain: Domain, input: unknown): Promise<Decision> {
      if (!isDomain(domain)) {
        throw new SwiftDeployError(
          "INTERNAL",
          `Cannot evaluate policy domain "${String(domain)}": unknown domain`,
        );
      }
      const path = entrypointFor(domain);
      const url = `${base}/v1/data/${path}`;
      const signal = AbortSignal.timeout(timeoutMs);
      let status: number;
      let body: string;
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ input }),
          signal,
        });
        status = response.status;
        body = await response.text();
      } catch (error) {
        if (isTimeout(error) || signal.aborted) {
          throw unavailable(
            `OPA sidecar decision timed out after ${seconds(timeoutMs)}: no answer from "${url}"`,
            "check that OPA is healthy (`swiftdeploy status`); opa.decision_timeout_seconds sets the limit",
            error,
          );
        }
        if (isRefused(error)) {
          throw unavailable(
            `Cannot reach the OPA sidecar at "${base}": connection refused`,
            UNREACHABLE_HINT,
            error,
          );
        }
        throw unavailable(
          `Cannot reach the OPA sidecar at "${base}": ${
            error instanceof Error ? error.message : String(error)
          }`,
          UNREACHABLE_HINT,
          error,
        );
      }
      if (status < 200 || status > 299) {
        throw unavailable(
          `OPA sidecar returned HTTP ${status} for "${path}": ${excerpt(body) || "(empty body)"}`,
          "read the OPA container logs; a 4xx/5xx means OPA could not evaluate the policy",
        );
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch (error) {
        throw unavailable(
          `OPA sidecar returned a non-JSON body for "${path}": ${excerpt(body) || "(empty body)"}`,
          `check that "${base}" is OPA and not another service`,
          error,
        );
      }
      if (
        parsed === null || typeof parsed !== "object" || Array.isArray(parsed) ||
        !("result" in parsed)
      ) {
        throw unavailable(
          `OPA sidecar returned no decision for "${path}": the response has no "result"`,
          `check the policy package name (package swiftdeploy.${domain} with a \`decision\` rule) ` +
            "and that OPA loaded the policies/ directory",
        );
      }
      return validateDecision((parsed as { result: unknown }).result, domain, "OPA sidecar");
    },
  };
}
