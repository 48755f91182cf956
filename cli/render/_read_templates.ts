import { SwiftDeployError } from "../errors/mod.ts";
import { TEMPLATE_FILE_NAMES, type Templates } from "./_render_all.ts";

/** Reads every template `renderAll` needs from `dir` (the installation's templates/). */
export async function readTemplates(dir: string): Promise<Templates> {
  const entries = await Promise.all(
    TEMPLATE_FILE_NAMES.map(async (name) => {
      const path = `${dir.replace(/\/+$/, "")}/${name}`;
      try {
        return [name, await Deno.readTextFile(path)] as const;
      } catch (cause) {
        throw new SwiftDeployError("INTERNAL", `Cannot read template "${path}": ${String(cause)}`, {
          cause,
          hint: "the templates/ folder of the installation is incomplete: reinstall SwiftDeploy",
        });
      }
    }),
  );
  return Object.fromEntries(entries) as Record<(typeof TEMPLATE_FILE_NAMES)[number], string>;
}
