/**
 * Every path a deployment writes beside its manifest, and the rule that no
 * two of them may be the same file (or one lie inside the other): `audit`
 * must never write its report over the manifest, nor its chart over the
 * history. Pure: how paths are compared (as written, or with symlinks
 * resolved) is the caller's `canonical` function.
 *
 * The names here are the ones the writers use: `GENERATED_FILE_NAMES`
 * (cli/render), `headPath` and `<history>.lock` (cli/history),
 * `defaultChartFile` (cli/audit), `scrapesDir` (cli/scrapes), `releasesDir`
 * (cli/release), the change lock
 * and the engine driver's folders under `.swiftdeploy/`. The manifest is the
 * bottom layer and cannot import them; `_output_paths_test.ts` checks that
 * both sides agree.
 */

import { basename } from "node:path";
import { insideFolder } from "./_schema.ts";
import type { ResolvedManifest } from "./types.ts";

/** The manifest keys that name output paths. */
export type OutputField = "audit.history_file" | "audit.report_file";

/** One path the deployment writes. */
export interface OutputPath {
  /** For messages, e.g. `the history's head "history.jsonl.head"`. */
  what: string;
  /** Relative to the manifest folder, normalised ("a/./b" → "a/b"). */
  path: string;
  /** The key it derives from; undefined for fixed names. */
  field?: OutputField;
  /** True for the path the key names itself (not one derived from it). */
  primary?: boolean;
  /**
   * True for a family of paths: `path` holds `<n>` standing for any
   * number (the history's archived segments `history.<n>.jsonl`).
   */
  family?: boolean;
  /**
   * The environment whose folder holds it (`environments/<name>/`); outputs
   * of one key clash only across environments (two folders made one by a
   * symlink).
   */
  scope?: string;
}

/** A pair of outputs that would be the same file, or one inside the other. */
export interface OutputCollision {
  a: OutputPath;
  b: OutputPath;
  /** `same`: one path; `inside`: `a` lies inside `b`; `contains`: `b` inside `a`. */
  relation: "same" | "inside" | "contains";
  /** Canonical forms, when they differ from the written paths (a symlink on the way). */
  resolved?: { a: string; b: string };
}

/** The files `init` writes beside the manifest (as cli/render's GENERATED_FILE_NAMES). */
export const GENERATED_OUTPUTS = ["nginx.conf", "docker-compose.yml", "policy_data.json"] as const;
/** Per-deployment state folder beside the manifest (as cli/plan's STATE_DIR_NAME). */
export const STATE_DIR = ".swiftdeploy";

/** `report.md` → `report.svg`, anything else + `.svg` (as cli/audit's defaultChartFile). */
function chartOf(report: string): string {
  return report.endsWith(".md") ? report.slice(0, -3) + ".svg" : report + ".svg";
}

function normal(path: string): string {
  return insideFolder(path) ?? path;
}

/** `<n>` in a family's path: any whole number. */
const FAMILY_N = "<n>";

/** A matcher for the canonical form of a family's path (`<n>` = digits). */
function familyMatcher(canonical: string): (path: string) => boolean {
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^${canonical.split(FAMILY_N).map(escape).join("[0-9]+")}$`);
  return (path) => re.test(path);
}

/**
 * The history's archived segments, as cli/history's `segmentPath`:
 * `dir/history.jsonl` → `dir/history.<n>.jsonl` for n = 1, 2, …
 */
function segmentsPattern(history: string): string {
  const slash = history.lastIndexOf("/");
  const name = history.slice(slash + 1);
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  return `${history.slice(0, slash + 1)}${stem}.${FAMILY_N}${ext}`;
}

/**
 * Every output path of `m` whose manifest file is named `manifestFileName`
 * (only its base name counts: outputs live in the manifest's folder).
 */
export function outputPaths(m: ResolvedManifest, manifestFileName: string): OutputPath[] {
  const all = stackOutputPaths(m, manifestFileName);
  if (m.environments === undefined) return all;
  // Each environment's stack writes the same names into its own folder (a
  // name given twice is one folder, and reported as a duplicate name).
  const [manifest, ...stack] = all;
  const names = [...new Set(m.environments.map((env) => env.name))];
  return [
    manifest!,
    ...names.map((name) => ({ name })).flatMap((env) =>
      stack.map((o) => ({
        ...o,
        what: `${o.what} of environment "${env.name}"`,
        path: `${ENVIRONMENTS_FOLDER}/${env.name}/${o.path}`,
        scope: env.name,
      }))
    ),
  ];
}

/** Folder of the environments' folders (as cli/manifest/_environments.ts' ENVIRONMENTS_DIR). */
const ENVIRONMENTS_FOLDER = "environments";

/** The outputs of one stack, relative to its folder; the manifest first. */
function stackOutputPaths(m: ResolvedManifest, manifestFileName: string): OutputPath[] {
  const history = normal(m.audit.history_file);
  const report = normal(m.audit.report_file);
  const q = (p: string) => `"${p}"`;
  const h = "audit.history_file" as const;
  const r = "audit.report_file" as const;
  const manifest = basename(manifestFileName);
  return [
    { what: `the manifest ${q(manifest)}`, path: manifest },
    ...GENERATED_OUTPUTS.map((name) => ({ what: `the generated ${q(name)}`, path: name })),
    { what: `the history ${q(history)}`, path: history, field: h, primary: true },
    { what: `the history's head ${q(`${history}.head`)}`, path: `${history}.head`, field: h },
    { what: `the history's lock ${q(`${history}.lock`)}`, path: `${history}.lock`, field: h },
    {
      what: `the history's segments ${q(segmentsPattern(history))}`,
      path: segmentsPattern(history),
      field: h,
      family: true,
    },
    { what: `the audit report ${q(report)}`, path: report, field: r, primary: true },
    { what: `the audit chart ${q(chartOf(report))}`, path: chartOf(report), field: r },
    ...[
      ["the change lock", "lock.json"],
      ["the kept scrapes folder", "scrapes"],
      ["nginx's live config folder", "nginx"],
      ["OPA's policy data folder", "opa"],
      ["the chaos state", "last_chaos"],
      ["the OOM kills recorded", "oom_seen.json"],
      ["the release bundles folder", "releases"],
    ].map(([what, name]) => ({
      what: `${what} ${q(`${STATE_DIR}/${name}`)}`,
      path: `${STATE_DIR}/${name}`,
    })),
  ];
}

/**
 * Pairs of `outputs` that are the same path or nest, compared by
 * `canonical(path)` (default: the normalised path as written). A pair of
 * outputs derived from the same key is never reported (they cannot meet).
 */
export function findCollisions(
  outputs: OutputPath[],
  canonical: (path: string) => string = (p) => p,
): OutputCollision[] {
  const forms = outputs.map((o) => canonical(o.path));
  const families = outputs.map((o, i) => o.family ? familyMatcher(forms[i]!) : undefined);
  const found: OutputCollision[] = [];
  for (let i = 0; i < outputs.length; i++) {
    for (let j = i + 1; j < outputs.length; j++) {
      const a = outputs[i]!;
      const b = outputs[j]!;
      if (a.field !== undefined && a.field === b.field && a.scope === b.scope) continue;
      const ca = forms[i]!;
      const cb = forms[j]!;
      const relation = ca === cb || families[i]?.(cb) || families[j]?.(ca)
        ? "same"
        : ca.startsWith(`${cb}/`)
        ? "inside"
        : cb.startsWith(`${ca}/`)
        ? "contains"
        : undefined;
      if (relation === undefined) continue;
      const collision: OutputCollision = { a, b, relation };
      if (ca !== a.path || cb !== b.path) collision.resolved = { a: ca, b: cb };
      found.push(collision);
    }
  }
  return found;
}

/**
 * The message for a collision, from the side of `own` (an output derived
 * from a key), e.g. `must not be the same path as the manifest
 * "manifest.yaml"`.
 */
export function collisionMessage(c: OutputCollision, own: OutputPath): string {
  const other = own === c.a ? c.b : c.a;
  const relation = c.relation === "same"
    ? other.family ? "one of" : "the same path as"
    : (c.relation === "inside") === (own === c.a)
    ? "inside"
    : "a folder holding";
  let via = "";
  if (c.resolved) {
    const [mine, theirs] = own === c.a
      ? [c.resolved.a, c.resolved.b]
      : [c.resolved.b, c.resolved.a];
    via = ` once symlinks are resolved (${
      mine === theirs ? `"${mine}"` : `"${mine}" and "${theirs}"`
    })`;
  }
  return own.primary
    ? `must not be ${relation} ${other.what}${via}`
    : `must not make ${own.what} ${relation} ${other.what}${via}`;
}
