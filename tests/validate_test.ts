/**
 * `swiftdeploy validate` against the real engine, nginx and host ports:
 * every check passes on a fresh folder, and each failure (port held, image
 * missing, nginx.conf corrupted, manifest invalid) gives its own FAIL line
 * and exit code.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HOME, makeStack, projectContainers, type RunResult, withStack } from "./_harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function describe(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** The check lines (`✔ PASS name: detail` / `✘ FAIL name: detail`). */
function checks(r: RunResult): { ok: boolean; line: string }[] {
  return r.stdout.split("\n")
    .filter((l) => / (PASS|FAIL) /.test(l))
    .map((line) => ({ ok: / PASS /.test(line), line }));
}

function failLines(r: RunResult): string[] {
  return checks(r).filter((c) => !c.ok).map((c) => c.line);
}

Deno.test({
  name: "validate() passes every check when the folder was just initialised",
  ...opts,
  fn: async () => {
    await withStack({}, async (stack) => {
      assert.equal((await stack.run(["init"])).code, 0);
      const r = await stack.run(["validate"]);
      assert.equal(r.code, 0, describe(r));
      const lines = checks(r);
      assert.ok(lines.length >= 9, `expected at least 9 checks: ${describe(r)}`);
      assert.deepEqual(failLines(r), []);
      for (
        const name of [
          "manifest exists and is valid YAML",
          "required fields present and valid",
          "image swift-deploy-1-node:latest exists locally",
          "image nginx:latest exists locally",
          "image openpolicyagent/opa:latest-static exists locally",
          `nginx port ${stack.nginxPort} is free on the host`,
          "generated nginx.conf passes nginx -t",
          "policy bundle is up to date",
          "generated files are up to date",
        ]
      ) {
        assert.ok(lines.some((c) => c.ok && c.line.includes(name)), `no PASS "${name}"`);
      }
      assert.match(r.stdout, /all checks passed/);
    });
  },
});

Deno.test({
  name: "validate() fails naming the port when another process holds the nginx port",
  ...opts,
  fn: async () => {
    const stack = await makeStack();
    const listener = Deno.listen({ hostname: "0.0.0.0", port: stack.nginxPort });
    try {
      assert.equal((await stack.run(["init"])).code, 0);
      const r = await stack.run(["validate"]);
      assert.equal(r.code, 1, describe(r));
      const fails = failLines(r);
      assert.equal(fails.length, 1, describe(r));
      assert.ok(fails[0]!.includes(`port ${stack.nginxPort}`), fails[0]);
      assert.match(fails[0]!, /in use/);
    } finally {
      listener.close();
      await stack.cleanup();
    }
  },
});

Deno.test({
  name: "validate() fails naming the image when the manifest's app image does not exist",
  ...opts,
  fn: async () => {
    const image = "something-that-does-not-exist:1";
    await withStack({ image }, async (stack) => {
      assert.equal((await stack.run(["init"])).code, 0);
      const r = await stack.run(["validate"]);
      assert.equal(r.code, 1, describe(r));
      const fails = failLines(r);
      assert.equal(fails.length, 1, describe(r));
      assert.ok(fails[0]!.includes(image), fails[0]);
      assert.match(fails[0]!, /not found/);
    });
  },
});

Deno.test({
  name: "validate() fails nginx -t and drift when nginx.conf on disk is corrupted",
  ...opts,
  fn: async () => {
    await withStack({}, async (stack) => {
      assert.equal((await stack.run(["init"])).code, 0);
      await Deno.writeTextFile(join(stack.dir, "nginx.conf"), "server {\n", { append: true });
      const r = await stack.run(["validate"]);
      assert.equal(r.code, 1, describe(r));
      const fails = failLines(r);
      assert.equal(fails.length, 2, describe(r));
      assert.ok(fails.some((l) => l.includes("nginx -t")), describe(r));
      assert.ok(
        fails.some((l) => l.includes("generated files are up to date") && l.includes("nginx.conf")),
        describe(r),
      );
    });
  },
});

Deno.test({
  name: "validate() exits 2 with the located problem when the manifest is invalid",
  ...opts,
  fn: async () => {
    await withStack({}, async (stack) => {
      await Deno.copyFile(
        join(HOME, "tests", "fixtures", "manifests", "manifest_port_out_of_range.yaml"),
        stack.manifestPath,
      );
      const r = await stack.run(["validate"]);
      assert.equal(r.code, 2, describe(r));
      assert.ok(
        r.stderr.includes(
          `${stack.manifestPath}:8:9 nginx.port: must be an integer between 1 and 65535 (got 70000)`,
        ),
        describe(r),
      );
      assert.ok(failLines(r).some((l) => l.includes("required fields")), describe(r));
    });
  },
});

Deno.test({
  name: "validate() passes the port check when the project's own nginx holds the port",
  ...opts,
  fn: async () => {
    await withStack({}, async (stack) => {
      const deploy = await stack.run(["deploy"]);
      assert.equal(deploy.code, 0, describe(deploy));
      const r = await stack.run(["validate"]);
      assert.equal(r.code, 0, describe(r));
      const port = checks(r).find((c) => c.line.includes(`nginx port ${stack.nginxPort}`));
      assert.ok(port?.ok, describe(r));
      assert.match(port.line, /held by this project's own nginx/);
      assert.ok(port.line.includes(`${stack.project}-nginx`), port.line);
    });
  },
});

Deno.test({
  name:
    "validate and deploy exit 2 at the key's line when a resource cap exceeds the engine's host, creating nothing",
  ...opts,
  fn: async () => {
    await withStack({}, async (stack) => {
      const text = await Deno.readTextFile(stack.manifestPath);
      await Deno.writeTextFile(
        stack.manifestPath,
        `${text}resources:\n  app:\n    cpus: 64\n  opa:\n    memory: 1000g\n`,
      );
      const lines = (await Deno.readTextFile(stack.manifestPath)).split("\n");
      const cpusLine = lines.indexOf("    cpus: 64") + 1;
      const memLine = lines.indexOf("    memory: 1000g") + 1;
      for (const verb of ["validate", "deploy"]) {
        const r = await stack.run([verb]);
        assert.equal(r.code, 2, `${verb}: ${describe(r)}`);
        assert.ok(
          r.stderr.includes(`:${cpusLine}:5 resources.app.cpus: 64 CPUs is more than`),
          `${verb}: ${describe(r)}`,
        );
        assert.ok(
          r.stderr.includes(`:${memLine}:5 resources.opa.memory: 1000g is more than`),
          `${verb}: ${describe(r)}`,
        );
        assert.doesNotMatch(r.stderr, /Range of CPUs/);
      }
      assert.deepEqual([...(await projectContainers(stack.project)).keys()], []);
    });
  },
});
