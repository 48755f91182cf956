import assert from "node:assert/strict";
import { join } from "node:path";
import { buildPolicyBundle } from "./build_policy_bundle.ts";
import { entrypointFor } from "./decision.ts";
import { generateParitySamples } from "./parity.ts";
import { entrypointEvaluator, jsonEvaluator, loadWasm, valueEvaluator } from "./_wasm.ts";
import { UnsupportedValue, ValueReader } from "./_wasm_values.ts";
import { fixturePolicies, OPA_BIN, sharedBundle, TEST_DATA } from "./_testing.ts";

const CANARY = "swiftdeploy/canary/decision";

async function loaded(wasmPath: string) {
  const policy = await loadWasm(await Deno.readFile(wasmPath));
  policy.setData(TEST_DATA);
  return policy;
}

function entrypointNumber(policy: Awaited<ReturnType<typeof loaded>>, name: string): number {
  const n = (policy.entrypoints as Record<string, number>)[name];
  assert.ok(n !== undefined, `no entrypoint ${name}`);
  return n;
}

Deno.test("the value reader gives every parity sample's decision exactly as the module's JSON does", async () => {
  const policy = await loaded((await sharedBundle()).wasmPath);
  const samples = generateParitySamples(1000, TEST_DATA.limits);
  const run = {
    infrastructure: [entrypointFor("infrastructure"), entrypointFor("infrastructure")],
    canary: [CANARY, CANARY],
  };
  const readers = Object.fromEntries(
    Object.entries(run).map(([domain, [name]]) => {
      const n = entrypointNumber(policy, name!);
      return [domain, { values: valueEvaluator(policy, n), json: jsonEvaluator(policy, n) }];
    }),
  );
  const denied = new Set<string>();
  for (const { domain, input } of samples) {
    const { values, json } = readers[domain]!;
    const [direct, printed] = [values(input), json(input)];
    assert.deepStrictEqual(direct, printed, JSON.stringify(input));
    if ((printed as { allow: boolean }).allow === false) denied.add(domain);
  }
  // Both domains' reasons (strings made at evaluation time) were read.
  assert.deepEqual([...denied].sort(), ["canary", "infrastructure"]);
});

Deno.test("entrypointEvaluator() reads the shipped decisions as values", async () => {
  const policy = await loaded((await sharedBundle()).wasmPath);
  for (const name of [entrypointFor("infrastructure"), CANARY]) {
    assert.equal(entrypointEvaluator(policy, name).reads, "values", name);
  }
  policy.minorVersion = 1;
  assert.equal(entrypointEvaluator(policy, CANARY).reads, "evaluate");
});

/** A canary decision whose `checked` echoes the input and adds the values named. */
const ECHO = `decision := {"allow": true, "reasons": [], "domain": "canary", "checked": {
  "echo": input,
  "big": 9007199254740993,
  "negative": -12,
  "tiny": 1e-7,
  "sum": 0.1 + 0.2,
  "empty": {"array": [], "object": {}},
  "odd": odd,
}}

odd := {1, 2} if input.set
else := {1: "one"} if input.number_key
else := {"__proto__": 1} if input.proto
else := null
`;

Deno.test("the value reader reads numbers, text and nesting as JSON.parse does, and hands what it does not know to JSON", async () => {
  const policiesDir = await fixturePolicies(ECHO);
  try {
    const { wasmPath } = await buildPolicyBundle({
      policiesDir,
      outDir: join(policiesDir, "out"),
      opaBin: OPA_BIN,
    });
    const policy = await loaded(wasmPath);
    const n = entrypointNumber(policy, CANARY);
    const [values, json] = [valueEvaluator(policy, n), jsonEvaluator(policy, n)];
    const run = entrypointEvaluator(policy, CANARY);
    assert.equal(run.reads, "values");

    const plain: unknown[] = [
      undefined,
      { text: "Kanarienvögel ✓ 🐤", long: "x".repeat(40) + "é", quote: 'a"b\\c\n' },
      { n: [0, -0.5, 1.5e300, 123456789012, -98765432109876, 2.5e-8] },
      { nested: [[[]], [{ a: [true, false, null] }]] },
    ];
    for (const input of plain) {
      const printed = json(input);
      assert.deepStrictEqual(values(input), printed, JSON.stringify(input));
      assert.deepStrictEqual(run(input), printed);
    }
    const checked = (values({}) as { checked: Record<string, unknown> }).checked;
    assert.equal(checked.big, 9007199254740992); // rounded once, as JSON.parse rounds it
    assert.equal(checked.sum, 0.3); // OPA adds decimals exactly

    // A set, a number key and a "__proto__" key: read through JSON instead.
    for (const input of [{ set: true }, { number_key: true }, { proto: true }]) {
      assert.throws(() => values(input), UnsupportedValue, JSON.stringify(input));
      const printed = json(input) as { checked: { odd: unknown } };
      assert.notEqual(printed.checked.odd, null);
      assert.deepStrictEqual(run(input), printed);
    }
    const proto = run({ proto: true }) as { checked: { odd: object } };
    assert.deepEqual(Object.keys(proto.checked.odd), ["__proto__"]);
  } finally {
    await Deno.remove(policiesDir, { recursive: true });
  }
});

/** A little memory holding hand-made values, laid out as the OPA runtime lays them out. */
function memoryWith(build: (view: DataView, bytes: Uint8Array) => void): ArrayBuffer {
  const buffer = new ArrayBuffer(256);
  build(new DataView(buffer), new Uint8Array(buffer));
  return buffer;
}

Deno.test("ValueReader decodes interned text once only where the module's data lies", () => {
  const buffer = memoryWith((view, bytes) => {
    bytes[16] = 8; // interned string at 16: length 2, text at 64
    view.setUint32(20, 2, true);
    view.setUint32(24, 64, true);
    bytes.set([0x6f, 0x6b], 64); // "ok"
  });
  const bytes = new Uint8Array(buffer);
  const inData = new ValueReader(buffer, new Map(), 32);
  const onHeap = new ValueReader(buffer, new Map(), 16);
  assert.equal(inData.read(16), "ok");
  assert.equal(onHeap.read(16), "ok");
  bytes.set([0x6e, 0x6f], 64); // the text changes: "no"
  assert.equal(inData.read(16), "ok"); // the module's data never changes: decoded once
  assert.equal(onHeap.read(16), "no"); // on the heap it is read every time
});

Deno.test("ValueReader reads 64-bit integers as JSON.parse reads their digits", () => {
  const cases = [0n, 1n, -1n, 4294967296n, -4294967297n, 9007199254740993n, -(2n ** 63n)];
  for (const n of cases) {
    const buffer = memoryWith((view, bytes) => {
      bytes[8] = 3; // number
      bytes[9] = 1; // INT
      view.setBigInt64(16, n, true);
    });
    assert.equal(new ValueReader(buffer, new Map(), 0).read(8), JSON.parse(n.toString()), `${n}`);
  }
});

Deno.test("ValueReader hands unknown types, representations and literals to JSON", () => {
  const reader = (build: (view: DataView, bytes: Uint8Array) => void) =>
    new ValueReader(memoryWith(build), new Map(), 0);
  assert.throws(() => reader((_, b) => (b[8] = 42)).read(8), UnsupportedValue);
  assert.throws(() => reader((_, b) => ([b[8], b[9]] = [3, 7])).read(8), UnsupportedValue);
  const hex = reader((view, b) => {
    [b[8], b[9]] = [3, 2]; // number, REF to "0x1f"
    view.setUint32(16, 64, true);
    view.setUint32(20, 4, true);
    b.set([0x30, 0x78, 0x31, 0x66], 64);
  });
  assert.throws(() => hex.read(8), /the number 0x1f/);
});
