import assert from "node:assert/strict";
import { join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import {
  buildPolicyBundle,
  OPA_WASM_CAPABILITIES,
  readBundleManifest,
  undefinedFunctions,
  wasmFileName,
} from "./build_policy_bundle.ts";
import { hashPolicySources } from "./_sources.ts";
import { entrypointEvaluator, loadWasm } from "./_wasm.ts";
import { copyPolicies, fixturePolicies, OPA_BIN, POLICIES_DIR, sharedBundle } from "./_testing.ts";

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

Deno.test("buildPolicyBundle() writes policy-<hash12>.wasm and policy.json when the bundle is new", async () => {
  const { bundleDir, wasmPath, hash, rebuilt } = await sharedBundle();
  assert.equal(rebuilt, true);
  assert.equal(hash, (await hashPolicySources(POLICIES_DIR)).hash);
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(wasmPath, join(bundleDir, `policy-${hash.slice(0, 12)}.wasm`));
  const wasm = await Deno.readFile(wasmPath);
  assert.deepEqual(
    [...wasm.subarray(0, 4)],
    [0x00, 0x61, 0x73, 0x6d],
    "starts with the WASM magic number",
  );
  assert.deepEqual(await readBundleManifest(bundleDir), {
    hash,
    wasm: wasmFileName(hash),
    entrypoints: [
      "swiftdeploy/infrastructure/decision",
      "swiftdeploy/canary/decision",
      "swiftdeploy/rollout/decision",
      "swiftdeploy/promotion/decision",
    ],
    opa_version: "1.22.2",
  });
});

Deno.test("buildPolicyBundle() skips opa when the current hash is already built", async () => {
  const { bundleDir, wasmPath, hash } = await sharedBundle();
  // A binary that does not exist proves opa is not run at all.
  const again = await buildPolicyBundle({
    policiesDir: POLICIES_DIR,
    outDir: bundleDir,
    opaBin: "/nonexistent/opa",
  });
  assert.deepEqual(again, { wasmPath, hash, rebuilt: false });
});

Deno.test("buildPolicyBundle() rebuilds and drops the old module when a policy changes", async () => {
  const policiesDir = await copyPolicies();
  const outDir = await Deno.makeTempDir();
  try {
    const first = await buildPolicyBundle({ policiesDir, outDir, opaBin: OPA_BIN });
    await Deno.writeTextFile(join(policiesDir, "canary.rego"), "\n# a comment changes the hash\n", {
      append: true,
    });
    const second = await buildPolicyBundle({ policiesDir, outDir, opaBin: OPA_BIN });
    assert.equal(second.rebuilt, true);
    assert.notEqual(second.hash, first.hash);
    assert.deepEqual(await listDir(outDir), [wasmFileName(second.hash), "policy.json"].sort());
    assert.equal((await readBundleManifest(outDir))?.hash, second.hash);
  } finally {
    await Deno.remove(policiesDir, { recursive: true });
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("hashPolicySources() ignores Rego test files and sorts by path", async () => {
  const policiesDir = await copyPolicies();
  try {
    const before = await hashPolicySources(policiesDir);
    assert.deepEqual(before.files, [
      "canary.rego",
      "infrastructure.rego",
      "promotion.rego",
      "rollout.rego",
      "text.rego",
    ]);
    await Deno.writeTextFile(
      join(policiesDir, "extra_test.rego"),
      "package x_test\n\ntest_x if true\n",
    );
    assert.equal((await hashPolicySources(policiesDir)).hash, before.hash);
    await Deno.writeTextFile(join(policiesDir, "extra.rego"), "package x\n");
    assert.notEqual((await hashPolicySources(policiesDir)).hash, before.hash);
  } finally {
    await Deno.remove(policiesDir, { recursive: true });
  }
});

Deno.test("buildPolicyBundle() fails when the module needs a built-in opa-wasm does not implement", async () => {
  const policiesDir = await fixturePolicies(
    'decision := {"allow": true, "reasons": [crypto.sha256(input.x)], "domain": "canary", "checked": {}}',
  );
  const outDir = join(policiesDir, "out");
  try {
    await assert.rejects(
      buildPolicyBundle({ policiesDir, outDir, opaBin: OPA_BIN }),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.code === "POLICY_BUNDLE_MISSING" &&
        e.message ===
          'Cannot use the compiled policy: opa-wasm does not implement the built-in "crypto.sha256" it needs',
    );
    assert.deepEqual(await listDir(outDir), [], "nothing is written");
  } finally {
    await Deno.remove(policiesDir, { recursive: true });
  }
});

Deno.test("buildPolicyBundle() accepts host built-ins opa-wasm implements", async () => {
  const policiesDir = await fixturePolicies(
    'decision := {"allow": true, "reasons": [], "domain": "canary", "checked": {"s": sprintf("%v", [input.x])}}',
  );
  const outDir = join(policiesDir, "out");
  try {
    const built = await buildPolicyBundle({ policiesDir, outDir, opaBin: OPA_BIN });
    assert.equal(built.rebuilt, true);
    const policy = await loadWasm(await Deno.readFile(built.wasmPath));
    const decision = entrypointEvaluator(policy, "swiftdeploy/canary/decision")({ x: [1, "a"] });
    assert.deepEqual(
      (decision as { checked: unknown }).checked,
      { s: "1,a" },
      "opa-wasm's JavaScript sprintf ran",
    );
  } finally {
    await Deno.remove(policiesDir, { recursive: true });
  }
});

Deno.test("buildPolicyBundle() fails with opa's message when a policy does not compile", async () => {
  const policiesDir = await fixturePolicies("decision := {");
  try {
    await assert.rejects(
      buildPolicyBundle({ policiesDir, outDir: join(policiesDir, "out"), opaBin: OPA_BIN }),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.code === "POLICY_BUNDLE_MISSING" &&
        e.message.startsWith("Cannot compile the policies to WASM: opa build exited with 1: ") &&
        e.message.includes("canary.rego"),
    );
  } finally {
    await Deno.remove(policiesDir, { recursive: true });
  }
});

Deno.test("buildPolicyBundle() fails with TOOL_MISSING when the opa binary is absent", async () => {
  const outDir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      buildPolicyBundle({ policiesDir: POLICIES_DIR, outDir, opaBin: "/nonexistent/opa" }),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.code === "TOOL_MISSING" &&
        e.message === 'Cannot run OPA: "/nonexistent/opa" is not an executable',
    );
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("buildPolicyBundle() fails with POLICY_BUNDLE_MISSING when there are no policies", async () => {
  const empty = await Deno.makeTempDir();
  try {
    await assert.rejects(
      buildPolicyBundle({ policiesDir: empty, outDir: join(empty, "out"), opaBin: OPA_BIN }),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.code === "POLICY_BUNDLE_MISSING" &&
        /no \.rego file/.test(e.message),
    );
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("buildPolicyBundle() leaves a typo in a function name to opa's own message", async () => {
  const policiesDir = await fixturePolicies(
    'decision := {"allow": true, "reasons": [], "domain": "canary", "checked": {"n": cout([1])}}',
  );
  try {
    await assert.rejects(
      buildPolicyBundle({ policiesDir, outDir: join(policiesDir, "out"), opaBin: OPA_BIN }),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.code === "POLICY_BUNDLE_MISSING" &&
        e.message.startsWith("Cannot compile the policies to WASM: opa build exited with 1: ") &&
        e.message.includes("undefined function cout"),
    );
  } finally {
    await Deno.remove(policiesDir, { recursive: true });
  }
});

Deno.test("undefinedFunctions() splits built-ins OPA knows from unknown names", () => {
  const stderr = "error: 3 errors occurred:\n" +
    "a.rego:2: rego_type_error: undefined function crypto.sha256\n" +
    "a.rego:3: rego_type_error: undefined function cout\n" +
    "b.rego:9: rego_type_error: undefined function crypto.sha256\n";
  assert.deepEqual(undefinedFunctions(stderr, new Set(["crypto.sha256", "count"])), {
    unsupported: ["crypto.sha256"],
    unknown: ["cout"],
  });
});

Deno.test("opa-wasm's capabilities list every built-in its JavaScript implements", async () => {
  const capabilities = JSON.parse(await Deno.readTextFile(OPA_WASM_CAPABILITIES)) as {
    builtins: { name: string }[];
  };
  const names = new Set(capabilities.builtins.map((b) => b.name));
  for (const name of ["sprintf", "json.is_valid", "yaml.marshal", "count"]) {
    assert.ok(names.has(name), name);
  }
  assert.ok(!names.has("crypto.sha256"), "a built-in opa-wasm lacks is not listed");
});
