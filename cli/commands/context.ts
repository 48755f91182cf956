/**
 * Where things live. The installation (templates/, policies/, the tools and
 * the engine state) is SWIFTDEPLOY_HOME or the folder above cli/; the files
 * of one deployment (generated files, history, report, lock, state) live
 * beside its manifest.
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Terminal } from "../term/mod.ts";

export type PolicyEngineKind = "wasm" | "sidecar";

export interface Context {
  /** The installation directory. */
  home: string;
  /** Absolute path of the manifest (may not exist yet). */
  manifestPath: string;
  /** The manifest path as the user gave it: messages name the file this way. */
  manifestArg: string;
  /**
   * Where this deployment's files live: the manifest's folder, or with an
   * environment selected its folder `environments/<name>/` beside the manifest.
   */
  dir: string;
  /** The environment `-e/--env` selected (issue 15), if any. */
  environment?: string;
  /** Per-deployment state beside the manifest (nginx live config, scrapes). */
  stateDir: string;
  verbose: boolean;
  policyEngine: PolicyEngineKind;
  term: Terminal;
  env: { dockerHost: string | undefined };
}

export function installHome(): string {
  const fromEnv = Deno.env.get("SWIFTDEPLOY_HOME");
  if (fromEnv) return resolve(fromEnv);
  const url = new URL("..", import.meta.url);
  return url.protocol === "file:" ? fileURLToPath(url).replace(/\/$/, "") : Deno.cwd();
}

export function createContext(opts: {
  manifest: string;
  verbose: boolean;
  policyEngine: PolicyEngineKind;
  term: Terminal;
  /** The environment to act on (`-e/--env`); its files live in `environments/<name>/`. */
  environment?: string;
}): Context {
  const manifestPath = isAbsolute(opts.manifest)
    ? opts.manifest
    : resolve(Deno.cwd(), opts.manifest);
  const dir = opts.environment === undefined
    ? dirname(manifestPath)
    : join(dirname(manifestPath), "environments", opts.environment); // as cli/manifest's environmentDir
  return {
    ...(opts.environment === undefined ? {} : { environment: opts.environment }),
    home: installHome(),
    manifestPath,
    manifestArg: opts.manifest,
    dir,
    stateDir: join(dir, ".swiftdeploy"),
    verbose: opts.verbose,
    policyEngine: opts.policyEngine,
    term: opts.term,
    env: { dockerHost: Deno.env.get("DOCKER_HOST") || undefined },
  };
}
