/**
 * routeTable(): every route change also keeps Prometheus's apps.json in
 * step with the variants. Files only, in a temp folder: nginx does not run
 * (no admin socket), so applyRoutes writes the persisted table alone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseManifest } from "../manifest/mod.ts";
import { planStack, type StackPlan } from "../plan/mod.ts";
import { routeTable } from "./mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

async function planIn(dir: string, prometheus: boolean): Promise<StackPlan> {
  const m = parseManifest(await Deno.readTextFile(`${ROOT}/manifest.yaml`), "manifest.yaml");
  return planStack(
    { ...m, prometheus: { ...m.prometheus, enabled: prometheus } },
    { manifestDir: dir, installDir: ROOT },
  );
}

const stable = { address: "10.200.0.16:3000", version: "1.0.0", container: "demo-app-1" };
const canary = { address: "10.200.0.17:3000", version: "2.0.0", container: "demo-app-2" };
const modeOf = async (path: string) => ((await Deno.stat(path)).mode! & 0o777).toString(8);

Deno.test("routeTable() writes apps.json with the table's variants when the plan has Prometheus, only when they change", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_route_table_" });
  const old = Deno.umask(0o077);
  try {
    const plan = await planIn(dir, true);
    const path = plan.prometheus!.appTargetsPath;
    const labels = async () =>
      JSON.parse(await Deno.readTextFile(path)).map((g: { targets: string[]; labels: unknown }) => [
        g.targets[0],
        g.labels,
      ]);

    await routeTable(plan, { stable });
    assert.deepEqual(await labels(), [[stable.address, { variant: "stable", version: "1.0.0" }]]);
    // Readable by Prometheus's uid whatever the umask: folder 0755, file 0644.
    assert.equal(await modeOf(join(dir, ".swiftdeploy", "prometheus")), "755");
    assert.equal(await modeOf(path), "644");

    // A canary joins at weight 0: listed at once.
    await routeTable(plan, { stable, canary: { ...canary, weight: 0 } });
    assert.deepEqual(await labels(), [
      [canary.address, { variant: "canary", version: "2.0.0" }],
      [stable.address, { variant: "stable", version: "1.0.0" }],
    ]);
    // A weight change names the same variants: the file is left alone (same inode).
    const before = (await Deno.stat(path)).ino;
    await routeTable(plan, { stable, canary: { ...canary, weight: 60 } });
    assert.equal((await Deno.stat(path)).ino, before);
    // Completion (or an abort): one variant again.
    await routeTable(plan, { stable: canary });
    assert.deepEqual(await labels(), [[canary.address, { variant: "stable", version: "2.0.0" }]]);
  } finally {
    Deno.umask(old);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("routeTable() writes no Prometheus folder when the plan has none", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_route_table_" });
  try {
    const plan = await planIn(dir, false);
    await routeTable(plan, { stable, canary: { ...canary, weight: 10 } });
    await assert.rejects(Deno.stat(join(dir, ".swiftdeploy", "prometheus")), Deno.errors.NotFound);
    // The routing table itself was persisted as before.
    assert.ok((await Deno.stat(join(dir, ".swiftdeploy", "nginx", "routes"))).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
