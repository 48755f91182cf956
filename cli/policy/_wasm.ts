/**
 * The compiled policy through opa-wasm's public API only: `loadPolicy`,
 * `setData`, `evaluate` and the documented `entrypoints` map
 * (https://github.com/open-policy-agent/npm-opa-wasm#readme).
 *
 * Which built-ins a module may call is settled when it is compiled, not
 * here: `opa build` gets opa-wasm's own capabilities file (see
 * wasmCapabilities in build_policy_bundle.ts), so a rule calling a built-in
 * the package cannot run fails to compile instead of failing at evaluation.
 */
import { type LoadedPolicy, loadPolicy } from "@open-policy-agent/opa-wasm";

/** Instantiates a module (`policy.wasm` of an `opa build -t wasm` bundle); throws when it is not one. */
export async function loadWasm(bytes: Uint8Array): Promise<LoadedPolicy> {
  return await loadPolicy(bytes as Uint8Array<ArrayBuffer>);
}

/** Entrypoint names the module exports, sorted (opa-wasm's documented `entrypoints` map). */
export function wasmEntrypoints(policy: LoadedPolicy): string[] {
  return Object.keys(policy.entrypoints as Record<string, number>).sort();
}

/**
 * Evaluates one entrypoint: the `result` of the first result of the result
 * set, or undefined when the set is empty.
 */
export type EntrypointEvaluator = (input: unknown) => unknown;

const encoder = new TextEncoder();

/**
 * An evaluator for one entrypoint, resolved to its number once (throws when
 * the module has no such entrypoint).
 *
 * The input travels as the OPA server receives it in `{"input": ...}`:
 * serialised JSON in an ArrayBuffer, because opa-wasm's `evaluate` treats a
 * falsy JavaScript input (`null`, `false`, `0`, `""`) as no input at all,
 * while an ArrayBuffer is taken as the JSON text it holds. `undefined` (or
 * anything JSON.stringify drops) means no input, as on the server.
 */
export function entrypointEvaluator(policy: LoadedPolicy, name: string): EntrypointEvaluator {
  const entrypoint = (policy.entrypoints as Record<string, number>)[name];
  if (entrypoint === undefined) throw new Error(`entrypoint ${name} is not in the module`);
  return (input) => {
    const json = JSON.stringify(input);
    const serialised = json === undefined ? undefined : encoder.encode(json).buffer;
    return firstResult(policy.evaluate(serialised, entrypoint));
  };
}

/** The `result` of the first result of a result set, if any. */
function firstResult(resultSet: unknown): unknown {
  return Array.isArray(resultSet)
    ? (resultSet[0] as { result?: unknown } | undefined)?.result
    : undefined;
}
