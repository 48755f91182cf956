/**
 * `denoBundle()`: the one `deno bundle` step behind the service's image and
 * the images built from a `services.source` commit.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import { bundleProblem } from "./build.ts";
import { denoBundle } from "./mod.ts";

Deno.test("denoBundle() makes one module that runs without its imports beside it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-bundle-" });
  try {
    await Deno.writeTextFile(join(dir, "lib.ts"), "export const answer: number = 42;\n");
    await Deno.writeTextFile(
      join(dir, "main.ts"),
      'import { answer } from "./lib.ts";\nconsole.log(`answer ${answer}`);\n',
    );
    const out = join(dir, "out.js");
    await denoBundle(join(dir, "main.ts"), out, { config: null, name: '"main.ts"', cwd: dir });
    await Deno.remove(join(dir, "lib.ts"));
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(run.stdout).trim(), "answer 42");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("denoBundle() of a broken entry is IMAGE_BUILD_FAILED naming it, with deno's error and no backtrace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-bundle-" });
  try {
    await Deno.writeTextFile(join(dir, "main.ts"), 'import "./missing.ts";\n');
    const error = await denoBundle(join(dir, "main.ts"), join(dir, "out.js"), {
      config: null,
      name: '"main.ts"',
      cwd: dir,
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof SwiftDeployError, String(error));
    assert.equal(error.code, "IMAGE_BUILD_FAILED");
    assert.match(error.message, /^Cannot bundle "main\.ts": error: Module not found .*missing\.ts/);
    assert.doesNotMatch(error.message, /Stack backtrace|bundling failed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bundleProblem() keeps deno's error lines and drops the generic close and a backtrace", () => {
  const stderr = [
    "error: SyntaxError: Expression expected",
    "  |",
    "1 | const x: number = ;",
    "  |                   ~",
    "    at file:///tmp/bad.ts:1:19",
    "error: bundling failed",
    "",
    "Stack backtrace:",
    "   0: <unknown>",
    "",
  ].join("\n");
  assert.equal(
    bundleProblem(stderr),
    "error: SyntaxError: Expression expected; |; 1 | const x: number = ;; |                   ~; " +
      "at file:///tmp/bad.ts:1:19",
  );
  assert.equal(
    bundleProblem("line 1\nline 2\nline 3\nline 4\nline 5\nline 6\n").split("; ").length,
    5,
  );
});
