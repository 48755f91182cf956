/**
 * The compiled policy as opa-wasm sees it. Built-ins that the OPA WASM
 * runtime does not implement natively are imported from the host, and
 * opa-wasm only fails on a missing one when a rule actually calls it, at
 * evaluation time. So the build reads the module's `builtins()` export (the
 * JSON map of host built-ins it needs) and compares it with what the npm
 * package implements, before anything is evaluated.
 */
import { type LoadedPolicy, loadPolicy } from "@open-policy-agent/opa-wasm";

/**
 * Host built-ins that @open-policy-agent/opa-wasm 1.10.0 implements in
 * JavaScript (its src/builtins/{json,strings,regex,yaml}.js). Everything else
 * a module imports fails at evaluation time. Kept in step with the package by
 * a test that reads those files.
 */
export const OPA_WASM_JS_BUILTINS: readonly string[] = [
  "json.is_valid",
  "regex.split",
  "sprintf",
  "yaml.is_valid",
  "yaml.marshal",
  "yaml.unmarshal",
];

interface PolicyExports {
  builtins(): number;
  entrypoints(): number;
  opa_json_dump(addr: number): number;
}

function exportsOf(policy: LoadedPolicy): PolicyExports {
  const instance = policy.wasmInstance as WebAssembly.Instance;
  return instance.exports as unknown as PolicyExports;
}

function dumpJson(policy: LoadedPolicy, addr: number): unknown {
  const at = exportsOf(policy).opa_json_dump(addr);
  const memory = new Uint8Array(policy.mem.buffer);
  const end = memory.indexOf(0, at);
  return JSON.parse(new TextDecoder().decode(memory.subarray(at, end)));
}

export async function loadWasm(bytes: Uint8Array): Promise<LoadedPolicy> {
  return await loadPolicy(bytes as Uint8Array<ArrayBuffer>);
}

/** Names of the host built-ins the module imports, sorted. */
export function hostBuiltins(policy: LoadedPolicy): string[] {
  const map = dumpJson(policy, exportsOf(policy).builtins()) as Record<string, number>;
  return Object.keys(map).sort();
}

/** Entrypoint names the module exports, sorted. */
export function wasmEntrypoints(policy: LoadedPolicy): string[] {
  return Object.keys(policy.entrypoints as Record<string, number>).sort();
}

/** Host built-ins the module needs that opa-wasm does not implement. */
export function unsupportedBuiltins(needed: readonly string[]): string[] {
  return needed.filter((name) => !OPA_WASM_JS_BUILTINS.includes(name));
}
