/** `swiftdeploy build`: the policy WASM bundle and the three images. */
import { join } from "node:path";
import type { Context } from "./context.ts";
import { EngineClient } from "../engine/mod.ts";
import { buildImages, type ImageRole } from "../image/mod.ts";
import { loadManifest } from "../manifest/mod.ts";
import { buildPolicyBundle } from "../policy/mod.ts";

export async function runBuild(
  ctx: Context,
  opts: { only?: ImageRole[]; policyOnly?: boolean },
): Promise<number> {
  const { term } = ctx;
  const t0 = performance.now();
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
  } finally {
    engine.close();
  }
  term.out(term.dim(`build finished in ${((performance.now() - t0) / 1000).toFixed(2)} s`));
  return 0;
}
