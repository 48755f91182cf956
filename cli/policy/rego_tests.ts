/**
 * `swiftdeploy policy test`: the Rego unit tests under policies/, run by the
 * real OPA (`opa test -v`, then `opa test --coverage --format json` for the
 * figure).
 */
import { SwiftDeployError } from "../errors/mod.ts";
import { defaultOpaBin, excerpt, runOpa } from "./_opa.ts";

export interface RegoTestOptions {
  policiesDir: string;
  /** Default: $OPA_BIN, else .tools/bin/opa. */
  opaBin?: string;
}

export interface RegoTestResult {
  /** Every test passed (both runs exited 0). */
  ok: boolean;
  /** The verbose report (stdout then stderr of `opa test -v`). */
  output: string;
  /**
   * Percentage of Rego lines covered, as OPA reports it over all loaded
   * files; 0 when a test fails (OPA then prints the failures, not coverage).
   */
  coverage: number;
  /** Coverage per file (policies and their tests); empty when a test fails. */
  files: Record<string, number>;
}

export async function runRegoTests(options: RegoTestOptions): Promise<RegoTestResult> {
  const opaBin = options.opaBin ?? defaultOpaBin();
  const verbose = await runOpa(opaBin, ["test", "-v", options.policiesDir]);
  const output = verbose.stdout + verbose.stderr;
  if (verbose.code !== 0) return { ok: false, output, coverage: 0, files: {} };
  const covered = await runOpa(opaBin, [
    "test",
    "--coverage",
    "--format",
    "json",
    options.policiesDir,
  ]);
  let report: { coverage?: unknown; files?: Record<string, { coverage?: unknown }> };
  try {
    report = JSON.parse(covered.stdout);
  } catch (error) {
    throw new SwiftDeployError(
      "CHECK_FAILED",
      `Cannot read the Rego coverage report: opa test --coverage printed no JSON: ${
        excerpt(covered.stderr || covered.stdout)
      }`,
      { hint: `run \`${opaBin} test -v ${options.policiesDir}\` to see the error`, cause: error },
    );
  }
  const files: Record<string, number> = {};
  for (const [file, entry] of Object.entries(report.files ?? {})) {
    files[file] = typeof entry.coverage === "number" ? entry.coverage : 0;
  }
  return {
    ok: verbose.code === 0 && covered.code === 0,
    output,
    coverage: typeof report.coverage === "number" ? report.coverage : 0,
    files,
  };
}
