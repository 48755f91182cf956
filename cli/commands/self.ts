/**
 * How SwiftDeploy runs itself as a child process: the one command line used
 * by `demo` (each step is a real CLI run), the test runner and the tests.
 */

import { join } from "node:path";

/**
 * Arguments of `deno` (`Deno.execPath()`) that run the CLI of the
 * installation at `home` (the folder holding `deno.json` and `cli/main.ts`)
 * with `args`, e.g. `["run", "-A", "--quiet", "--config", "<home>/deno.json",
 * "<home>/cli/main.ts", ...args]`.
 */
export function cliArgs(home: string, args: readonly string[]): string[] {
  return [
    "run",
    "-A",
    "--quiet",
    "--config",
    join(home, "deno.json"),
    join(home, "cli", "main.ts"),
    ...args,
  ];
}
