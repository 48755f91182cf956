/**
 * The whole test suite: starts the engine if none answers, builds the
 * policy bundle and images, runs every test file (unit and integration),
 * and closes with the plain line `N passed, N failed` from the real counts.
 *
 *   deno task test [-- filter...]   (or ./swiftdeploy test)
 *   deno task test:unit             (tests/run.ts --unit)
 *
 * The split is by folder: unit tests live beside the code in cli/ and
 * service/ and need no root, no engine and no network (loopback and
 * host binaries such as opa and nginx are fine); tests/ holds the
 * integration tests against the real engine. `--unit` starts nothing,
 * builds nothing and runs cli/ and service/ only. tests/layering_test.ts
 * checks that no unit test imports tests/.
 */
import { cliArgs } from "../cli/commands/self.ts";
import { join } from "node:path";

const home = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const deno = Deno.execPath();
const env: Record<string, string> = {
  ...Deno.env.toObject(),
  NO_COLOR: "1",
  SWIFTDEPLOY_HOME: home,
  TZ: "UTC",
};
// The history's sealing keys of every test deployment go to a folder of this
// run, never to the user's own key folder (~/.local/state/swiftdeploy/keys).
const keyDir = Deno.makeTempDirSync({ prefix: "swiftdeploy-test-keys-" });
env.SWIFTDEPLOY_KEY_DIR = keyDir;
const removeKeys = () => Deno.removeSync(keyDir, { recursive: true });
env.PATH = `${join(home, ".tools", "bin")}:${join(home, ".tools", "npm", "node_modules", ".bin")}:${
  env.PATH ?? ""
}`;

async function step(label: string, args: string[]): Promise<void> {
  console.log(`== ${label}`);
  const { code } = await new Deno.Command(deno, {
    args: cliArgs(home, args),
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    console.log(`setup step "${label}" failed with exit code ${code}`);
    console.log("0 passed, 1 failed");
    removeKeys();
    Deno.exit(1);
  }
}

/** The folders whose tests need no root, engine or network. */
const UNIT_FOLDERS = ["cli/", "service/"];

const unit = Deno.args[0] === "--unit";
const filters = unit ? Deno.args.slice(1) : Deno.args;
if (!unit) {
  await step("engine", ["engine", "start"]);
  await step("build", ["-f", join(home, "manifest.yaml"), "build"]);
}

const targets = filters.length > 0 ? filters : unit ? UNIT_FOLDERS : [...UNIT_FOLDERS, "tests/"];
console.log(`== deno test ${targets.join(" ")}`);
const child = new Deno.Command(deno, {
  args: ["test", "-A", "--config", join(home, "deno.json"), ...targets],
  cwd: home,
  env,
  stdout: "piped",
  stderr: "inherit",
}).spawn();

let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4000);
}
const status = await child.status;

const summary = tail.match(
  /(ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/,
);
const passed = Number(summary?.[2] ?? 0);
let failed = Number(summary?.[3] ?? 0);
const ignored = Number(summary?.[4] ?? 0);
if (!summary || (status.code !== 0 && failed === 0)) failed += 1; // a crash or a compile error is a failure
console.log(`${passed} passed, ${failed} failed${ignored ? `, ${ignored} skipped` : ""}`);
removeKeys();
Deno.exit(status.code === 0 && failed === 0 ? 0 : 1);
