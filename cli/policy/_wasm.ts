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

/** Evaluates one entrypoint: the `result` of its first result, or undefined. */
export type EntrypointEvaluator = (input: unknown) => unknown;

interface EvalExports {
  opa_eval(
    reserved: number,
    entrypoint: number,
    data: number,
    input: number,
    inputLength: number,
    heapPtr: number,
    format: number,
  ): number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * An evaluator for one entrypoint, resolved to its number once. The input
 * travels as the OPA server receives it in `{"input": ...}`: serialised
 * once, `undefined` meaning no input at all (opa-wasm's own `evaluate` also
 * drops `null`, `false`, `0` and `""`). On the one-call ABI (1.2 and later)
 * the JSON is encoded straight into the module's memory and the result read
 * back with one native search and one decode, where opa-wasm makes an
 * encoder and a decoder per call and scans for the end byte by byte;
 * otherwise opa-wasm's `evaluate` runs the serialised input.
 */
export function entrypointEvaluator(policy: LoadedPolicy, name: string): EntrypointEvaluator {
  const entrypoint = (policy.entrypoints as Record<string, number>)[name];
  if (entrypoint === undefined) throw new Error(`entrypoint ${name} is not in the module`);
  if (!(Number(policy.minorVersion) >= 2)) {
    return (input) => {
      const json = JSON.stringify(input);
      const serialised = json === undefined ? undefined : encoder.encode(json).buffer;
      return firstResult(policy.evaluate(serialised, entrypoint));
    };
  }
  const exports = exportsOf(policy) as unknown as EvalExports;
  const memory = policy.mem;
  return (input) => {
    const json = JSON.stringify(input);
    const at: number = policy.dataHeapPtr;
    let length = 0;
    if (json !== undefined) {
      const room = json.length * 3; // UTF-8 needs at most 3 bytes per UTF-16 unit
      const short = at + room - memory.buffer.byteLength;
      if (short > 0) memory.grow(Math.ceil(short / 65536));
      length = encoder.encodeInto(json, new Uint8Array(memory.buffer, at, room)).written;
    }
    // As opa-wasm does: address 0 for no input; the heap starts after the input.
    const inputAt = length > 0 ? at : 0;
    const out = exports.opa_eval(0, entrypoint, policy.dataAddr, inputAt, length, at + length, 0);
    const bytes = new Uint8Array(memory.buffer); // opa_eval may have grown the memory
    return firstResult(JSON.parse(decoder.decode(bytes.subarray(out, bytes.indexOf(0, out)))));
  };
}

/** The `result` of the first result of a result set, if any. */
function firstResult(resultSet: unknown): unknown {
  return Array.isArray(resultSet)
    ? (resultSet[0] as { result?: unknown } | undefined)?.result
    : undefined;
}
