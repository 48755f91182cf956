/**
 * `swiftdeploy build`: the policy WASM bundle and the images; on `target:
 * swarm` (or with `--push`) each image is then pushed to the registry and
 * its by-digest reference recorded in `.swiftdeploy/images.json`.
 */
import { join } from "node:path";
import type { Context } from "./context.ts";
import { EngineClient } from "../engine/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { buildImages, type BuiltImage, type ImageRole } from "../image/mod.ts";
import { loadManifest, registrySpec, targetOf } from "../manifest/mod.ts";
import { buildPolicyBundle } from "../policy/mod.ts";
import { IMAGES_FILE, pushImages, resolveRegistry } from "../registry/mod.ts";

/**
 * Runs the build. `push` forces the push on target engine; on target swarm
 * the images are always pushed (nodes cannot share the host's image store).
 */
export async function runBuild(
  ctx: Context,
  opts: { only?: ImageRole[]; policyOnly?: boolean; push?: boolean; ref?: string },
): Promise<number> {
  const { term } = ctx;
  const t0 = performance.now();
  if (opts.ref !== undefined) return await buildRef(ctx, opts.ref, t0);
  const policy = await buildPolicyBundle({
    policiesDir: join(ctx.home, "policies"),
    outDir: join(ctx.home, "build", "policy"),
    // As everywhere: $OPA_BIN first, else the installation's own opa.
    opaBin: Deno.env.get("OPA_BIN") || join(ctx.home, ".tools", "bin", "opa"),
  });
  term.out(
    `${term.green("✔")} policy bundle ${policy.wasmPath.split("/").pop()} ${
      policy.rebuilt ? "built" : "up to date"
    }`,
  );
  if (opts.policyOnly) return 0;
  const loaded = await loadManifest(ctx.manifestArg);
  const m = loaded.manifest;
  const push = Boolean(opts.push) || targetOf(m) === "swarm";
  // Where to push is settled (and the password read) before anything is built.
  const registry = push ? await resolveRegistry(registrySpec(m), loaded.dir) : undefined;
  const engine = await EngineClient.connect(ctx.env);
  try {
    const built = await buildImages(engine, {
      homeDir: ctx.home,
      tags: {
        app: m.services.image,
        nginx: m.nginx.image,
        opa: m.opa.image,
        ...(m.prometheus.enabled ? { prometheus: m.prometheus.image } : {}),
      },
      ...(opts.only ? { only: opts.only } : {}),
      log: (l) => term.err(term.dim(l)),
    });
    for (const b of built) {
      term.out(
        `${term.green("✔")} ${b.role.padEnd(5)} ${b.tags[0]} ${(b.size / 1e6).toFixed(1)} MB ` +
          `${b.rebuilt ? "built" : "up to date"} (${b.tags[1]})`,
      );
    }
    if (registry) {
      term.out(`pushing ${built.length} image(s) to ${registry.label}`);
      await pushImages(engine, registry, built.map(pushable), {
        stateDir: ctx.stateDir,
        log: (l) => term.err(term.dim(l)),
        onImage: (p) =>
          term.out(
            `${term.green("✔")} ${p.role.padEnd(5)} ${p.ref} ` +
              `${p.pushed ? "pushed" : "already in the registry"} (${p.seconds.toFixed(2)} s)`,
          ),
      });
      term.out(term.dim(`by-digest references in ${join(ctx.stateDir, IMAGES_FILE)}`));
    }
  } finally {
    engine.close();
  }
  term.out(term.dim(`build finished in ${((performance.now() - t0) / 1000).toFixed(2)} s`));
  return 0;
}

/** The image to push for a built one: its role and the tag the manifest names. */
function pushable(b: BuiltImage): { role: string; localRef: string } {
  return { role: b.role, localRef: b.tags[0]! };
}

/** `build --ref`: only the app image, from one commit of services.source (cli/source). */
async function buildRef(ctx: Context, ref: string, t0: number): Promise<number> {
  const { term } = ctx;
  const loaded = await loadManifest(ctx.manifestArg);
  const spec = loaded.manifest.services.source;
  if (!spec) {
    throw new SwiftDeployError(
      "USAGE",
      `Cannot build --ref ${ref}: the manifest names no services.source`,
      {
        exitCode: ExitCode.invalid,
        hint: "add services.source (repo, branch) to the manifest",
      },
    );
  }
  const { buildFromSource } = await import("../source/mod.ts");
  const engine = await EngineClient.connect(ctx.env);
  try {
    const b = await buildFromSource(engine, {
      homeDir: ctx.home,
      manifestDir: loaded.dir,
      stateDir: ctx.stateDir,
      spec,
      ref,
      appImage: loaded.manifest.services.image,
      log: (l) => term.err(term.dim(l)),
    });
    term.out(
      `${term.green("✔")} app   ${b.image} ${b.rebuilt ? "built" : "up to date"} ` +
        `(commit ${b.sha}, version ${b.version})`,
    );
  } finally {
    engine.close();
  }
  term.out(term.dim(`build finished in ${((performance.now() - t0) / 1000).toFixed(2)} s`));
  return 0;
}
