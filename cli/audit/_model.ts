/**
 * What the report shows, derived from history events. Pure. Event data is
 * read defensively: any field may be missing or of another type in an old
 * or hand-edited history, and the report must still render.
 */

import type { HistoryEvent, SealStatus, VerifyResult } from "../history/mod.ts";

// ---- defensive readers -----------------------------------------------------

type Obj = Readonly<Record<string, unknown>>;

export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export function obj(v: unknown): Obj | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

export function strs(v: unknown): string[] {
  if (typeof v === "string") return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

// ---- formatting ------------------------------------------------------------

/** `2026-11-21 12:00:05` (UTC, seconds). */
export function formatTime(ts: string | number): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString().slice(0, 19).replace("T", " ");
}

export function formatPercent(v: number | undefined | null): string {
  return v === undefined || v === null ? "—" : `${v.toFixed(2)}%`;
}

export function formatMs(v: number | undefined | null): string {
  if (v === undefined || v === null) return "—";
  const digits = v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)} ms`;
}

export function formatDuration(ms: number | undefined): string | undefined {
  if (ms === undefined) return undefined;
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// ---- timeline --------------------------------------------------------------

export interface TimelineRow {
  ts: string;
  event: string;
  mode: string;
  details: string;
}

const NONE = "—";

function reasonsText(reasons: string[]): string {
  return reasons.length === 0 ? "no reason given" : reasons.join("; ");
}

/** Builds the timeline one event at a time (`add`), in history order; `rows` grows as it goes. */
export interface Builder<Row> {
  add(e: HistoryEvent): void;
  readonly rows: Row[];
}

/**
 * Who made an event, when it is not a login user: a named actor
 * (`kind:name`, e.g. `token:ci` or `webhook:<id>`, which `swiftdeploy
 * serve` records for the changes it runs); undefined otherwise (the
 * history's default actor, the shell's user, is not repeated on every row).
 */
export function namedActor(e: Pick<HistoryEvent, "actor">): string | undefined {
  const user = str(obj(e.actor)?.["user"]);
  return user && /^[a-z]+:./.test(user) ? user : undefined;
}

/**
 * Deploys (a rollback's deploy says "Rollback to release N"), mode changes,
 * chaos injections and the other actions, in order; a row names its actor
 * when it is a named one (`namedActor`).
 */
export function timeline(events: readonly HistoryEvent[]): TimelineRow[] {
  const b = timelineBuilder();
  for (const e of events) b.add(e);
  return b.rows;
}

/** `timeline` one event at a time: memory grows with the rows, not with the events. */
export function timelineBuilder(): Builder<TimelineRow> {
  const rows: TimelineRow[] = [];
  let mode: string | undefined;
  const add = (e: HistoryEvent): void => {
    const d = e.data;
    const current = mode ?? NONE;
    const by = namedActor(e);
    const row = (event: string, modeText: string, details: string[]) =>
      rows.push({
        ts: e.ts,
        event,
        mode: modeText,
        details: [...details, by ? `by ${by}` : ""].filter(Boolean).join(", "),
      });
    switch (e.event) {
      case "deploy": {
        const to = str(d["mode"]) ?? "unknown";
        const containers = strs(d["containers"]);
        const modeText = mode === undefined
          ? `${NONE} → ${to}`
          : mode === to
          ? to
          : `${mode} → ${to}`;
        const rollbackOf = num(d["rollback_of"]);
        const rollback = str(d["kind"]) === "rollback" || rollbackOf !== undefined;
        const title = rollback ? `Rollback to release ${rollbackOf ?? "?"}` : "Deploy";
        row(title, modeText, [
          str(d["version"]) ? `version ${str(d["version"])}` : "",
          str(d["image"]) ? `image ${str(d["image"])}` : "",
          containers.length ? `containers ${containers.join(", ")}` : "",
          formatDuration(num(d["duration_ms"]))
            ? `took ${formatDuration(num(d["duration_ms"]))}`
            : "",
        ]);
        mode = to;
        break;
      }
      case "deploy_noop":
        row(
          num(d["rollback_of"]) !== undefined
            ? `Rollback to release ${num(d["rollback_of"])} (no change)`
            : "Deploy (no change)",
          current,
          [
            `already ${str(d["mode"]) ?? "deployed"} ${str(d["version"]) ?? ""}`.trim(),
          ],
        );
        break;
      case "deploy_failed":
        row("Deploy failed", current, [
          str(d["reason"]) ?? "no reason given",
          str(d["container"]) ? `container ${str(d["container"])}` : "",
        ]);
        break;
      case "deploy_blocked": {
        const decision = obj(d["decision"]);
        row("Deploy blocked", current, [
          `${str(decision?.["domain"]) ?? "unknown"} policy: ${
            reasonsText(strs(decision?.["reasons"]))
          }`,
        ]);
        break;
      }
      case "promote": {
        const from = str(d["from"]) ?? mode ?? "unknown";
        const to = str(d["to"]) ?? "unknown";
        const took = formatDuration(num(d["duration_ms"]));
        row("Promote", `${from} → ${to}`, [took ? `took ${took}` : ""]);
        mode = to;
        break;
      }
      case "promote_blocked": {
        const decision = obj(d["decision"]);
        const from = str(d["from"]) ?? current;
        row("Promote blocked", `${from} (stays; ${str(d["to"]) ?? "unknown"} refused)`, [
          `${str(decision?.["domain"]) ?? "unknown"} policy: ${
            reasonsText(strs(decision?.["reasons"]))
          }`,
        ]);
        break;
      }
      case "promote_failed": {
        const from = str(d["from"]) ?? current;
        row("Promote failed", `${from} (stays; ${str(d["to"]) ?? "unknown"} undone)`, [
          str(d["reason"]) ?? "no reason given",
        ]);
        break;
      }
      case "chaos_change": {
        const chaos = str(d["mode"]);
        const rate = num(d["rate"]);
        const duration = num(d["duration"]);
        if (chaos === "recover") row("Chaos recovered", current, ["normal responses again"]);
        else if (chaos === "error") {
          row("Chaos injected", current, [
            `error: ${
              rate === undefined ? "some" : `${Number((rate * 100).toFixed(2))}% of`
            } requests fail`,
          ]);
        } else if (chaos === "slow") {
          row("Chaos injected", current, [
            `slow: ${duration === undefined ? "delayed" : `${duration} s delay per`} request`,
          ]);
        } else row("Chaos changed", current, [chaos ?? "unknown"]);
        break;
      }
      case "teardown": {
        const removed = strs(d["removed"]);
        row("Teardown", `${current} → ${NONE}`, [
          d["clean"] === true ? "clean (generated files removed)" : "generated files kept",
          removed.length ? `removed ${removed.join(", ")}` : "",
        ]);
        mode = undefined;
        break;
      }
      case "lock_taken_over": {
        const prev = obj(d["previous"]);
        const who = str(prev?.["host"]);
        const pid = num(prev?.["pid"]);
        row("Lock taken over", current, [
          `from ${who || "unknown"}${pid === undefined ? "" : ` (pid ${pid})`}`,
          str(d["reason"]) ?? "",
        ]);
        break;
      }
      case "rollout_started": {
        const stable = obj(d["stable"]);
        const canary = obj(d["canary"]);
        row("Rollout started", current, [
          `${str(stable?.["version"]) ?? "unknown"} → ${str(canary?.["version"]) ?? "unknown"}`,
          `rollout ${str(d["id"]) ?? "unknown"} (see Rollouts)`,
        ]);
        break;
      }
      case "rollout_completed":
        row("Rollout completed", current, [
          `${str(d["version"]) ?? "the canary"} takes all traffic`,
          formatDuration(num(d["duration_ms"]))
            ? `took ${formatDuration(num(d["duration_ms"]))}`
            : "",
        ]);
        break;
      case "rollout_aborted":
        row("Rollout rolled back", current, [
          `by ${str(d["by"]) ?? "unknown"}: ${reasonsText(strs(d["reasons"]))}`,
        ]);
        break;
      case "status_scrape":
      case "policy_violation":
        break;
      default:
        // The other rollout events (steps, analyses, pauses) are in the Rollouts section.
        break;
    }
  };
  return { add, rows };
}

// ---- violations -----------------------------------------------------------

export type ViolationSource =
  | "deploy blocked"
  | "promote blocked"
  | "policy violation"
  | "status check"
  | "rollout rolled back";

export interface ViolationRow {
  ts: string;
  source: ViolationSource;
  domain: string;
  reasons: string[];
  error_rate_percent: number | null;
  p99_latency_ms: number | null;
  /**
   * For a run of consecutive failing status checks with the same kinds of
   * reasons: how many, and the last one's time. The row then holds the
   * latest reasons and the worst figures of the run.
   */
  checks?: { count: number; lastTs: string };
}

/** Merge window for a policy_violation recorded beside its *_blocked event. */
const SAME_DENIAL_MS = 5_000;

/**
 * A figure the policy judged: `checked[key]` is the number itself, or, in
 * lines written before decisions were made lean, `{ value, max|min, ok }`.
 */
function checkedValue(decision: Obj | undefined, key: string): number | null {
  const figure = obj(decision?.["checked"])?.[key];
  return num(figure) ?? num(obj(figure)?.["value"]) ?? null;
}

function sameReasons(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

/**
 * Policy denials: deploy_blocked, promote_blocked, policy_violation (merged
 * into the *_blocked event it accompanies), and status_scrape events whose
 * policy result was FAIL (a run of consecutive failing checks failing for
 * the same kinds of reasons is one row: latest reasons, worst figures),
 * and rollouts the analysis rolled back (`rollout_aborted` by `analysis`,
 * with the canary's figures of the rollback analysis; an operator's abort is
 * no policy denial).
 */
export function violations(events: readonly HistoryEvent[]): ViolationRow[] {
  const b = violationsBuilder();
  for (const e of events) b.add(e);
  return b.rows;
}

/** `violations` one event at a time: memory grows with the rows, not with the events. */
export function violationsBuilder(): Builder<ViolationRow> {
  const rows: ViolationRow[] = [];
  let run: ViolationRow | undefined; // the open run of failing status checks
  // The canary's figures of each rollout's last rollback analysis (one entry per rollout id).
  const rollbackFigures = new Map<string, Obj | undefined>();

  const push = (row: ViolationRow) => {
    const last = rows[rows.length - 1];
    if (
      last && last.source !== "status check" && row.source !== "status check" &&
      (last.source === "policy violation") !== (row.source === "policy violation") &&
      last.domain === row.domain && sameReasons(last.reasons, row.reasons) &&
      Math.abs(Date.parse(row.ts) - Date.parse(last.ts)) <= SAME_DENIAL_MS
    ) {
      if (last.source === "policy violation") {
        last.source = row.source;
        last.ts = row.ts;
      }
      last.error_rate_percent ??= row.error_rate_percent;
      last.p99_latency_ms ??= row.p99_latency_ms;
      return;
    }
    rows.push(row);
  };

  const add = (e: HistoryEvent): void => {
    const d = e.data;
    switch (e.event) {
      case "deploy_blocked":
      case "promote_blocked": {
        const decision = obj(d["decision"]);
        run = undefined;
        push({
          ts: e.ts,
          source: e.event === "deploy_blocked" ? "deploy blocked" : "promote blocked",
          domain: str(decision?.["domain"]) ?? "unknown",
          reasons: strs(decision?.["reasons"]),
          error_rate_percent: checkedValue(decision, "error_rate_percent"),
          p99_latency_ms: checkedValue(decision, "p99_latency_ms"),
        });
        break;
      }
      case "policy_violation":
        run = undefined;
        push({
          ts: e.ts,
          source: "policy violation",
          domain: str(d["domain"]) ?? "unknown",
          reasons: strs(d["reasons"]),
          error_rate_percent: num(d["error_rate_percent"]) ?? null,
          p99_latency_ms: num(d["p99_latency_ms"]) ?? null,
        });
        break;
      case "rollout_analysis":
        if (str(d["outcome"]) === "rollback") {
          rollbackFigures.set(str(d["id"]) ?? "", obj(d["canary"]));
        }
        break;
      case "rollout_aborted": {
        if (str(d["by"]) !== "analysis") break;
        const decision = obj(d["decision"]);
        const canary = rollbackFigures.get(str(d["id"]) ?? "");
        run = undefined;
        push({
          ts: e.ts,
          source: "rollout rolled back",
          domain: str(decision?.["domain"]) ?? "rollout",
          reasons: strs(d["reasons"]),
          error_rate_percent: num(canary?.["error_rate_percent"]) ?? null,
          p99_latency_ms: num(canary?.["p99_latency_ms"]) ?? null,
        });
        break;
      }
      case "status_scrape": {
        const policy = obj(d["policy"]);
        const failing = ["infrastructure", "canary"].filter((k) => policy?.[k] === "FAIL");
        if (failing.length === 0) {
          run = undefined;
          break;
        }
        const row: ViolationRow = {
          ts: e.ts,
          source: "status check",
          domain: failing.join(", "),
          reasons: strs(d["reasons"]),
          error_rate_percent: num(d["error_rate_percent"]) ?? null,
          p99_latency_ms: num(d["p99_latency_ms"]) ?? null,
        };
        if (run && run.domain === row.domain && sameReasonKinds(run.reasons, row.reasons)) {
          const count = (run.checks?.count ?? 1) + 1;
          run.checks = { count, lastTs: e.ts };
          run.reasons = row.reasons;
          run.error_rate_percent = maxOf(run.error_rate_percent, row.error_rate_percent);
          run.p99_latency_ms = maxOf(run.p99_latency_ms, row.p99_latency_ms);
        } else {
          rows.push(row);
          run = row;
        }
        break;
      }
      default:
        break;
    }
  };
  return { add, rows };
}

/** Reasons alike but for their figures ("Error rate 38.10% …" and "Error rate 47.50% …"). */
function sameReasonKinds(a: string[], b: string[]): boolean {
  const kind = (r: string) => r.replace(/\d+(?:\.\d+)?/g, "#");
  return a.length === b.length && a.every((r, i) => kind(r) === kind(b[i]!));
}

function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

// ---- summary ---------------------------------------------------------------

export interface Summary {
  first?: string;
  last?: string;
  events: number;
  deploys: number;
  promotions: number;
  blocked: number;
  violations: number;
  /** Rollouts started, and how many completed or were rolled back. */
  rollouts: { started: number; completed: number; rolledBack: number };
  /** From the last deploy/promote event. */
  mode?: { mode: string; ts: string; event: "deploy" | "promote" };
  /** A teardown after that event. */
  tornDownAt?: string;
}

export function summarize(events: readonly HistoryEvent[], violationRows: number): Summary {
  const b = summaryBuilder();
  for (const e of events) b.add(e);
  return b.summary(violationRows);
}

/** `summarize` one event at a time, in constant memory. */
export function summaryBuilder(): {
  add(e: HistoryEvent): void;
  summary(violations: number): Summary;
} {
  const summary: Summary = {
    events: 0,
    deploys: 0,
    promotions: 0,
    blocked: 0,
    violations: 0,
    rollouts: { started: 0, completed: 0, rolledBack: 0 },
  };
  const add = (e: HistoryEvent): void => {
    summary.events++;
    summary.first ??= e.ts;
    summary.last = e.ts;
    if (e.event === "deploy") {
      summary.deploys++;
      const mode = str(e.data["mode"]);
      if (mode) summary.mode = { mode, ts: e.ts, event: "deploy" };
      delete summary.tornDownAt;
    } else if (e.event === "promote") {
      summary.promotions++;
      const mode = str(e.data["to"]);
      if (mode) summary.mode = { mode, ts: e.ts, event: "promote" };
      delete summary.tornDownAt;
    } else if (e.event === "deploy_blocked" || e.event === "promote_blocked") {
      summary.blocked++;
    } else if (e.event === "rollout_started") {
      summary.rollouts.started++;
    } else if (e.event === "rollout_completed") {
      summary.rollouts.completed++;
    } else if (e.event === "rollout_aborted") {
      summary.rollouts.rolledBack++;
    } else if (e.event === "teardown" && summary.mode) {
      summary.tornDownAt = e.ts;
    }
  };
  return {
    add,
    summary: (violations) => ({ ...summary, rollouts: { ...summary.rollouts }, violations }),
  };
}

/** One line on the chain verification result (the report's "History chain" cell). */
export function verificationText(v: VerifyResult): string {
  if (!v.ok) return `FAILED: ${v.message}`;
  if (v.lines === 0) return "Nothing to verify yet: no history lines";
  const lines = `${v.lines} ${v.lines === 1 ? "line" : "lines"}`;
  const cp = v.seals.checkpoint !== "missing";
  const head = {
    match: "every link intact and the head file matches",
    behind: "every link intact (the head file was one line behind, as after an interrupted append)",
    missing: cp
      ? "every link intact; no head file (the checkpoint beside the key still shows removed last lines)"
      : "every link intact; no head file, so removal of the last lines cannot be detected",
    invalid: cp
      ? "every link intact; the head file is unreadable (the checkpoint beside the key still shows removed last lines)"
      : "every link intact; the head file is unreadable, so removal of the last lines cannot be detected",
  }[v.head];
  return `Verified: ${lines}, ${head}; ${sealText(v.seals, v.lines)}`;
}

function sealText(seals: SealStatus, lines: number): string {
  if (seals.sealed === 0) {
    return "unsealed (written before sealing): anyone can rewrite it and recompute the chain";
  }
  const sealed = seals.unsealed === 0
    ? `sealed: all ${lines} with HMAC-SHA256 under a key kept outside the project`
    : `sealed: ${seals.sealed} with HMAC-SHA256 under a key kept outside the project, ` +
      `after ${seals.unsealed} unsealed from before sealing (covered by the first seal)`;
  const checkpoint = {
    match: "the checkpoint beside the key matches",
    behind:
      "the checkpoint beside the key is behind (an interrupted append; the lines after it are sealed)",
    missing: "no checkpoint for this path, so removal of the newest lines is not detected",
  }[seals.checkpoint];
  return `${sealed}; ${checkpoint}`;
}
