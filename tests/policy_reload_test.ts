/**
 * Issue 11 case 9: after a change in policies/ and a rebuild, `deploy` must
 * give the OPA sidecar the new Rego (its policy sources are part of its
 * config), never say "Nothing to do" while the sidecar serves the old one.
 * Runs on an installation of its own, so the real policies/ is never touched.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HOME, withStack } from "./_harness.ts";

const decoder = new TextDecoder();

/** The value of `data.swiftdeploy.infrastructure.<rule>` on the running sidecar, or undefined. */
async function sidecarRule(opaPort: number, rule: string): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${opaPort}/v1/data/swiftdeploy/infrastructure/${rule}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { result?: unknown }).result;
}

Deno.test({
  name:
    "deploy() gives the OPA sidecar the new policies after a policy change and rebuild (issue 11 case 9)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const home = await Deno.makeTempDir({ prefix: "swiftdeploy_policy_home_" });
    try {
      await Deno.mkdir(join(home, "build"));
      for (const sub of ["templates", "policies", join("build", "policy")]) {
        const cp = await new Deno.Command("cp", { args: ["-a", join(HOME, sub), join(home, sub)] })
          .output();
        assert.ok(cp.success, decoder.decode(cp.stderr));
      }
      // The installation copy has no .tools/: its build uses the real opa binary.
      const env = { SWIFTDEPLOY_HOME: home, OPA_BIN: join(HOME, ".tools", "bin", "opa") };
      await withStack({}, async (stack) => {
        const first = await stack.run(["deploy"], env);
        assert.equal(first.code, 0, first.stdout + first.stderr);
        assert.equal(await sidecarRule(stack.opaPort, "case9_probe"), undefined);

        // A policy change: one more rule in the infrastructure package.
        await Deno.writeTextFile(
          join(home, "policies", "case9_probe.rego"),
          'package swiftdeploy.infrastructure\n\ncase9_probe := "v2"\n',
        );
        const build = await stack.run(["build", "--policy-only"], env);
        assert.equal(build.code, 0, build.stdout + build.stderr);

        const second = await stack.run(["deploy"], env);
        assert.equal(second.code, 0, second.stdout + second.stderr);
        assert.doesNotMatch(second.stdout, /Nothing to do/);
        assert.equal(await sidecarRule(stack.opaPort, "case9_probe"), "v2");

        const parity = await stack.run(["policy", "parity"], env);
        assert.equal(parity.code, 0, parity.stdout + parity.stderr);

        // Unchanged sources: nothing to do, and the sidecar keeps the new Rego.
        const third = await stack.run(["deploy"], env);
        assert.equal(third.code, 0, third.stdout + third.stderr);
        assert.match(third.stdout, /Nothing to do/);
        assert.equal(await sidecarRule(stack.opaPort, "case9_probe"), "v2");
      });
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
