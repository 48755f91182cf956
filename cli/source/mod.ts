/**
 * Git source → app image (issue 16 part 4). The manifest's `services.source`
 * names a repository (a git URL or a local path) and a branch; a commit of
 * it becomes an app image in four steps:
 *
 * 1. fetch the branch (and, when asked for, the commit) into a bare mirror
 *    kept in `.swiftdeploy/source/mirror.git` (a local path needs no network);
 * 2. `git archive <sha>` into a fresh build folder (no `.git`, nothing of the
 *    mirror's configuration);
 * 3. `deno bundle` the service's entry point (the repository's own deno.json
 *    when it has one);
 * 4. the registry-free app recipe of cli/image with that bundle, tagged
 *    `<image repo>:git-<sha12>` and labelled with the full commit.
 *
 * The version the app reports (`APP_VERSION`, `X-App-Version`) is
 * `git-<sha12>` (`sourceVersion`). Naming, ref checks and URL/path
 * classification are pure and exported for tests.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import type { EngineClient } from "../engine/mod.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { buildImage, denoBundle, imageRecipes, splitImageRef } from "../image/mod.ts";
import { type LoadedManifest, setManifestValue, type SourceSpec } from "../manifest/mod.ts";

/** Where a source lives: a URL git fetches from, or a local repository's absolute path. */
export type SourceLocation = { kind: "url"; url: string } | { kind: "path"; path: string };

/** A built source commit. */
export interface SourceBuild {
  /** The full commit id (40 hex, or 64 in a SHA-256 repository). */
  sha: string;
  /** The image tag the deploy uses: `<repo of services.image>:git-<sha12>`. */
  image: string;
  /** What the app reports as its version: `git-<sha12>`. */
  version: string;
  /** False when an image of the same content already existed. */
  rebuilt: boolean;
  /** Wall time of fetch + archive + bundle + build, seconds. */
  seconds: number;
}

/** A ref `--ref` accepts: a commit id (abbreviated or full) or a branch/tag name; never an option. */
export const REF_PATTERN = /^(?!-)(?!.*(?:\.\.|@\{|\/\/))[A-Za-z0-9._\/-]{1,200}$/;

/** A full commit id. */
export const SHA_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** `git-<first 12 hex of sha>`: the app's version for a commit. Pure. */
export function sourceVersion(sha: string): string {
  return `git-${sha.slice(0, 12)}`;
}

/** The tag of a commit's image: the repository of `services.image`, tag `git-<sha12>`. Pure. */
export function sourceImageTag(appImage: string, sha: string): string {
  return `${splitImageRef(appImage).repo}:${sourceVersion(sha)}`;
}

/**
 * Reads `services.source.repo`: a URL (`scheme://…` or scp-like
 * `user@host:path`) is fetched as is; anything else is a local path,
 * relative to the manifest's folder. Pure.
 */
export function sourceLocation(repo: string, manifestDir: string): SourceLocation {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(repo) || /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.test(repo)) {
    return { kind: "url", url: repo };
  }
  return { kind: "path", path: isAbsolute(repo) ? repo : resolve(manifestDir, repo) };
}

/**
 * Checks `--ref`'s text before git sees it.
 *
 * @throws SwiftDeployError USAGE (exit 2) when it could be read as an option or is no ref name
 */
export function checkRef(ref: string): string {
  if (!REF_PATTERN.test(ref)) {
    throw new SwiftDeployError(
      "USAGE",
      `Invalid --ref "${ref}": expected a commit id or a branch name`,
      { exitCode: 2, hint: "e.g. --ref 3f2abe5 or --ref main" },
    );
  }
  return ref;
}

const GIT_ENV = {
  GIT_TERMINAL_PROMPT: "0",
  GIT_ASKPASS: "/bin/false",
  GIT_CONFIG_NOSYSTEM: "1",
  LC_ALL: "C",
};

async function git(args: string[], what: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("git", {
      args,
      env: GIT_ENV,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new SwiftDeployError("TOOL_MISSING", `Cannot ${what}: git is not installed`, {
      hint: "apt-get install git",
      cause: error,
    });
  }
  if (!out.success) {
    const detail = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-2).join("; ");
    throw new SwiftDeployError(
      "SOURCE_FAILED",
      `Cannot ${what}: ${detail || `git exited ${out.code}`}`,
    );
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/**
 * Fetches `spec.branch` of the source into the bare mirror under `stateDir`
 * and resolves `ref` there (a branch name is read as the fetched branch).
 * A commit the branch does not contain is fetched by id as a last try.
 *
 * @returns the full commit id
 * @throws SwiftDeployError SOURCE_FAILED when the source cannot be read or the ref names no commit
 */
export async function resolveSourceRef(
  stateDir: string,
  spec: SourceSpec,
  manifestDir: string,
  ref: string,
): Promise<{ sha: string; mirror: string }> {
  checkRef(ref);
  const loc = sourceLocation(spec.repo, manifestDir);
  const from = loc.kind === "url" ? loc.url : loc.path;
  const mirror = join(stateDir, "source", "mirror.git");
  await Deno.mkdir(join(stateDir, "source"), { recursive: true, mode: 0o700 });
  try {
    await Deno.stat(join(mirror, "HEAD"));
  } catch {
    await git(["init", "--quiet", "--bare", mirror], "create the source mirror");
  }
  const branchRef = `refs/heads/${spec.branch}`;
  await git(
    [
      "--git-dir",
      mirror,
      "fetch",
      "--quiet",
      "--no-tags",
      "--force",
      "--",
      from,
      `+${branchRef}:${branchRef}`,
    ],
    `fetch branch "${spec.branch}" of "${spec.repo}"`,
  );
  const name = ref === spec.branch ? branchRef : ref;
  const verify = (r: string) =>
    git(
      [
        "--git-dir",
        mirror,
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        `${r}^{commit}`,
      ],
      `find commit "${ref}" in "${spec.repo}"`,
    );
  try {
    return { sha: await verify(name), mirror };
  } catch (error) {
    if (!/^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(ref)) {
      throw new SwiftDeployError(
        "SOURCE_FAILED",
        `Cannot find commit "${ref}" on branch "${spec.branch}" of "${spec.repo}"`,
        { hint: "give a commit id of that branch, or the branch name", cause: error },
      );
    }
  }
  await git(
    ["--git-dir", mirror, "fetch", "--quiet", "--no-tags", "--", from, ref],
    `fetch commit "${ref}" of "${spec.repo}"`,
  );
  return { sha: await verify(ref), mirror };
}

/**
 * Builds the app image of one commit of `services.source` (see the module
 * doc). The build folder `.swiftdeploy/source/build/<sha12>/` holds the
 * archived tree and the bundle; it is replaced on each build.
 *
 * @throws SwiftDeployError SOURCE_FAILED (git, missing entry point),
 *   IMAGE_BUILD_FAILED (bundle, engine build)
 */
export async function buildFromSource(
  engine: EngineClient,
  opts: {
    homeDir: string;
    manifestDir: string;
    stateDir: string;
    spec: SourceSpec;
    ref: string;
    /** `services.image`: its repository names the commit's image. */
    appImage: string;
    log: (line: string) => void;
  },
): Promise<SourceBuild> {
  const t0 = performance.now();
  const { sha, mirror } = await resolveSourceRef(
    opts.stateDir,
    opts.spec,
    opts.manifestDir,
    opts.ref,
  );
  const short = sha.slice(0, 12);
  opts.log(`source ${opts.spec.repo} ${opts.spec.branch} at ${short}`);
  const dir = join(opts.stateDir, "source", "build", short);
  const tree = join(dir, "tree");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(tree, { recursive: true, mode: 0o700 });
  const archive = join(dir, "source.tar");
  await git(
    ["--git-dir", mirror, "archive", "--format=tar", "-o", archive, sha],
    `archive ${short}`,
  );
  const untar = await new Deno.Command("tar", {
    args: ["-x", "--no-same-owner", "-f", archive, "-C", tree],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!untar.success) {
    throw new SwiftDeployError(
      "SOURCE_FAILED",
      `Cannot unpack ${short}: ${new TextDecoder().decode(untar.stderr).trim()}`,
    );
  }
  const entry = join(tree, opts.spec.entry);
  try {
    await Deno.stat(entry);
  } catch {
    throw new SwiftDeployError(
      "SOURCE_FAILED",
      `Cannot build ${short}: the commit has no "${opts.spec.entry}"`,
      { hint: "services.source.entry names the service's entry point inside the repository" },
    );
  }
  const bundle = join(dir, "app.js");
  await bundleEntry(tree, entry, bundle, opts.log);

  const tag = sourceImageTag(opts.appImage, sha);
  const recipe = imageRecipes({
    tags: { app: tag, nginx: "unused", opa: "unused" },
    nginxBin: "/usr/sbin/nginx",
    luaFiles: [],
    busyboxBin: "/bin/busybox",
    opaBin: "/nonexistent",
    denoBin: Deno.execPath(),
    appBundle: bundle,
  }).find((r) => r.role === "app")!;
  recipe.dockerfile += `LABEL org.opencontainers.image.revision="${sha}" ` +
    `io.swiftdeploy.source.branch=${JSON.stringify(opts.spec.branch)}\n`;
  const built = await buildImage(
    engine,
    recipe,
    join(opts.stateDir, "source", "images.json"),
    opts.log,
  );
  return {
    sha,
    image: tag,
    version: sourceVersion(sha),
    rebuilt: built.rebuilt,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** `deno bundle` of one entry point, with the tree's own deno.json when it has one. */
async function bundleEntry(
  tree: string,
  entry: string,
  outFile: string,
  log: (line: string) => void,
): Promise<void> {
  let config: string | null = null;
  try {
    await Deno.stat(join(tree, "deno.json"));
    config = join(tree, "deno.json");
  } catch { /* no config: plain imports only */ }
  const name = entry.slice(tree.length + 1);
  log(`bundling ${name}`);
  await denoBundle(entry, outFile, { config, name: `"${name}"`, cwd: tree });
}

/**
 * What `deploy --ref` does before the deploy proper: builds the commit's
 * image and writes `services.image` and `services.version` into the manifest
 * (as `promote` writes `services.mode`), so the deploy that follows goes
 * through the normal gates and rollout, and the manifest names what runs.
 *
 * @throws SwiftDeployError USAGE (exit 2) when the manifest has no
 *   `services.source` or targets swarm; see `buildFromSource`
 */
export async function applySourceRef(
  engine: EngineClient,
  loaded: LoadedManifest,
  opts: { homeDir: string; stateDir: string; ref: string; log: (line: string) => void },
): Promise<{ loaded: LoadedManifest; build: SourceBuild }> {
  const spec = loaded.manifest.services.source;
  if (!spec) {
    throw new SwiftDeployError(
      "USAGE",
      `Cannot deploy --ref ${opts.ref}: the manifest names no services.source`,
      { exitCode: 2, hint: "add services.source (repo, branch) to the manifest" },
    );
  }
  if ((loaded.manifest.target ?? "engine") === "swarm") {
    throw new SwiftDeployError(
      "USAGE",
      "Cannot deploy --ref on target swarm: the commit's image would have to be pushed first",
      { exitCode: 2, hint: "build and push the image, then set services.image and deploy" },
    );
  }
  const build = await buildFromSource(engine, {
    homeDir: opts.homeDir,
    manifestDir: loaded.dir,
    stateDir: opts.stateDir,
    spec,
    ref: opts.ref,
    appImage: loaded.manifest.services.image,
    log: opts.log,
  });
  let next = await setManifestValue(loaded, ["services", "image"], build.image);
  next = await setManifestValue(next, ["services", "version"], build.version);
  return { loaded: next, build };
}
