/**
 * `swiftdeploy policy eval|parity|test`.
 *
 * `policy eval` answers from the `policy_data.json` already beside the
 * manifest when a stamp proves it is what this manifest renders to with this
 * code (see `freshPolicyData`), so the common case loads neither the YAML
 * parser nor the renderers: only the evaluator. Otherwise it renders the data
 * in memory as before, and leaves the stamp when the file on disk matches.
 */
import { join } from "node:path";
import type { Context } from "./context.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { atomicWrite, ensureDir, readIfExists } from "../fs/mod.ts";
import { sha256Hex, sortKeys } from "../digest/mod.ts";
import {
  compareEngines,
  createSidecarEvaluator,
  createWasmEvaluator,
  type Decision,
  DOMAINS,
  generateParitySamples,
  isDomain,
  type PolicyLimits,
  runRegoTests,
} from "../policy/mod.ts";
import { mark } from "../term/mod.ts";
import { printDecision } from "./_shared.ts";

/** The generated file policy eval reads, beside the manifest (as `init` writes it). */
const POLICY_DATA = "policy_data.json";

/** File name, in the state folder beside the manifest, of the freshness stamp. */
export const POLICY_DATA_STAMP = "policy_data.stamp.json";

/**
 * What `policy_data.json` was proven to be: rendered from the manifest text
 * with sha256 `manifest`, by the renderer code with identity `renderer`,
 * and holding exactly the text with sha256 `policyData` (all lowercase hex).
 */
export interface PolicyDataStamp {
  manifest: string;
  renderer: string;
  policyData: string;
}

/**
 * The identity of the code that turns a manifest into `policy_data.json`:
 * sha256 (hex) over the non-test `.ts` files of `cli/manifest/` and
 * `cli/render/` (sorted by path, each framed `path\0content\0`) and
 * `deno.json` (it pins the YAML parser). `cliDir` is the `cli/` folder of
 * the running code. Returns undefined when those sources are not there (a
 * bundled CLI): then nothing is trusted and policy eval always renders.
 */
export async function rendererIdentity(
  cliDir: URL = new URL("../", import.meta.url),
): Promise<string | undefined> {
  if (cliDir.protocol !== "file:") return undefined;
  const paths: string[] = [];
  try {
    for (const folder of ["manifest", "render"]) {
      for await (const entry of Deno.readDir(new URL(`${folder}/`, cliDir))) {
        if (entry.isFile && entry.name.endsWith(".ts") && !/_test(ing)?\.ts$/.test(entry.name)) {
          paths.push(`${folder}/${entry.name}`);
        }
      }
    }
    paths.sort();
    const parts = await Promise.all(
      [...paths, "../deno.json"].map(async (path) =>
        `${path}\0${await Deno.readTextFile(new URL(path, cliDir))}\0`
      ),
    );
    return sha256Hex(parts.join(""));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * The text of `policy_data.json` beside the manifest when it is fresh, else
 * undefined. Fresh means the stamp in the state folder names the sha256 of
 * the manifest's current text, of the file's current text and the current
 * renderer identity: the file is then byte for byte what rendering would
 * give, without parsing the manifest. A missing or unreadable stamp, any
 * edit to the manifest or the data, or a code change makes it stale.
 */
export async function freshPolicyData(ctx: Context): Promise<string | undefined> {
  let manifest, data, stampText, renderer, stamp: Partial<PolicyDataStamp>;
  try {
    [manifest, data, stampText, renderer] = await Promise.all([
      readIfExists(ctx.manifestPath),
      readIfExists(join(ctx.dir, POLICY_DATA)),
      readIfExists(join(ctx.stateDir, POLICY_DATA_STAMP)),
      rendererIdentity(),
    ]);
    if (manifest === undefined || data === undefined || stampText === undefined) return undefined;
    stamp = JSON.parse(stampText);
  } catch {
    // Unreadable or not JSON: not proven fresh. Rendering reports real read errors.
    return undefined;
  }
  const fresh = renderer !== undefined && stamp.renderer === renderer &&
    stamp.manifest === sha256Hex(manifest) && stamp.policyData === sha256Hex(data);
  return fresh ? data : undefined;
}

/**
 * Leaves the stamp after rendering, when the file on disk is exactly the
 * rendered `policyData`. A cache only: a folder that cannot be written is
 * reported under --verbose and never fails the command.
 */
async function stampPolicyData(
  ctx: Context,
  manifestHash: string,
  policyData: string,
): Promise<void> {
  try {
    const renderer = await rendererIdentity();
    if (renderer === undefined) return;
    if ((await readIfExists(join(ctx.dir, POLICY_DATA))) !== policyData) return;
    const stamp: PolicyDataStamp = {
      manifest: manifestHash,
      renderer,
      policyData: sha256Hex(policyData),
    };
    const stateDirThere = await Deno.stat(ctx.stateDir).then(() => true, () => false);
    if (!stateDirThere) await ensureDir(ctx.stateDir, 0o755);
    await atomicWrite(join(ctx.stateDir, POLICY_DATA_STAMP), `${JSON.stringify(stamp)}\n`);
  } catch (error) {
    if (ctx.verbose) {
      ctx.term.err(`note: policy data stamp not written: ${(error as Error).message}`);
    }
  }
}

async function readInput(file: string): Promise<unknown> {
  let text: string;
  try {
    text = file === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(file);
  } catch (error) {
    throw new SwiftDeployError(
      "USAGE",
      `Cannot read the input "${file}": ${(error as Error).message}`,
      {
        exitCode: ExitCode.invalid,
      },
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SwiftDeployError(
      "USAGE",
      `Invalid input "${file}": not JSON (${(error as Error).message})`,
      {
        exitCode: ExitCode.invalid,
      },
    );
  }
}

export async function runPolicyEval(
  ctx: Context,
  domain: string,
  inputFile: string,
): Promise<number> {
  if (!isDomain(domain)) {
    throw new SwiftDeployError(
      "USAGE",
      `Unknown policy domain "${domain}": expected one of ${
        DOMAINS.map((d) => `"${d}"`).join(", ")
      }`,
      {
        exitCode: ExitCode.invalid,
      },
    );
  }
  const input = await readInput(inputFile);
  let decision: Decision;
  const fresh = ctx.policyEngine === "wasm" ? await freshPolicyData(ctx) : undefined;
  if (fresh !== undefined) {
    const evaluator = await createWasmEvaluator({
      bundleDir: join(ctx.home, "build", "policy"),
      policiesDir: join(ctx.home, "policies"),
      data: JSON.parse(fresh),
    });
    decision = await evaluator.evaluate(domain, input);
  } else {
    const { loadManifest } = await import("../manifest/mod.ts");
    const { generate } = await import("../generate/mod.ts");
    const { openEvaluator } = await import("./_shared.ts");
    const loaded = await loadManifest(ctx.manifestArg);
    const { files } = await generate(ctx, loaded);
    const evaluator = await openEvaluator(ctx, loaded, files[POLICY_DATA]);
    decision = await evaluator.evaluate(domain, input);
    await stampPolicyData(ctx, loaded.hash, files[POLICY_DATA]);
  }
  // Keys sorted, as the OPA server prints them: the same text from either engine.
  ctx.term.out(JSON.stringify(sortKeys(decision), null, 2));
  printDecision(ctx.term, decision);
  return decision.allow ? 0 : ExitCode.policyDenied;
}

export async function runPolicyParity(
  ctx: Context,
  samples: number,
  url: string | undefined,
): Promise<number> {
  const { term } = ctx;
  const { loadManifest } = await import("../manifest/mod.ts");
  const { generate } = await import("../generate/mod.ts");
  const { opaUrl } = await import("./_shared.ts");
  const loaded = await loadManifest(ctx.manifestArg);
  const { files } = await generate(ctx, loaded);
  const wasm = await createWasmEvaluator({
    bundleDir: join(ctx.home, "build", "policy"),
    policiesDir: join(ctx.home, "policies"),
    data: JSON.parse(files[POLICY_DATA]),
  });
  const sidecar = createSidecarEvaluator({
    url: url ?? opaUrl(loaded),
    timeoutMs: loaded.manifest.opa.decision_timeout_seconds * 1000,
  });
  // The limits as the engines get them (data.limits of the rendered policy data).
  const list = generateParitySamples(
    Math.round(samples),
    JSON.parse(files[POLICY_DATA]).limits as PolicyLimits,
  );
  const mismatches = await compareEngines(wasm, sidecar, list);
  for (const mm of mismatches.slice(0, 20)) {
    term.out(`${mark(term, false)} ${JSON.stringify(mm)}`);
  }
  term.out(
    `${
      mark(term, mismatches.length === 0)
    } ${list.length} samples, ${mismatches.length} mismatch(es) ` +
      `between the WASM evaluator and the OPA sidecar at ${url ?? opaUrl(loaded)}`,
  );
  return mismatches.length === 0 ? 0 : 1;
}

export async function runPolicyTest(ctx: Context): Promise<number> {
  const result = await runRegoTests({
    policiesDir: join(ctx.home, "policies"),
    opaBin: join(ctx.home, ".tools", "bin", "opa"),
  });
  ctx.term.out(result.output.trimEnd());
  ctx.term.out(
    `${mark(ctx.term, result.ok)} Rego tests ${result.ok ? "passed" : "failed"}; coverage ${
      result.coverage.toFixed(1)
    } %`,
  );
  return result.ok ? 0 : 1;
}
