/**
 * The compiled policy as opa-wasm sees it. Built-ins that the OPA WASM
 * runtime does not implement natively are imported from the host, and
 * opa-wasm only fails on a missing one when a rule actually calls it, at
 * evaluation time. So the build reads the module's `builtins()` export (the
 * JSON map of host built-ins it needs) and compares it with what the npm
 * package implements, before anything is evaluated.
 */
import { isDeepStrictEqual } from "node:util";
import { type LoadedPolicy, loadPolicy } from "@open-policy-agent/opa-wasm";
import { UnsupportedValue, ValueReader } from "./_wasm_values.ts";

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

/** An entrypoint evaluator, and how it reads results from the module. */
export type ReadingEvaluator = EntrypointEvaluator & {
  /** "values" from memory (JSON for a result the reader does not know), "json", or "evaluate" (opa-wasm's). */
  readonly reads: "values" | "json" | "evaluate";
};

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

/** The step-by-step ABI: parse the input, evaluate, and keep the result as a value. */
interface ContextExports {
  opa_heap_ptr_set(addr: number): void;
  opa_json_parse(addr: number, length: number): number;
  opa_eval_ctx_new(): number;
  opa_eval_ctx_set_input(ctx: number, input: number): void;
  opa_eval_ctx_set_data(ctx: number, data: number): void;
  opa_eval_ctx_set_entrypoint(ctx: number, entrypoint: number): void;
  eval(ctx: number): number;
  opa_eval_ctx_get_result(ctx: number): number;
}

const CONTEXT_EXPORTS: readonly (keyof ContextExports)[] = [
  "opa_heap_ptr_set",
  "opa_json_parse",
  "opa_eval_ctx_new",
  "opa_eval_ctx_set_input",
  "opa_eval_ctx_set_data",
  "opa_eval_ctx_set_entrypoint",
  "eval",
  "opa_eval_ctx_get_result",
];

/**
 * Inputs a module's direct reading is checked on when it is loaded: no
 * input, an empty one, and one of each shape the decisions take.
 */
const PROBE_INPUTS: readonly unknown[] = [
  undefined,
  {},
  { current_mode: "canary", target_mode: "stable" },
  {
    current_mode: "canary",
    target_mode: "stable",
    error_rate_percent: 0.42,
    p99_latency_ms: 612.3,
    request_count: 250,
    window_seconds: 30,
  },
  { current_mode: "canary", target_mode: "stable", request_count: 1, window_seconds: 30 },
  { current_mode: "stable", target_mode: "canary" },
  { disk_free_gb: 120.5, cpu_load_1m: 0.42, mem_free_percent: 63.2 },
  { disk_free_gb: 2, cpu_load_1m: "high", mem_free_percent: null },
];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * An evaluator for one entrypoint, resolved to its number once. The input
 * travels as the OPA server receives it in `{"input": ...}`: serialised
 * once, `undefined` meaning no input at all (opa-wasm's own `evaluate` also
 * drops `null`, `false`, `0` and `""`), encoded straight into the module's
 * memory.
 *
 * The result is read from the module's memory as values (see
 * _wasm_values.ts) rather than printed as JSON by the module and parsed
 * again, when the module was checked to give the same values both ways on
 * PROBE_INPUTS; a result the reader does not know is read as JSON. Before
 * the one-call ABI (1.2) opa-wasm's `evaluate` runs the serialised input.
 */
export function entrypointEvaluator(policy: LoadedPolicy, name: string): ReadingEvaluator {
  const entrypoint = (policy.entrypoints as Record<string, number>)[name];
  if (entrypoint === undefined) throw new Error(`entrypoint ${name} is not in the module`);
  if (!(Number(policy.minorVersion) >= 2)) {
    return reading("evaluate", (input) => {
      const json = JSON.stringify(input);
      const serialised = json === undefined ? undefined : encoder.encode(json).buffer;
      return firstResult(policy.evaluate(serialised, entrypoint));
    });
  }
  const viaJson = jsonEvaluator(policy, entrypoint);
  const exports = exportsOf(policy) as unknown as Record<string, unknown>;
  if (!CONTEXT_EXPORTS.every((fn) => typeof exports[fn] === "function")) {
    return reading("json", viaJson);
  }
  const viaValues = valueEvaluator(policy, entrypoint);
  const agree = PROBE_INPUTS.every((input) => {
    try {
      return isDeepStrictEqual(viaValues(input), viaJson(input));
    } catch (error) {
      if (error instanceof UnsupportedValue) return true; // read as JSON when it happens
      throw error;
    }
  });
  if (!agree) return reading("json", viaJson);
  return reading("values", (input) => {
    try {
      return viaValues(input);
    } catch (error) {
      if (error instanceof UnsupportedValue) return viaJson(input);
      throw error;
    }
  });
}

function reading(reads: ReadingEvaluator["reads"], run: EntrypointEvaluator): ReadingEvaluator {
  return Object.assign(run, { reads });
}

/**
 * Writes the serialised input at the start of the free heap, growing the
 * memory when needed; returns its length in bytes (0 for no input).
 */
function writeInput(policy: LoadedPolicy, json: string | undefined): number {
  if (json === undefined) return 0;
  const memory = policy.mem;
  const at: number = policy.dataHeapPtr;
  const room = json.length * 3; // UTF-8 needs at most 3 bytes per UTF-16 unit
  const short = at + room - memory.buffer.byteLength;
  if (short > 0) memory.grow(Math.ceil(short / 65536));
  return encoder.encodeInto(json, new Uint8Array(memory.buffer, at, room)).written;
}

/** One call: the module parses the input, evaluates and prints the result set as JSON. */
export function jsonEvaluator(policy: LoadedPolicy, entrypoint: number): EntrypointEvaluator {
  const exports = exportsOf(policy) as unknown as EvalExports;
  return (input) => {
    const at: number = policy.dataHeapPtr;
    const length = writeInput(policy, JSON.stringify(input));
    // As opa-wasm does: address 0 for no input; the heap starts after the input.
    const out = exports.opa_eval(
      0,
      entrypoint,
      policy.dataAddr,
      length > 0 ? at : 0,
      length,
      at + length,
      0,
    );
    const bytes = new Uint8Array(policy.mem.buffer); // opa_eval may have grown the memory
    return firstResult(JSON.parse(decoder.decode(bytes.subarray(out, bytes.indexOf(0, out)))));
  };
}

/** Step by step: the module parses the input and evaluates; the result set is read as values. */
export function valueEvaluator(policy: LoadedPolicy, entrypoint: number): EntrypointEvaluator {
  const exports = exportsOf(policy) as unknown as ContextExports;
  const interned = new Map<number, string>();
  let reader: ValueReader | undefined;
  return (input) => {
    const at: number = policy.dataHeapPtr;
    const length = writeInput(policy, JSON.stringify(input));
    exports.opa_heap_ptr_set(at + length);
    let inputAddr = 0;
    if (length > 0) {
      inputAddr = exports.opa_json_parse(at, length);
      if (inputAddr === 0) throw new Error("the module could not parse the input JSON");
    }
    const ctx = exports.opa_eval_ctx_new();
    exports.opa_eval_ctx_set_input(ctx, inputAddr);
    exports.opa_eval_ctx_set_data(ctx, policy.dataAddr);
    exports.opa_eval_ctx_set_entrypoint(ctx, entrypoint);
    exports.eval(ctx);
    const resultSet = exports.opa_eval_ctx_get_result(ctx);
    const buffer = policy.mem.buffer as ArrayBuffer; // evaluation may have grown the memory
    if (reader === undefined || reader.buffer !== buffer) {
      reader = new ValueReader(buffer, interned, policy.baseHeapPtr);
    }
    return reader.resultOf(resultSet);
  };
}

/** The `result` of the first result of a result set, if any. */
function firstResult(resultSet: unknown): unknown {
  return Array.isArray(resultSet)
    ? (resultSet[0] as { result?: unknown } | undefined)?.result
    : undefined;
}
