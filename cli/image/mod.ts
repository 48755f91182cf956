/** Registry-free images: recipes (pure) and the builder (Engine API). */
import { join } from "node:path";
import type { EngineClient } from "../engine/mod.ts";
import { buildImage, type BuiltImage, bundleService } from "./build.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { imageRecipes, type ImageRole, LUA_SHARE_DIR } from "./specs.ts";

export { buildContext, buildImage, type BuiltImage, bundleService, denoBundle } from "./build.ts";
export {
  APP_ENTRYPOINT,
  APP_HEALTHCHECK,
  IMAGE_USERS,
  type ImageRecipe,
  imageRecipes,
  type ImageRole,
  LUA_SHARE_DIR,
  NGINX_MODULES,
  parseLdd,
  PROMETHEUS_DEFAULT_CONF,
  PROMETHEUS_DEFAULT_FLAGS,
  splitImageRef,
} from "./specs.ts";

/** Debian's Prometheus (package prometheus, installed by build/bootstrap.sh). */
export const PROMETHEUS_BIN = "/usr/bin/prometheus";

export interface BuildImagesOptions {
  homeDir: string;
  /** The Prometheus tag only when its image is wanted (`prometheus.enabled`). */
  tags: Record<Exclude<ImageRole, "prometheus">, string> & { prometheus?: string };
  /** Only these roles (default: nginx, opa, app, and prometheus when its tag is given). */
  only?: ImageRole[];
  log: (line: string) => void;
}

/** Builds the nginx, OPA and app images the manifest names, and Prometheus's when tagged. */
export async function buildImages(
  engine: EngineClient,
  opts: BuildImagesOptions,
): Promise<BuiltImage[]> {
  const stateDir = join(opts.homeDir, ".state", "build");
  const appBundle = join(stateDir, "app.js");
  const roles: ImageRole[] = opts.only ??
    ["nginx", "opa", "app", ...(opts.tags.prometheus ? ["prometheus" as const] : [])];
  if (roles.includes("app")) await bundleService(opts.homeDir, appBundle, opts.log);
  const recipes = imageRecipes({
    tags: opts.tags,
    nginxBin: "/usr/sbin/nginx",
    luaFiles: roles.includes("nginx") ? await filesUnder(LUA_SHARE_DIR) : [],
    busyboxBin: "/bin/busybox",
    opaBin: join(opts.homeDir, ".tools", "bin", "opa"),
    denoBin: Deno.execPath(),
    appBundle,
    prometheusBin: PROMETHEUS_BIN,
  });
  const built: BuiltImage[] = [];
  for (const recipe of recipes) {
    if (!roles.includes(recipe.role)) continue;
    built.push(await buildImage(engine, recipe, join(stateDir, "images.json"), opts.log));
  }
  return built;
}

/** Every regular file under `dir` (symlinks followed), sorted; TOOL_MISSING when there is none. */
async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const path = join(d, e.name);
      if (e.isDirectory) await walk(path);
      else if ((await Deno.stat(path)).isFile) found.push(path);
    }
  };
  try {
    await walk(dir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (found.length === 0) {
    throw new SwiftDeployError(
      "TOOL_MISSING",
      `Cannot build the nginx image: no Lua files under "${dir}"`,
      { hint: "run build/bootstrap.sh to install lua-resty-core and lua-resty-lrucache" },
    );
  }
  return found.sort();
}
