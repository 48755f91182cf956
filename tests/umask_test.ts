/**
 * Issue 11 case 11: a restrictive umask (027) must not lock the non-root
 * container users (app 10001, nginx 10002, OPA 10003) out of what they
 * mount, and `validate` must say so when something they mount is unreadable.
 * Real CLI, real engine, real nginx and OPA.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CLI_ENV, cliArgs, getJson, HOME, runCli, withStack } from "./_harness.ts";

const decoder = new TextDecoder();

/** Runs the CLI under `umask 027` (set by sh, inherited by deno and everything it creates). */
async function runUnderUmask(args: string[]): Promise<{ code: number; out: string }> {
  const quoted = [Deno.execPath(), ...cliArgs(args)].map((a) => `'${a.replaceAll("'", `'\\''`)}'`);
  const out = await new Deno.Command("sh", {
    args: ["-c", `umask 027 && exec ${quoted.join(" ")}`],
    cwd: HOME,
    env: { ...CLI_ENV },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, out: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

async function modeOf(path: string): Promise<string> {
  return ((await Deno.stat(path)).mode! & 0o777).toString(8);
}

Deno.test({
  name: "deploy() under umask 027 creates what the containers mount readable by them and serves",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withStack({}, async (stack) => {
      const init = await runUnderUmask(["-f", stack.manifestPath, "init"]);
      assert.equal(init.code, 0, init.out);
      for (const name of ["nginx.conf", "docker-compose.yml", "policy_data.json"]) {
        assert.equal(await modeOf(join(stack.dir, name)), "644", name);
      }
      const deploy = await runUnderUmask(["-f", stack.manifestPath, "deploy"]);
      assert.equal(deploy.code, 0, deploy.out);
      assert.match(deploy.out, /PASS|deployed|healthy/);
      const state = join(stack.dir, ".swiftdeploy");
      for (const dir of [state, join(state, "nginx"), join(state, "opa")]) {
        assert.equal(await modeOf(dir), "755", dir);
      }
      assert.equal(await modeOf(join(state, "nginx", "nginx.conf")), "644");
      assert.equal(await modeOf(join(state, "opa", "policy_data.json")), "644");
      const health = await getJson(stack.url("/healthz"));
      assert.equal(health.status, 200);
      const validate = await stack.run(["validate"]);
      assert.match(
        validate.stdout,
        /PASS nginx container \(user 10002:10002\) can read its mounts/,
      );
      assert.match(validate.stdout, /PASS opa container \(user 10003:10003\) can read its mounts/);
    });
  },
});

Deno.test("validate() fails naming the path and the user when the policies are unreadable", async () => {
  // An installation of our own, so the real policies/ is never touched.
  const home = await Deno.makeTempDir({ prefix: "swiftdeploy_umask_home_" });
  const work = await Deno.makeTempDir({ prefix: "swiftdeploy_umask_work_" });
  try {
    await Deno.mkdir(join(home, "build"));
    for (const sub of ["templates", "policies", join("build", "policy")]) {
      const cp = await new Deno.Command("cp", { args: ["-a", join(HOME, sub), join(home, sub)] })
        .output();
      assert.ok(cp.success, decoder.decode(cp.stderr));
    }
    const manifest = join(work, "manifest.yaml");
    await Deno.copyFile(join(HOME, "manifest.yaml"), manifest);
    const env = { SWIFTDEPLOY_HOME: home };

    const readable = await runCli(["-f", manifest, "validate"], { env });
    assert.match(readable.stdout, /PASS opa container \(user 10003:10003\) can read its mounts/);

    // As a checkout made under umask 027 leaves it: folder 0750, files 0640, owned by root.
    const policies = join(home, "policies");
    await Deno.chmod(policies, 0o750);
    const r = await runCli(["-f", manifest, "validate"], { env });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `FAIL opa container \\(user 10003:10003\\) can read its mounts: "${policies}" is not readable by user 10003 \\(mode 0750, owner \\d+:\\d+\\)`,
      ),
    );
    await Deno.chmod(policies, 0o755);
    const rego = [...Deno.readDirSync(policies)].find((e) => e.name.endsWith(".rego"))!.name;
    await Deno.chmod(join(policies, rego), 0o640);
    const file = await runCli(["-f", manifest, "validate"], { env });
    assert.equal(file.code, 1);
    assert.match(
      file.stdout,
      new RegExp(`"${join(policies, rego)}" is not readable by user 10003`),
    );
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(work, { recursive: true });
  }
});
