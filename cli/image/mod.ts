/** Registry-free images: recipes (pure) and the builder (Engine API). */
import { join } from "node:path";
import type { EngineClient } from "../engine/mod.ts";
import { buildImage, type BuiltImage, bundleService } from "./build.ts";
import { imageRecipes, type ImageRole } from "./specs.ts";

export { buildContext, buildImage, type BuiltImage, bundleService } from "./build.ts";
export {
  APP_ENTRYPOINT,
  APP_HEALTHCHECK,
  IMAGE_USERS,
  type ImageRecipe,
  imageRecipes,
  type ImageRole,
  parseLdd,
  splitImageRef,
} from "./specs.ts";

export interface BuildImagesOptions {
  homeDir: string;
  tags: Record<ImageRole, string>;
  /** Only these roles (default: all three). */
  only?: ImageRole[];
  log: (line: string) => void;
}

/** Builds the nginx, OPA and app images the manifest names. */
export async function buildImages(
  engine: EngineClient,
  opts: BuildImagesOptions,
): Promise<BuiltImage[]> {
  const stateDir = join(opts.homeDir, ".state", "build");
  const appBundle = join(stateDir, "app.js");
  const roles = opts.only ?? ["nginx", "opa", "app"];
  if (roles.includes("app")) await bundleService(opts.homeDir, appBundle, opts.log);
  const recipes = imageRecipes({
    tags: opts.tags,
    nginxBin: "/usr/sbin/nginx",
    busyboxBin: "/bin/busybox",
    opaBin: join(opts.homeDir, ".tools", "bin", "opa"),
    denoBin: Deno.execPath(),
    appBundle,
  });
  const built: BuiltImage[] = [];
  for (const recipe of recipes) {
    if (!roles.includes(recipe.role)) continue;
    built.push(await buildImage(engine, recipe, join(stateDir, "images.json"), opts.log));
  }
  return built;
}
