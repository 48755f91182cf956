/**
 * Issue 11 case 15 through the real CLI: a manifest whose output paths
 * collide is refused at load (exit 2, file:line:col of the key) by every
 * command that writes, and nothing is written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./_harness.ts";

const BASE = `services:
  image: swift-deploy-1-node:latest
  port: 3000
nginx:
  image: nginx:latest
  port: 8080
audit:
`;

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("init, audit and deploy exit 2 and write nothing when output paths collide", async () => {
  const cases: [string, RegExp][] = [
    [
      "  report_file: manifest.yaml\n",
      /manifest\.yaml:8:16 audit\.report_file: must not be the same path as the manifest/,
    ],
    [
      "  history_file: audit_report.svg\n",
      /manifest\.yaml:8:17 audit\.history_file: must not be the same path as the audit chart "audit_report\.svg"/,
    ],
  ];
  for (const [audit, expected] of cases) {
    const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_output_paths_" });
    try {
      const manifest = join(dir, "manifest.yaml");
      const text = BASE + audit;
      await Deno.writeTextFile(manifest, text);
      await Deno.writeTextFile(join(dir, "audit_report.svg"), "<svg/>");
      const before = await listing(dir);
      for (const command of [["init"], ["audit"], ["deploy"], ["teardown"]]) {
        const r = await runCli(["-f", manifest, ...command], { cwd: dir });
        assert.equal(r.code, 2, `${command}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, expected, command.join(" "));
        assert.equal(await Deno.readTextFile(manifest), text, "the manifest is untouched");
        assert.equal(await Deno.readTextFile(join(dir, "audit_report.svg")), "<svg/>");
        assert.deepEqual(await listing(dir), before, `${command}: nothing written`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
