/**
 * The release record and its evidence bundle (issue 15): what one change
 * did, addressed by content. A release is the executor's receipt: the
 * manifest exactly as applied (text and resolved), the rendered files, the
 * image ids and digests of every container, the policy bundle's hash, each
 * decision with its input, the gates, the health results, the action log,
 * the timings, who and when.
 *
 * ## Bundle layout
 *
 * Every attempt that reached the engine (a good release, a failed one, a
 * blocked one) is one folder under the deployment's state folder:
 *
 * ```
 * .swiftdeploy/releases/
 *   <n>/                 n = 1, 2, … (one sequence for good, failed and blocked)
 *     release.json       the ReleaseRecord below (pretty JSON, keys sorted)
 *     manifest.yaml      the manifest text as applied (rollback reads only this
 *                        bundle, so an edited or deleted manifest does not matter)
 *     files/<name>       the rendered files as applied (nginx.conf,
 *                        docker-compose.yml, policy_data.json)
 *     gates.tsv          one row per gate: name, result, figure, limit, time
 *     decisions.jsonl    one DecisionEntry per line (domain, input, decision, time)
 *     actions.jsonl      one ActionEntry per line (the executor's steps)
 *     previous           the rollback pointer: "<n> <hash>\n" of the previous
 *                        good release, or "none\n"
 *   .tmp-<n>-<random>/   a bundle being written; renamed to <n> when whole
 * ```
 *
 * A bundle is written whole into a temporary folder, fsynced, then renamed
 * into place, so a reader sees all of it or none. Its `hash` is the sha256 of
 * the canonical JSON (cli/digest `canonicalJson`) of the record without its
 * `hash` field; the record holds the sha256 of every other file of the
 * bundle, so the one hash covers the folder. The history event of the
 * change (`deploy`, `deploy_failed`, `deploy_blocked`, `rollout_completed`,
 * `rollout_aborted`, …) names it in `data.release` as `{ number, hash,
 * status }`, so the hash chain covers the release.
 *
 * @module
 */

/** What made the release. R2's environment promotion adds `release-promote`. */
export type ReleaseKind = "deploy" | "promote" | "rollout" | "rollback" | "release-promote";

/**
 * `good`: the change took effect and is healthy (a candidate for rollback);
 * `failed`: it was attempted and undone (the old stack kept serving);
 * `blocked`: a gate (policy, validation, a rollout's analysis) refused it;
 * `aborted`: an operator stopped it (`rollout abort`) and the old stack kept
 * serving. Only `good` releases are rollback targets and count for
 * retention.
 */
export type ReleaseStatus = "good" | "failed" | "blocked" | "aborted";

/** One image a container of the release runs. */
export interface ReleaseImage {
  /** `app`, `nginx`, `opa`, `prometheus`. */
  role: string;
  /** The reference the manifest names, e.g. `swift-deploy-1-node:latest`. */
  ref: string;
  /** The engine's image id (`sha256:…`); null when the engine did not hold it. */
  id: string | null;
  /** `RepoDigests` as the engine reports them (`name@sha256:…`); empty when never pushed. */
  digests: string[];
}

/** One container serving when the release was recorded. */
export interface ReleaseContainer {
  name: string;
  role: string;
  /** Image id it runs (`sha256:…`). */
  image_id: string;
}

/** One policy question asked during the change, with the exact input. */
export interface DecisionEntry {
  /** ISO 8601 UTC. */
  at: string;
  /** `infrastructure`, `canary`, `rollout`, `promotion`, … */
  domain: string;
  input: unknown;
  /** `{ allow, reasons, domain, checked }` as the evaluator answered. */
  decision: { allow: boolean; reasons: string[]; domain: string; checked: Record<string, unknown> };
}

/** One row of gates.tsv. */
export interface GateRow {
  /** e.g. `validate`, `infrastructure.disk_free_gb`, `health.app`, `canary.error_rate_percent`. */
  name: string;
  /** `pass`, `fail` or `unknown` (a figure not gathered). */
  result: "pass" | "fail" | "unknown";
  /** The measured value as text (`""` when none). */
  figure: string;
  /** The limit it was judged against as text (`""` when none). */
  limit: string;
  /** ISO 8601 UTC. */
  at: string;
}

/** One executed step of the change (cli/actions), in order. */
export interface ActionEntry {
  /** The action's kind, e.g. `create-container`, `route`, `drain`. */
  kind: string;
  /** As `deploy --dry-run` prints it. */
  description: string;
}

/** The rollback pointer: the previous good release, or null for the first. */
export interface ReleasePointer {
  number: number;
  hash: string;
}

/** sha256 (hex) of each file in the bundle besides release.json, by bundle-relative path. */
export type FileHashes = Record<string, string>;

/**
 * release.json. Every field is part of the content hash except `hash`
 * itself. Readers must tolerate fields added later (additive changes only).
 */
export interface ReleaseRecord {
  /** Format version of this record: 1. */
  v: 1;
  /** 1, 2, … in creation order, one sequence per state folder. */
  number: number;
  /** sha256 hex of the canonical JSON of this record without `hash`. */
  hash: string;
  kind: ReleaseKind;
  status: ReleaseStatus;
  /** Why a failed or blocked attempt did not take effect (first line of the error or the reasons). */
  reason?: string;
  /** Manifest project name. */
  project: string;
  /** The environment (R2's `environments`); absent for a manifest without any. */
  environment?: string;
  /** ISO 8601 UTC when the change started and when it was recorded. */
  started_at: string;
  created_at: string;
  /** Wall time of the change, ms. */
  duration_ms: number;
  /** Named timings of the change, ms (e.g. `validate`, `policy`, `apply`). */
  timings: Record<string, number>;
  /** Who made it: the history's actor shape. */
  actor: { user: string; host: string; pid: number };
  /** The manifest as applied. */
  manifest: {
    /** Base name of the file it was read from, e.g. `manifest.yaml`. */
    file: string;
    /** sha256 hex of its text (manifest.yaml in the bundle). */
    sha256: string;
    /** services.version / services.mode as applied. */
    version: string;
    mode: string;
    /** The resolved manifest (every default filled in). */
    resolved: unknown;
  };
  images: ReleaseImage[];
  containers: ReleaseContainer[];
  policy: {
    /** sha256 hex of the built policy bundle (build/policy), null when none was found. */
    bundle_hash: string | null;
    /** Hash of the Rego sources (cli/policy `hashPolicySources`). */
    sources_hash: string | null;
  };
  /** Health results: each container the change waited for, healthy or not, ms. */
  health: { container: string; healthy: boolean; ms?: number; detail?: string }[];
  /** The previous good release (the rollback pointer). */
  previous: ReleasePointer | null;
  /** For kind `rollback`: the release it re-applied. */
  rollback_of?: ReleasePointer;
  /** For kind `release-promote`: the release of the previous environment it deploys (R2). */
  promoted_from?: ReleasePointer & { environment: string };
  /** For kind `rollout`: the rollout's id. */
  rollout_id?: string;
  /** Bundle files (besides release.json) and their sha256. */
  files: FileHashes;
}

/** What a hook hands the store to record: the record without number, hash, previous and files. */
export type ReleaseDraft = Omit<ReleaseRecord, "v" | "number" | "hash" | "previous" | "files">;

/** Everything written into a bundle besides release.json. */
export interface ReleaseEvidence {
  /** manifest.yaml's text as applied. */
  manifestText: string;
  /** Rendered files by name (written under `files/`). */
  files: Record<string, string>;
  gates: GateRow[];
  decisions: DecisionEntry[];
  actions: ActionEntry[];
}

/** One line of `swiftdeploy releases` (also `--json`). */
export interface ReleaseSummary {
  number: number;
  hash: string;
  kind: ReleaseKind;
  status: ReleaseStatus;
  version: string;
  mode: string;
  created_at: string;
  environment?: string;
  /** Absolute path of the bundle folder. */
  dir: string;
}
