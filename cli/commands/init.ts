/** `swiftdeploy init [--check]`. */
import type { Context } from "./context.ts";
import { checkGenerated, generate, writeGenerated } from "../generate/mod.ts";
import { loadManifest } from "../manifest/mod.ts";
import { GENERATED_FILE_NAMES } from "../render/mod.ts";

export async function runInit(ctx: Context, opts: { check: boolean }): Promise<number> {
  const { term } = ctx;
  const loaded = await loadManifest(ctx.manifestArg);
  const { files } = await generate(ctx, loaded);
  if (opts.check) {
    const drift = await checkGenerated(loaded.dir, files);
    if (drift.length === 0) {
      term.out(`${term.green("✔")} generated files match ${ctx.manifestPath}`);
      return 0;
    }
    for (const d of drift) {
      term.out(
        `${term.red("✘")} ${d.name}: ${
          d.problem === "missing" ? "missing" : "stale or edited by hand"
        }`,
      );
      term.out(d.diff);
    }
    term.out(
      `run \`swiftdeploy init\` to regenerate (hand edits are lost: change the manifest instead)`,
    );
    return 1;
  }
  const written = await writeGenerated(loaded.dir, files);
  for (const name of GENERATED_FILE_NAMES) {
    term.out(`${term.green("✔")} ${name} ${written.includes(name) ? "written" : "unchanged"}`);
  }
  return 0;
}
