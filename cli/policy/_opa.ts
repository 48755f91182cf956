/** Running the real `opa` binary, and where the project keeps things. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SwiftDeployError } from "../errors/mod.ts";

/** The project root (two levels above cli/policy/) when running from source. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const DEFAULT_POLICIES_DIR = join(PROJECT_ROOT, "policies");

/** Gitignored build output: `policy-<hash12>.wasm` and `policy.json`. */
export const DEFAULT_BUNDLE_DIR = join(PROJECT_ROOT, "build", "policy");

/** `$OPA_BIN`, else the binary build/bootstrap.sh installs. */
export function defaultOpaBin(): string {
  return Deno.env.get("OPA_BIN") || join(PROJECT_ROOT, ".tools", "bin", "opa");
}

export interface OpaRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runOpa(opaBin: string, args: string[], cwd?: string): Promise<OpaRun> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(opaBin, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(cwd === undefined ? {} : { cwd }),
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
      throw opaMissing(opaBin, error);
    }
    throw error;
  }
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

export function opaMissing(opaBin: string, cause?: unknown): SwiftDeployError {
  return new SwiftDeployError("TOOL_MISSING", `Cannot run OPA: "${opaBin}" is not an executable`, {
    hint:
      "run build/bootstrap.sh to install OPA v1.22.2 into .tools/bin, or set OPA_BIN to an opa binary",
    cause,
  });
}

/** `1.22.2` from the output of `opa version`. */
export async function opaVersion(opaBin: string): Promise<string> {
  const run = await runOpa(opaBin, ["version"]);
  const match = run.stdout.match(/^Version:\s*(\S+)/m);
  if (run.code !== 0 || !match?.[1]) {
    throw new SwiftDeployError(
      "TOOL_MISSING",
      `Cannot read the OPA version from "${opaBin}": ${excerpt(run.stderr)}`,
    );
  }
  return match[1];
}

/** The first `max` characters of `text` on one line, for messages. */
export function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? flat.slice(0, max) + "…" : flat;
}
