/**
 * `deno task build` step one: compile policies/ to the WASM module the CLI
 * evaluates in-process.
 *
 *   1. hash the non-test .rego sources (the bundle's identity);
 *   2. if `<outDir>/policy-<hash12>.wasm` and a matching policy.json exist,
 *      stop (rebuilt: false);
 *   3. `opa build -t wasm -e swiftdeploy/infrastructure/decision
 *      -e swiftdeploy/canary/decision -e swiftdeploy/rollout/decision
 *      -e swiftdeploy/promotion/decision
 *      --ignore "*_test.rego" --capabilities
 *      <opa-wasm's capabilities>` into a temp dir: a rule calling a built-in
 *      opa-wasm cannot run does not compile;
 *   4. take policy.wasm out of bundle.tar.gz, load it with opa-wasm and
 *      refuse it when it misses an entrypoint;
 *   5. write the module, then policy.json, and drop older modules.
 */
import { basename, join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import { DOMAINS, ENTRYPOINTS } from "./decision.ts";
import {
  DEFAULT_BUNDLE_DIR,
  defaultOpaBin,
  excerpt,
  opaVersion,
  PROJECT_ROOT,
  runOpa,
} from "./_opa.ts";
import { hashPolicySources } from "./_sources.ts";
import { gunzip, readTarFiles } from "../tar/mod.ts";
import { loadWasm, wasmEntrypoints } from "./_wasm.ts";

export const BUNDLE_MANIFEST = "policy.json";

/** `<outDir>/policy.json`: which module belongs to which policy sources. */
export interface BundleManifest {
  /** sha256 of the policy sources (see hashPolicySources). */
  hash: string;
  /** File name of the module inside the bundle directory. */
  wasm: string;
  entrypoints: string[];
  opa_version: string;
}

export interface BuildPolicyBundleOptions {
  policiesDir: string;
  /** Default: build/policy/ under the project root. */
  outDir?: string;
  /** Default: $OPA_BIN, else .tools/bin/opa. */
  opaBin?: string;
}

export interface BuiltPolicyBundle {
  wasmPath: string;
  hash: string;
  rebuilt: boolean;
}

export function wasmFileName(hash: string): string {
  return `policy-${hash.slice(0, 12)}.wasm`;
}

export async function readBundleManifest(bundleDir: string): Promise<BundleManifest | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(bundleDir, BUNDLE_MANIFEST));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const m = value as Partial<BundleManifest> | null;
  if (
    !m || typeof m.hash !== "string" || typeof m.wasm !== "string" ||
    !Array.isArray(m.entrypoints) ||
    typeof m.opa_version !== "string"
  ) return undefined;
  return m as BundleManifest;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function bundleError(message: string, hint: string, cause?: unknown): SwiftDeployError {
  return new SwiftDeployError("POLICY_BUNDLE_MISSING", message, {
    hint,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * opa-wasm's capabilities file: the built-ins (natively in WASM or in the
 * package's JavaScript) and ABI versions that the installed package can
 * run, in OPA's capabilities format. It ships in the package (its
 * package.json "files"); its path under node_modules/ is fixed by npm.
 */
export const OPA_WASM_CAPABILITIES = join(
  PROJECT_ROOT,
  "node_modules",
  "@open-policy-agent",
  "opa-wasm",
  "capabilities.json",
);

/**
 * The capabilities `opa build` compiles against: opa-wasm's built-ins and
 * ABI versions, with the language features (`rego_v1`…) and future keywords
 * of the `opa` binary itself, since the package's file names none and OPA 1.x
 * then refuses to parse v1 Rego. Throws TOOL_MISSING when `opa` cannot run,
 * POLICY_BUNDLE_MISSING when the package's file is missing or unreadable.
 */
export async function wasmCapabilities(opaBin: string): Promise<Record<string, unknown>> {
  let wasm: Record<string, unknown>;
  try {
    wasm = JSON.parse(await Deno.readTextFile(OPA_WASM_CAPABILITIES));
  } catch (error) {
    throw bundleError(
      `Cannot read opa-wasm's capabilities: "${OPA_WASM_CAPABILITIES}": ${errorText(error)}`,
      "run the CLI once from the project root so Deno installs its npm packages",
      error,
    );
  }
  const current = await runOpa(opaBin, ["capabilities", "--current"]);
  if (current.code !== 0) {
    throw bundleError(
      `Cannot read the capabilities of "${opaBin}": ${excerpt(current.stderr || current.stdout)}`,
      "check that the opa binary is OPA v1 (`opa capabilities --current`)",
    );
  }
  const opa = JSON.parse(current.stdout) as Record<string, unknown>;
  return {
    ...wasm,
    ...(opa.features === undefined ? {} : { features: opa.features }),
    ...(opa.future_keywords === undefined ? {} : { future_keywords: opa.future_keywords }),
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The built-ins `opa build` reported as undefined (`undefined function
 * NAME`), split into those OPA knows (opa-wasm cannot run them) and those
 * nobody knows (a typo in the policy). Both lists sorted and unique.
 */
export function undefinedFunctions(
  stderr: string,
  known: ReadonlySet<string>,
): { unsupported: string[]; unknown: string[] } {
  const names = [...new Set([...stderr.matchAll(/undefined function (\S+)/g)].map((m) => m[1]!))]
    .sort();
  return {
    unsupported: names.filter((n) => known.has(n)),
    unknown: names.filter((n) => !known.has(n)),
  };
}

/** Checks a compiled module the way the evaluator will use it; throws when it cannot serve. */
export async function checkPolicyWasm(bytes: Uint8Array): Promise<void> {
  let policy: Awaited<ReturnType<typeof loadWasm>>;
  try {
    policy = await loadWasm(bytes);
  } catch (error) {
    throw bundleError(
      `Cannot use the compiled policy: opa-wasm cannot load it: ${errorText(error)}`,
      "check that the opa binary builds WASM of an ABI version opa-wasm supports",
      error,
    );
  }
  const entrypoints = wasmEntrypoints(policy);
  const absent = ENTRYPOINTS.filter((e) => !entrypoints.includes(e));
  if (absent.length > 0) {
    throw bundleError(
      `Cannot use the compiled policy: entrypoint ${
        absent.map((e) => `"${e}"`).join(", ")
      } is missing`,
      `keep \`decision\` in packages ${DOMAINS.map((d) => `swiftdeploy.${d}`).join(", ")}`,
    );
  }
}

/** Throws the built-ins opa-wasm cannot run, when that is why `opa build` failed. */
async function refuseUnsupported(opaBin: string, stderr: string): Promise<void> {
  const current = await runOpa(opaBin, ["capabilities", "--current"]);
  const all = (JSON.parse(current.stdout) as { builtins: { name: string }[] }).builtins;
  const { unsupported } = undefinedFunctions(stderr, new Set(all.map((b) => b.name)));
  if (unsupported.length === 0) return; // a typo: opa's own message says which
  throw bundleError(
    `Cannot use the compiled policy: opa-wasm does not implement the built-in ${
      unsupported.map((b) => `"${b}"`).join(", ")
    } it needs`,
    "rewrite the rules without it (see policies/text.rego for string-only formatting); " +
      "the in-process evaluator could not run it",
  );
}

export async function buildPolicyBundle(
  options: BuildPolicyBundleOptions,
): Promise<BuiltPolicyBundle> {
  const { policiesDir } = options;
  const outDir = options.outDir ?? DEFAULT_BUNDLE_DIR;
  const opaBin = options.opaBin ?? defaultOpaBin();
  const { hash } = await hashPolicySources(policiesDir);
  const wasmName = wasmFileName(hash);
  const wasmPath = join(outDir, wasmName);

  const current = await readBundleManifest(outDir);
  if (current?.hash === hash && current.wasm === wasmName && await exists(wasmPath)) {
    return { wasmPath, hash, rebuilt: false };
  }

  const work = await Deno.makeTempDir({ prefix: "swiftdeploy-policy-" });
  try {
    const bundlePath = join(work, "bundle.tar.gz");
    const args = ["build", "-t", "wasm"];
    for (const entrypoint of ENTRYPOINTS) args.push("-e", entrypoint);
    const capabilities = join(work, "capabilities.json");
    await Deno.writeTextFile(capabilities, JSON.stringify(await wasmCapabilities(opaBin)));
    args.push("--capabilities", capabilities);
    args.push("--ignore", "*_test.rego", "-o", bundlePath, policiesDir);
    const run = await runOpa(opaBin, args);
    if (run.code !== 0 && /undefined function /.test(run.stderr + run.stdout)) {
      await refuseUnsupported(opaBin, run.stderr + run.stdout);
    }
    if (run.code !== 0) {
      throw bundleError(
        `Cannot compile the policies to WASM: opa build exited with ${run.code}: ${
          excerpt(run.stderr || run.stdout, 600)
        }`,
        `fix the policies, then run \`deno task build\` again (\`${opaBin} check ${policiesDir}\` shows the errors)`,
      );
    }
    const files = readTarFiles(await gunzip(await Deno.readFile(bundlePath)));
    const wasm = files.get("policy.wasm");
    if (!wasm) {
      throw bundleError(
        `Cannot compile the policies to WASM: the bundle from opa build has no policy.wasm (entries: ${
          [...files.keys()].join(", ")
        })`,
        "check that the opa binary is a full build with WASM compilation (`opa build -t wasm`)",
      );
    }
    await checkPolicyWasm(wasm);

    await Deno.mkdir(outDir, { recursive: true });
    const staged = join(outDir, `.${wasmName}.tmp`);
    await Deno.writeFile(staged, wasm);
    await Deno.rename(staged, wasmPath);
    const manifest: BundleManifest = {
      hash,
      wasm: wasmName,
      entrypoints: [...ENTRYPOINTS],
      opa_version: await opaVersion(opaBin),
    };
    const stagedManifest = join(outDir, `.${BUNDLE_MANIFEST}.tmp`);
    await Deno.writeTextFile(stagedManifest, JSON.stringify(manifest, null, 2) + "\n");
    await Deno.rename(stagedManifest, join(outDir, BUNDLE_MANIFEST));
    for await (const entry of Deno.readDir(outDir)) {
      if (
        entry.isFile && /^policy-[0-9a-f]{12}\.wasm$/.test(entry.name) &&
        entry.name !== basename(wasmPath)
      ) {
        await Deno.remove(join(outDir, entry.name));
      }
    }
    return { wasmPath, hash, rebuilt: true };
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}
