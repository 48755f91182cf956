/**
 * Where things live. The installation (templates/, policies/, the tools and
 * the engine state) is SWIFTDEPLOY_HOME or the folder above cli/; the files
 * of one deployment (generated files, history, report, lock, state) live
 * beside its manifest.
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
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
  const env = opts.environment;
  // Commands quoted in what this process prints name the chosen environment (`hintFor`).
  // A JSON document (--json) is data, printed verbatim: a release's manifest text stays as applied.
  const shown = (line: string | undefined) =>
    line === undefined || /^\s*[[{]/.test(line) ? line : hintFor(line, env);
  const term: Terminal = env === undefined ? opts.term : {
    ...opts.term,
    out: (line?: string) => opts.term.out(shown(line)),
    err: (line?: string) => opts.term.err(shown(line)),
  };
  return {
    ...(env === undefined ? {} : { environment: env }),
    home: installHome(),
    manifestPath,
    manifestArg: opts.manifest,
    dir,
    stateDir: join(dir, ".swiftdeploy"),
    verbose: opts.verbose,
    policyEngine: opts.policyEngine,
    term,
    env: { dockerHost: Deno.env.get("DOCKER_HOST") || undefined },
  };
}

/**
 * A path as messages show it: relative to the current directory when it lies
 * inside it (`environments/prod/.swiftdeploy/releases`, `.` for the directory
 * itself), else absolute; never `../..` (a user trial read
 * `../../tmp/…/releases`). Pure apart from `Deno.cwd()` (or `cwd`).
 */
export function shownPath(path: string, cwd: string = Deno.cwd()): string {
  const abs = resolve(cwd, path);
  const rel = relative(cwd, abs);
  if (rel === "") return ".";
  return rel.startsWith("..") || isAbsolute(rel) ? abs : rel;
}

/**
 * A hint (or any printed line) as the user should type it: every
 * `` `swiftdeploy <command>` `` it quotes gains `-e <environment>` when one
 * was chosen (a command that already names an environment is left as
 * written), so what the user copies acts on the same environment (a user
 * trial's `-e prod rollback` hinted at `swiftdeploy releases`, which refuses
 * without -e). `hint` unchanged without one. createContext applies it to
 * every line a command prints but JSON documents (data, kept verbatim);
 * main.ts to the error's hint.
 * Pure: e.g. ("`swiftdeploy releases` lists them", "prod") →
 * "`swiftdeploy -e prod releases` lists them".
 */
export function hintFor(hint: string, environment: string | undefined): string {
  if (environment === undefined) return hint;
  return hint.replace(
    /`swiftdeploy (?!-e\s|--env[\s=])/g,
    `\`swiftdeploy -e ${environment} `,
  );
}
