/** `swiftdeploy policy eval|parity|test`. */
import { join } from "node:path";
import type { Context } from "../context.ts";
import { ExitCode, SwiftDeployError } from "../errors.ts";
import { generate } from "../generate.ts";
import { loadManifest } from "../manifest/mod.ts";
import { sortKeys } from "../plan/mod.ts";
import {
  compareEngines,
  createSidecarEvaluator,
  createWasmEvaluator,
  generateParitySamples,
  isDomain,
  runRegoTests,
} from "../policy/mod.ts";
import { mark } from "../term.ts";
import { opaUrl, openEvaluator, printDecision } from "./_shared.ts";

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
      `Unknown policy domain "${domain}": expected "infrastructure" or "canary"`,
      {
        exitCode: ExitCode.invalid,
      },
    );
  }
  const input = await readInput(inputFile);
  const loaded = await loadManifest(ctx.manifestArg);
  const { files } = await generate(ctx, loaded);
  const evaluator = await openEvaluator(ctx, loaded, files["policy_data.json"]);
  const decision = await evaluator.evaluate(domain, input);
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
  const loaded = await loadManifest(ctx.manifestArg);
  const { files } = await generate(ctx, loaded);
  const wasm = await createWasmEvaluator({
    bundleDir: join(ctx.home, "build", "policy"),
    policiesDir: join(ctx.home, "policies"),
    data: JSON.parse(files["policy_data.json"]),
  });
  const sidecar = createSidecarEvaluator({
    url: url ?? opaUrl(loaded),
    timeoutMs: loaded.manifest.opa.decision_timeout_seconds * 1000,
  });
  const list = generateParitySamples(Math.round(samples), loaded.manifest.policy_limits);
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
