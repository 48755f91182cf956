/**
 * The artifact the image runs: `deno bundle -o app.js service/main.ts`, run
 * with exactly the image's permissions and an unwritable DENO_DIR and HOME.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, MAIN_TS, runDeno, sampleValue, spawnDeno } from "./_testing.ts";

/** Under /proc nothing can be created, not even by root: an unwritable cache dir. */
const UNWRITABLE = "/proc/swiftdeploy-no-such-dir";

Deno.test("the bundled app serves, checks itself and shuts down when run with the image's permissions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-bundle-" });
  try {
    const appJs = join(dir, "app.js");
    const bundled = await runDeno(["bundle", "--quiet", "-o", appJs, MAIN_TS]);
    assert.equal(bundled.code, 0, `deno bundle failed:\n${bundled.stderr}`);

    // Only Node built-ins are left to import: prom-client and its deps are inside.
    const source = await Deno.readTextFile(appJs);
    const specifiers = [
      ...source.matchAll(
        /(?:\bfrom\s*|\bimport\s*\(\s*|\b__require\(\s*|\brequire\(\s*)["']([^"']+)["']/g,
      ),
    ].map((m) => m[1] as string);
    assert.ok(specifiers.length > 0, "the bundle imports Node built-ins");
    assert.deepEqual(specifiers.filter((s) => !s.startsWith("node:")), []);
    assert.match(source, /http_request_duration_seconds/);

    const port = freePort();
    const run = [
      "run",
      "--allow-net",
      "--allow-env",
      `--allow-read=${dir}`,
      "--cached-only",
      "--no-prompt",
      appJs,
    ];
    const env = { MODE: "canary", APP_PORT: `${port}`, DENO_DIR: UNWRITABLE, HOME: UNWRITABLE };
    const service = spawnDeno(run, env);
    try {
      await service.stdout.waitFor(/Started SwiftDeploy API: mode "canary".*\n/);
      const base = `http://127.0.0.1:${port}`;
      const root = await fetch(`${base}/`);
      assert.equal(root.status, 200);
      assert.equal(root.headers.get("X-Mode"), "canary");
      assert.equal((await root.json()).message, "Welcome to SwiftDeploy API");
      const set = await fetch(`${base}/chaos`, {
        method: "POST",
        body: JSON.stringify({ mode: "error", rate: 0 }),
      });
      assert.deepEqual(await set.json(), { chaos: { mode: "error", rate: 0 } });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.equal(
        sampleValue(metrics, "http_requests_total", {
          method: "GET",
          path: "/",
          status_code: "200",
        }),
        1,
      );
      assert.equal(sampleValue(metrics, "chaos_active"), 2);
      assert.equal(sampleValue(metrics, "app_mode"), 1);

      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      assert.equal((await health.json()).status, "ok");

      service.child.kill("SIGTERM");
      const status = await service.finished();
      assert.equal(status.code, 0);
      assert.match(service.stdout.text, /Shutdown complete: /);
      assert.equal(service.stderr.text, "", "no warning about the unwritable DENO_DIR");
    } finally {
      try {
        service.child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await service.finished();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
