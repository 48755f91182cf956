/**
 * The in-process evaluator: the WASM module `deno task build` compiled from
 * policies/, loaded once with opa-wasm, data set once. A missing bundle, or
 * one built from other policy sources than the ones on disk, is refused:
 * evaluating stale rules would silently enforce an old policy.
 */
import { join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import {
  type Decision,
  type Domain,
  DOMAINS,
  entrypointFor,
  isDomain,
  type PolicyEvaluator,
  validateDecision,
} from "./decision.ts";
import { readBundleManifest } from "./build_policy_bundle.ts";
import { DEFAULT_BUNDLE_DIR, DEFAULT_POLICIES_DIR } from "./_opa.ts";
import { hashPolicySources } from "./_sources.ts";
import {
  type EntrypointEvaluator,
  entrypointEvaluator,
  loadWasm,
  wasmEntrypoints,
} from "./_wasm.ts";

export interface WasmEvaluatorOptions {
  /** Directory holding policy.json and the module. Default: build/policy/. */
  bundleDir?: string;
  /** The sources the bundle must have been built from. Default: policies/. */
  policiesDir?: string;
  /** The OPA data document (`{"limits": {...}}`), as rendered by `init`. */
  data: unknown;
}

const REBUILD_HINT = "run `deno task build` to compile policies/ to WASM";

function bundleMissing(message: string, cause?: unknown): SwiftDeployError {
  return new SwiftDeployError("POLICY_BUNDLE_MISSING", message, {
    hint: REBUILD_HINT,
    ...(cause === undefined ? {} : { cause }),
  });
}

export async function createWasmEvaluator(options: WasmEvaluatorOptions): Promise<PolicyEvaluator> {
  const bundleDir = options.bundleDir ?? DEFAULT_BUNDLE_DIR;
  const policiesDir = options.policiesDir ?? DEFAULT_POLICIES_DIR;
  const manifest = await readBundleManifest(bundleDir);
  if (!manifest) {
    throw bundleMissing(
      `Cannot load the policy bundle: no valid "${join(bundleDir, "policy.json")}"`,
    );
  }
  const { hash } = await hashPolicySources(policiesDir);
  if (manifest.hash !== hash) {
    throw bundleMissing(
      `Cannot use the policy bundle: it is stale, built from other policy sources ` +
        `(bundle ${manifest.hash.slice(0, 12)}, "${policiesDir}" ${hash.slice(0, 12)})`,
    );
  }
  const wasmPath = join(bundleDir, manifest.wasm);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(wasmPath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw bundleMissing(`Cannot load the policy bundle: "${wasmPath}" does not exist`, error);
    }
    throw error;
  }
  let policy: Awaited<ReturnType<typeof loadWasm>>;
  try {
    policy = await loadWasm(bytes);
  } catch (error) {
    throw bundleMissing(
      `Cannot load the policy bundle: "${wasmPath}" is not a valid policy module`,
      error,
    );
  }
  const entrypoints = wasmEntrypoints(policy);
  for (const domain of DOMAINS) {
    if (!entrypoints.includes(entrypointFor(domain))) {
      throw bundleMissing(
        `Cannot use the policy bundle: entrypoint "${entrypointFor(domain)}" is missing`,
      );
    }
  }
  policy.setData(options.data as object);
  // Each entrypoint resolved once; evaluate() then does no lookups by name.
  const run = Object.fromEntries(
    DOMAINS.map((domain) => [domain, entrypointEvaluator(policy, entrypointFor(domain))]),
  ) as Record<Domain, EntrypointEvaluator>;

  return {
    engine: "wasm",
    // deno-lint-ignore require-await
    async evaluate(domain: Domain, input: unknown): Promise<Decision> {
      if (!isDomain(domain)) {
        throw new SwiftDeployError(
          "INTERNAL",
          `Cannot evaluate policy domain "${String(domain)}": unknown domain`,
        );
      }
      let result: unknown;
      try {
        result = run[domain](input);
      } catch (error) {
        throw new SwiftDeployError(
          "POLICY_UNAVAILABLE",
          `Cannot evaluate the "${domain}" policy in-process: ${errorText(error)}`,
          { hint: REBUILD_HINT, cause: error },
        );
      }
      return validateDecision(result, domain, "in-process WASM");
    },
  };
}

/** opa-wasm throws strings and plain `{message}` objects as well as Errors. */
function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error) {
    return String(error.message);
  }
  return String(error);
}
