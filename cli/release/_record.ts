/**
 * The release record's pure logic: its content hash, numbering and the
 * rollback pointer, gates.tsv, which releases and images retention keeps,
 * and which release `rollback` picks. No I/O.
 */
import { canonicalJson, sha256Hex } from "../digest/mod.ts";
import type {
  ActionEntry,
  DecisionEntry,
  FileHashes,
  GateRow,
  ReleaseDraft,
  ReleaseEvidence,
  ReleasePointer,
  ReleaseRecord,
} from "./types.ts";

/** Names of the bundle's evidence files (relative to the bundle folder). */
export const BUNDLE_FILES = {
  record: "release.json",
  manifest: "manifest.yaml",
  gates: "gates.tsv",
  decisions: "decisions.jsonl",
  actions: "actions.jsonl",
  previous: "previous",
  filesDir: "files",
} as const;

/** Default of `releases.retain`: good releases whose images are never removed. */
export const DEFAULT_RETAIN = 5;

/**
 * The content hash of a record: sha256 hex of the canonical JSON of the
 * record with `hash` left out (so the stored hash can be checked against
 * the rest).
 */
export function releaseHash(record: Omit<ReleaseRecord, "hash"> | ReleaseRecord): string {
  const { hash: _drop, ...rest } = record as ReleaseRecord;
  return sha256Hex(canonicalJson(rest));
}

/** The header line of gates.tsv. */
export const GATES_HEADER = "name\tresult\tfigure\tlimit\ttime";

/** A field for a TSV cell: tabs and newlines become spaces. */
function cell(text: string): string {
  return text.replace(/[\t\r\n]+/g, " ");
}

/** gates.tsv: the header, then one row per gate, newline-terminated. */
export function gatesTsv(rows: readonly GateRow[]): string {
  return [
    GATES_HEADER,
    ...rows.map((r) => [r.name, r.result, r.figure, r.limit, r.at].map(cell).join("\t")),
  ]
    .join("\n") + "\n";
}

/** Parses gates.tsv back into rows (the header is skipped; short rows are padded with ""). */
export function parseGatesTsv(text: string): GateRow[] {
  const lines = text.split("\n").filter((l) => l !== "");
  return lines.slice(lines[0] === GATES_HEADER ? 1 : 0).map((l) => {
    const [name = "", result = "unknown", figure = "", limit = "", at = ""] = l.split("\t");
    return {
      name,
      result: result === "pass" || result === "fail" ? result : "unknown",
      figure,
      limit,
      at,
    };
  });
}

/** One JSON value per line, newline-terminated ("" for none). */
export function jsonLines(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v) + "\n").join("");
}

/** The rollback pointer file's text: `"<n> <hash>\n"` or `"none\n"`. */
export function pointerText(p: ReleasePointer | null): string {
  return p ? `${p.number} ${p.hash}\n` : "none\n";
}

/**
 * Every file of a bundle but release.json, by bundle-relative path, as
 * written. Rendered files go under `files/`; a name with a slash or `..` is
 * refused (the store never writes outside the bundle).
 *
 * @throws Error for a rendered file name that is not a plain name
 */
export function bundleFiles(
  evidence: ReleaseEvidence,
  previous: ReleasePointer | null,
): Record<string, string> {
  const out: Record<string, string> = {
    [BUNDLE_FILES.manifest]: evidence.manifestText,
    [BUNDLE_FILES.gates]: gatesTsv(evidence.gates),
    [BUNDLE_FILES.decisions]: jsonLines(evidence.decisions),
    [BUNDLE_FILES.actions]: jsonLines(evidence.actions),
    [BUNDLE_FILES.previous]: pointerText(previous),
  };
  for (const [name, text] of Object.entries(evidence.files)) {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name === "." || name === "..") {
      throw new Error(`Cannot record rendered file "${name}": not a plain file name`);
    }
    out[`${BUNDLE_FILES.filesDir}/${name}`] = text;
  }
  return out;
}

/** sha256 of each bundle file's text, keys sorted. */
export function hashFiles(files: Record<string, string>): FileHashes {
  const out: FileHashes = {};
  for (const name of Object.keys(files).sort()) out[name] = sha256Hex(files[name]!);
  return out;
}

/** The newest good release among `records`, or null. */
export function latestGood(
  records: readonly Pick<ReleaseRecord, "number" | "hash" | "status">[],
): ReleasePointer | null {
  let best: ReleasePointer | null = null;
  for (const r of records) {
    if (r.status === "good" && (!best || r.number > best.number)) {
      best = { number: r.number, hash: r.hash };
    }
  }
  return best;
}

/**
 * The complete record for `draft`: numbered after the highest existing
 * number, pointing at the newest good release before it, holding the hashes
 * of its bundle files, and hashed.
 */
export function finishRecord(
  draft: ReleaseDraft,
  existing: readonly Pick<ReleaseRecord, "number" | "hash" | "status">[],
  files: Record<string, string>,
  previous: ReleasePointer | null = latestGood(existing),
): ReleaseRecord {
  const number = existing.reduce((n, r) => Math.max(n, r.number), 0) + 1;
  const unhashed: Omit<ReleaseRecord, "hash"> = {
    v: 1,
    ...draft,
    number,
    previous,
    files: hashFiles(files),
  };
  return { ...unhashed, hash: releaseHash(unhashed) } as ReleaseRecord;
}

/** What is wrong with a stored bundle: its hash, or a file whose sha256 differs. */
export function verifyRecord(
  record: ReleaseRecord,
  files: Record<string, string | undefined>,
): string[] {
  const problems: string[] = [];
  if (releaseHash(record) !== record.hash) problems.push("release.json does not match its hash");
  for (const [name, sum] of Object.entries(record.files ?? {})) {
    const text = files[name];
    if (text === undefined) problems.push(`${name} is missing`);
    else if (sha256Hex(text) !== sum) problems.push(`${name} was changed`);
  }
  return problems;
}

/**
 * The good releases retention keeps: the newest `retain` good ones (by
 * number). `retain` below 1 is treated as 1 (the serving release is always
 * kept).
 */
export function retainedReleases<R extends Pick<ReleaseRecord, "number" | "status">>(
  records: readonly R[],
  retain: number,
): R[] {
  return records.filter((r) => r.status === "good")
    .sort((a, b) => b.number - a.number)
    .slice(0, Math.max(1, retain));
}

/**
 * Image ids retention must never remove: every image of the retained good
 * releases (sorted, unique).
 */
export function protectedImageIds(
  records: readonly Pick<ReleaseRecord, "number" | "status" | "images">[],
  retain: number,
): string[] {
  const ids = new Set<string>();
  for (const r of retainedReleases(records, retain)) {
    for (const i of r.images) if (i.id) ids.add(i.id);
  }
  return [...ids].sort();
}

/**
 * What `releases prune` does with the images releases name: keep every
 * protected id (a retained good release runs it) and every id in `inUse`
 * (id → why, e.g. a container runs it, the manifest names it), remove the
 * rest of `named` (images only SwiftDeploy's older releases name; nothing
 * else on the engine is ever considered).
 */
export function prunePlan(
  named: readonly { id: string; refs: string[] }[],
  protectedIds: readonly string[],
  inUse: Readonly<Record<string, string>> = {},
): {
  keep: { id: string; refs: string[]; why: string }[];
  remove: { id: string; refs: string[] }[];
} {
  const keepSet = new Set(protectedIds);
  const keep: { id: string; refs: string[]; why: string }[] = [];
  const remove: { id: string; refs: string[] }[] = [];
  for (const img of [...named].sort((a, b) => a.id.localeCompare(b.id))) {
    if (keepSet.has(img.id)) keep.push({ ...img, why: "a retained release runs it" });
    else if (inUse[img.id]) keep.push({ ...img, why: inUse[img.id]! });
    else remove.push(img);
  }
  return { keep, remove };
}

/** Every image id the records name, with the references it was named by (sorted, unique). */
export function namedImages(
  records: readonly Pick<ReleaseRecord, "images">[],
): { id: string; refs: string[] }[] {
  const byId = new Map<string, Set<string>>();
  for (const r of records) {
    for (const i of r.images ?? []) {
      if (!i.id) continue;
      const refs = byId.get(i.id) ?? new Set<string>();
      refs.add(i.ref);
      byId.set(i.id, refs);
    }
  }
  return [...byId].sort((a, b) => a[0].localeCompare(b[0])).map(([id, refs]) => ({
    id,
    refs: [...refs].sort(),
  }));
}

/**
 * The release `rollback [n]` re-applies: `n` when given (it must be good),
 * else the newest good release before the newest good one (the one serving).
 *
 * @returns the record, or a message why none fits
 */
export function rollbackTarget<R extends Pick<ReleaseRecord, "number" | "status">>(
  records: readonly R[],
  n?: number,
): R | string {
  if (n !== undefined) {
    const r = records.find((x) => x.number === n);
    if (!r) return `release ${n} does not exist`;
    if (r.status !== "good") return `release ${n} is ${r.status}, not a good release`;
    return r;
  }
  const good = records.filter((r) => r.status === "good").sort((a, b) => b.number - a.number);
  if (good.length < 2) {
    return good.length === 0
      ? "there is no good release yet"
      : `release ${good[0]!.number} is the only good release`;
  }
  return good[1]!;
}

/** Decision entries keep their input as given; this checks a line read back. */
export function isDecisionEntry(v: unknown): v is DecisionEntry {
  const o = v as DecisionEntry;
  return typeof o === "object" && o !== null && typeof o.domain === "string" &&
    typeof o.decision === "object" && o.decision !== null;
}

/** Action entries from executed steps' descriptions (kept for the bundle). */
export function actionEntries(
  steps: readonly { kind: string; description: string }[],
): ActionEntry[] {
  return steps.map((s) => ({ kind: s.kind, description: s.description }));
}

/** `k=v` pairs joined with "; " (keys sorted; null shown as "null"). */
function pairs(o: Record<string, unknown>): string {
  return Object.keys(o).sort().map((k) => `${k}=${o[k] === null ? "null" : String(o[k])}`)
    .join("; ");
}

/**
 * One gates.tsv row for a policy decision: named by its domain, `pass` when
 * the policy allowed, `fail` when it denied; the figure is what the policy
 * judged (`checked`, numbers and nulls only) and the limit the data it
 * judged against (`limits`, the manifest's `policy_limits.<domain>` or the
 * rollout's analysis limits). The CLI compares nothing itself.
 */
export function decisionGate(entry: DecisionEntry, limits: Record<string, unknown> = {}): GateRow {
  const figures: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry.decision.checked ?? {})) {
    if (typeof v === "number" || v === null) figures[k] = v;
  }
  return {
    name: `policy.${entry.domain}`,
    result: entry.decision.allow ? "pass" : "fail",
    figure: pairs(figures),
    limit: pairs(limits),
    at: entry.at,
  };
}
