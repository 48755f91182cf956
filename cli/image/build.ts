/**
 * Builds the registry-free images through the Engine API (`POST /build`
 * with a tar context made here). Nothing is rebuilt whose inputs did not
 * change: a cheap fingerprint (paths, sizes, mtimes) maps to the content
 * hash of the last context, and an image tagged with that hash is reused.
 */
import { dirname, join, relative } from "node:path";
import { sha256Hex } from "../digest/mod.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { atomicWrite } from "../fs/mod.ts";
import type { EngineClient } from "../engine/mod.ts";
import { createTar, type TarEntry } from "../tar/mod.ts";
import { type ImageRecipe, type ImageRole, parseLdd, splitImageRef } from "./specs.ts";

export interface BuiltImage {
  role: ImageRole;
  id: string;
  tags: string[];
  contentHash: string;
  size: number;
  rebuilt: boolean;
}

async function sharedLibraries(binary: string): Promise<string[]> {
  const out = await new Deno.Command("ldd", { args: [binary], stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    // "not a dynamic executable": a static binary needs no libraries.
    if (/not a dynamic executable/.test(new TextDecoder().decode(out.stderr) + text)) return [];
    throw new SwiftDeployError(
      "IMAGE_BUILD_FAILED",
      `Cannot list the libraries of "${binary}": ldd failed`,
    );
  }
  try {
    return parseLdd(text);
  } catch (error) {
    throw new SwiftDeployError(
      "IMAGE_BUILD_FAILED",
      `Cannot package "${binary}": ${(error as Error).message}`,
    );
  }
}

interface ResolvedFile {
  src: string;
  dest: string;
  mode: number;
}

async function resolveFiles(recipe: ImageRecipe): Promise<ResolvedFile[]> {
  const files: ResolvedFile[] = [];
  for (const f of recipe.hostFiles) {
    try {
      await Deno.stat(f.src);
    } catch {
      throw new SwiftDeployError(
        "TOOL_MISSING",
        `Cannot build the ${recipe.role} image: "${f.src}" does not exist`,
        { hint: "run build/bootstrap.sh to install the toolchain" },
      );
    }
    files.push({ src: f.src, dest: f.dest, mode: f.mode });
    if (f.withLibraries) {
      for (const lib of await sharedLibraries(f.src)) {
        files.push({ src: lib, dest: lib.replace(/^\/+/, ""), mode: 0o755 });
      }
    }
  }
  return files;
}

async function fingerprint(recipe: ImageRecipe, files: ResolvedFile[]): Promise<string> {
  const stats = [];
  for (const f of files) {
    const st = await Deno.stat(f.src);
    stats.push([f.src, f.dest, st.size, st.mtime?.getTime() ?? 0, st.ino ?? 0]);
  }
  return sha256Hex(JSON.stringify({
    v: 1,
    stats,
    text: recipe.textFiles,
    dirs: recipe.dirs,
    dockerfile: recipe.dockerfile,
  }));
}

/** The image's context: the Dockerfile and rootfs.tar (owners from the recipe). */
export async function buildContext(
  recipe: ImageRecipe,
  files: ResolvedFile[],
): Promise<Uint8Array> {
  const entries = new Map<string, TarEntry>();
  const addParents = (path: string) => {
    let dir = dirname(path);
    while (dir && dir !== "." && dir !== "/") {
      if (!entries.has(dir)) entries.set(dir, { type: "dir", name: dir, mode: 0o755 });
      dir = dirname(dir);
    }
  };
  for (const d of recipe.dirs) {
    addParents(d.dest);
    entries.set(d.dest, { type: "dir", name: d.dest, mode: d.mode, uid: d.uid, gid: d.uid });
  }
  for (const t of recipe.textFiles) {
    addParents(t.dest);
    entries.set(t.dest, {
      type: "file",
      name: t.dest,
      data: new TextEncoder().encode(t.text),
      mode: t.mode,
      uid: t.uid ?? 0,
      gid: t.uid ?? 0,
    });
  }
  for (const f of files) {
    addParents(f.dest);
    entries.set(f.dest, {
      type: "file",
      name: f.dest,
      data: await Deno.readFile(f.src),
      mode: f.mode,
    });
  }
  const sorted = [...entries.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
  const rootfs = createTar(sorted);
  return createTar([
    { type: "file", name: "Dockerfile", data: new TextEncoder().encode(recipe.dockerfile) },
    { type: "file", name: "rootfs.tar", data: rootfs },
  ]);
}

interface Cache {
  [role: string]: { fingerprint: string; contentHash: string } | undefined;
}

async function readCache(path: string): Promise<Cache> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as Cache;
  } catch {
    return {};
  }
}

async function ensureTags(engine: EngineClient, id: string, tags: string[]): Promise<void> {
  for (const tag of tags) {
    const current = await engine.imageInspect(tag);
    if (current?.Id === id) continue;
    const { repo, tag: t } = splitImageRef(tag);
    await engine.imageTag(id, repo, t);
  }
}

/** Builds (or reuses) one image. */
export async function buildImage(
  engine: EngineClient,
  recipe: ImageRecipe,
  cacheFile: string,
  log: (line: string) => void,
): Promise<BuiltImage> {
  const files = await resolveFiles(recipe);
  const fp = await fingerprint(recipe, files);
  const cache = await readCache(cacheFile);
  const primary = recipe.tags[0]!;
  const { repo } = splitImageRef(primary);

  const cached = cache[recipe.role];
  if (cached?.fingerprint === fp) {
    const hashTag = `${repo}:sd-${cached.contentHash.slice(0, 12)}`;
    const existing = await engine.imageInspect(hashTag);
    if (existing) {
      await ensureTags(engine, existing.Id, recipe.tags);
      return {
        role: recipe.role,
        id: existing.Id,
        tags: [...recipe.tags, hashTag],
        contentHash: cached.contentHash,
        size: existing.Size,
        rebuilt: false,
      };
    }
  }

  const context = await buildContext(recipe, files);
  const contentHash = sha256Hex(context);
  const hashTag = `${repo}:sd-${contentHash.slice(0, 12)}`;
  let image = await engine.imageInspect(hashTag);
  let rebuilt = false;
  if (!image) {
    log(`building ${primary} (${(context.length / 1e6).toFixed(1)} MB context)`);
    const id = await engine.imageBuild(
      context,
      [...recipe.tags, hashTag],
      (line) => log(`  ${line}`),
    );
    image = await engine.imageInspect(id);
    if (!image) {
      throw new SwiftDeployError("IMAGE_BUILD_FAILED", `Image ${primary} vanished after its build`);
    }
    // The tags must name what was just built, whatever they named before.
    await ensureTags(engine, image.Id, [...recipe.tags, hashTag]);
    rebuilt = true;
  } else {
    await ensureTags(engine, image.Id, recipe.tags);
  }
  cache[recipe.role] = { fingerprint: fp, contentHash };
  await Deno.mkdir(dirname(cacheFile), { recursive: true });
  await atomicWrite(cacheFile, JSON.stringify(cache, null, 2) + "\n");
  return {
    role: recipe.role,
    id: image.Id,
    tags: [...recipe.tags, hashTag],
    contentHash,
    size: image.Size,
    rebuilt,
  };
}

/**
 * Bundles the service into one JS file for the app image, only when its
 * sources (or the lock file, or Deno itself) changed since the last bundle.
 */
export async function bundleService(
  homeDir: string,
  outFile: string,
  log: (line: string) => void,
): Promise<void> {
  const inputs: [string, number, number][] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile && p.endsWith(".ts") && !p.endsWith("_test.ts")) {
        const st = await Deno.stat(p);
        inputs.push([relative(homeDir, p), st.size, st.mtime?.getTime() ?? 0]);
      }
    }
  };
  await walk(join(homeDir, "service"));
  for (const f of ["deno.json", "deno.lock"]) {
    const st = await Deno.stat(join(homeDir, f));
    inputs.push([f, st.size, st.mtime?.getTime() ?? 0]);
  }
  inputs.sort((a, b) => a[0] < b[0] ? -1 : 1);
  const fp = sha256Hex(JSON.stringify({ deno: Deno.version.deno, inputs }));
  const fpFile = `${outFile}.fingerprint`;
  try {
    if ((await Deno.readTextFile(fpFile)) === fp && (await Deno.stat(outFile)).isFile) return;
  } catch { /* first bundle */ }
  log("bundling service/main.ts");
  await Deno.mkdir(dirname(outFile), { recursive: true });
  await denoBundle(join(homeDir, "service", "main.ts"), outFile, {
    config: join(homeDir, "deno.json"),
    name: "the service",
  });
  await Deno.writeTextFile(fpFile, fp);
}

/**
 * `deno bundle` (this Deno, `Deno.execPath()`) of one entry point into
 * `outFile`, one self-contained ES module: the service's image and the images
 * built from a `services.source` commit both run what this makes.
 *
 * `config` is the deno.json whose imports resolve the entry's, or null for
 * `--no-config` (plain relative and npm: imports only); `cwd` is where deno
 * runs (default: here); `name` is how the entry is named in the error.
 *
 * @throws SwiftDeployError IMAGE_BUILD_FAILED with deno's error (see
 *   bundleProblem) when the bundle fails
 */
export async function denoBundle(
  entry: string,
  outFile: string,
  opts: { config: string | null; name: string; cwd?: string },
): Promise<void> {
  const config = opts.config === null ? ["--no-config"] : ["--config", opts.config];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", ...config, "-o", outFile, entry],
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new SwiftDeployError(
      "IMAGE_BUILD_FAILED",
      `Cannot bundle ${opts.name}: ${bundleProblem(new TextDecoder().decode(out.stderr))}`,
    );
  }
}

/**
 * What `deno bundle`'s stderr says went wrong, on one line: its first five
 * lines that carry something, joined with "; ", without the closing
 * "error: bundling failed" and anything from a Rust "Stack backtrace:" on
 * (printed when RUST_BACKTRACE is set in the environment).
 */
export function bundleProblem(stderr: string): string {
  return stderr.split(/^Stack backtrace:/m)[0]!.split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && l !== "error: bundling failed").slice(0, 5).join("; ");
}
