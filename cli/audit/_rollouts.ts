/**
 * The report's "Rollouts" section: one timeline per rollout id, built from
 * the `rollout_*` events (cli/history/_events.ts). Pure. As everywhere in
 * the audit, event data is read defensively: a field may be missing or of
 * another type, and events of a rollout whose `rollout_started` lies in a
 * segment no longer kept are still grouped under their id.
 */

import type { HistoryEvent } from "../history/mod.ts";
import { formatDuration, formatMs, formatPercent, num, obj, str, strs } from "./_model.ts";

type Obj = Readonly<Record<string, unknown>>;

/** One row of a rollout's timeline. */
export interface RolloutRow {
  ts: string;
  /** `Started`, `Step 1: weight`, `Step 3: analysis → rollback`, `Paused`, `Completed`, … */
  event: string;
  /** The canary's weight, percent, or its change (`10 % → 50 %`); `—` when unknown. */
  weight: string;
  details: string;
}

/** How a rollout ended, or that it has not (as far as the history shows). */
export type RolloutEnd =
  | { kind: "completed"; ts: string; version?: string; durationMs?: number }
  | { kind: "rolled back"; ts: string; by: string; reasons: string[]; step?: number }
  | { kind: "in progress" };

/** One rollout as the report shows it. */
export interface RolloutTimeline {
  id: string;
  stable?: { version?: string; container?: string };
  canary?: { version?: string; container?: string };
  rows: RolloutRow[];
  end: RolloutEnd;
  /** Analyses by outcome. */
  analyses: { continue: number; hold: number; rollback: number };
}

const NONE = "—";

/** `weight 10 %`, `pause 60 s`, `analysis` (one manifest step, read defensively). */
export function stepText(step: unknown): string {
  const s = obj(step);
  if (num(s?.["weight"]) !== undefined) return `weight ${num(s!["weight"])} %`;
  if (num(s?.["pause_seconds"]) !== undefined) return `pause ${num(s!["pause_seconds"])} s`;
  if (s && "analysis" in s) {
    const w = num(obj(s["analysis"])?.["window_seconds"]);
    return w === undefined ? "analysis" : `analysis (${w} s window)`;
  }
  return "unknown step";
}

/** `40 requests, 7.50% errors, P99 50 ms` (a variant's figures over an analysis window). */
export function figuresText(figures: unknown): string {
  const f = obj(figures);
  if (!f) return "no figures";
  const requests = num(f["requests"]);
  const above = num(f["p99_above_ms"]);
  const p99 = above !== undefined ? `above ${formatMs(above)}` : formatMs(num(f["p99_latency_ms"]));
  const unknown = str(f["unknown"]);
  return [
    requests === undefined
      ? "requests unknown"
      : `${requests} ${requests === 1 ? "request" : "requests"}`,
    `${formatPercent(num(f["error_rate_percent"]))} errors`,
    `P99 ${p99}`,
    ...(unknown ? [`unknown: ${unknown}`] : []),
  ].join(", ");
}

function variant(v: unknown): { version?: string; container?: string } | undefined {
  const o = obj(v);
  if (!o) return undefined;
  const version = str(o["version"]);
  const container = str(o["container"]);
  return { ...(version ? { version } : {}), ...(container ? { container } : {}) };
}

function variantText(v: { version?: string; container?: string } | undefined): string {
  if (!v) return "unknown";
  return `${v.version ?? "unknown version"}${v.container ? ` (${v.container})` : ""}`;
}

const stepNo = (d: Obj) => {
  const s = num(d["step"]);
  return s === undefined ? undefined : s + 1;
};

const pct = (v: number | undefined) => (v === undefined ? NONE : `${v} %`);

/**
 * Builds the rollouts one event at a time, in history order (other events
 * are ignored): memory grows with the rows, one per rollout event.
 * `rollouts` lists them by first appearance.
 */
export function rolloutsBuilder(): {
  add(e: HistoryEvent): void;
  readonly rollouts: RolloutTimeline[];
} {
  const rollouts: RolloutTimeline[] = [];
  const byId = new Map<string, RolloutTimeline>();
  const of = (id: string): RolloutTimeline => {
    let r = byId.get(id);
    if (!r) {
      r = {
        id,
        rows: [],
        end: { kind: "in progress" },
        analyses: { continue: 0, hold: 0, rollback: 0 },
      };
      byId.set(id, r);
      rollouts.push(r);
    }
    return r;
  };
  const add = (e: HistoryEvent): void => {
    if (!e.event.startsWith("rollout_")) return;
    const d = e.data;
    const r = of(str(d["id"]) ?? "unknown");
    const row = (event: string, weight: string, details: string[]) =>
      r.rows.push({ ts: e.ts, event, weight, details: details.filter(Boolean).join("; ") });
    const at = (label: string) => {
      const n = stepNo(d);
      return n === undefined ? label : `${label} at step ${n}`;
    };
    switch (e.event) {
      case "rollout_started": {
        const stable = variant(d["stable"]);
        const canary = variant(d["canary"]);
        if (stable) r.stable = stable;
        if (canary) r.canary = canary;
        const steps = Array.isArray(d["steps"]) ? d["steps"] : undefined;
        row("Started", "0 %", [
          `${variantText(stable)} → ${variantText(canary)}`,
          steps
            ? `${steps.length} ${steps.length === 1 ? "step" : "steps"}: ${
              steps.map(stepText).join(", ") || "none"
            } (then 100 %)`
            : "",
        ]);
        break;
      }
      case "rollout_step": {
        const from = num(d["previous_weight"]);
        const to = num(d["weight"]);
        const ms = num(d["ms"]);
        const n = stepNo(d);
        row(
          n === undefined ? "Weight" : `Step ${n}: weight`,
          from === undefined ? pct(to) : `${pct(from)} → ${pct(to)}`,
          [ms === undefined ? "" : `in effect at nginx in ${formatDuration(ms)}`],
        );
        break;
      }
      case "rollout_analysis": {
        const outcome = str(d["outcome"]) ?? "unknown";
        if (outcome === "continue" || outcome === "hold" || outcome === "rollback") {
          r.analyses[outcome]++;
        }
        const n = stepNo(d);
        const window = num(d["window_seconds"]);
        const reasons = strs(d["reasons"]);
        row(
          `${n === undefined ? "Analysis" : `Step ${n}: analysis`} → ${outcome}`,
          pct(num(d["weight"])),
          [
            `canary: ${figuresText(d["canary"])}`,
            `stable: ${figuresText(d["stable"])}`,
            window === undefined ? "" : `${window} s window`,
            reasons.length ? `reasons: ${reasons.join("; ")}` : "",
          ],
        );
        break;
      }
      case "rollout_paused":
      case "rollout_resumed": {
        const by = str(d["by"]);
        row(at(e.event === "rollout_paused" ? "Paused" : "Resumed"), NONE, [by ? `by ${by}` : ""]);
        break;
      }
      case "rollout_promoted": {
        const decision = obj(d["decision"]);
        const reasons = strs(decision?.["reasons"]);
        row(at("Promoted"), NONE, [
          "remaining steps skipped",
          decision
            ? `${str(decision["domain"]) ?? "rollout"} policy ${
              decision["allow"] === true ? "allowed" : "decided"
            }${reasons.length ? `: ${reasons.join("; ")}` : ""}`
            : "",
        ]);
        break;
      }
      case "rollout_completed": {
        const version = str(d["version"]) ?? r.canary?.version;
        const durationMs = num(d["duration_ms"]);
        r.end = {
          kind: "completed",
          ts: e.ts,
          ...(version ? { version } : {}),
          ...(durationMs === undefined ? {} : { durationMs }),
        };
        row("Completed", "100 %", [
          `${version ?? "the canary"} is stable`,
          durationMs === undefined ? "" : `took ${formatDuration(durationMs)}`,
        ]);
        break;
      }
      case "rollout_aborted": {
        const by = str(d["by"]) ?? "unknown";
        const reasons = strs(d["reasons"]);
        const from = num(d["weight"]);
        const step = stepNo(d);
        r.end = {
          kind: "rolled back",
          ts: e.ts,
          by,
          reasons,
          ...(step === undefined ? {} : { step }),
        };
        row(at(`Rolled back by ${by}`), from === undefined ? "0 %" : `${pct(from)} → 0 %`, [
          reasons.length ? reasons.join("; ") : "no reason given",
        ]);
        break;
      }
    }
  };
  return { add, rollouts };
}

/** The rollouts of `events` (see `rolloutsBuilder`). */
export function rollouts(events: readonly HistoryEvent[]): RolloutTimeline[] {
  const b = rolloutsBuilder();
  for (const e of events) b.add(e);
  return b.rollouts;
}

/** One line on how a rollout ended: `completed at …`, `rolled back by analysis at step 3: …`. */
export function rolloutOutcomeText(r: RolloutTimeline, time: (ts: string) => string): string {
  const versions = `${r.stable?.version ?? "unknown"} → ${r.canary?.version ?? "unknown"}`;
  const end = r.end;
  switch (end.kind) {
    case "completed":
      return `${versions}: completed at ${time(end.ts)}` +
        (end.durationMs === undefined ? "" : ` after ${formatDuration(end.durationMs)}`);
    case "rolled back":
      return `${versions}: rolled back by ${end.by}` +
        (end.step === undefined ? "" : ` at step ${end.step}`) + ` at ${time(end.ts)}: ` +
        (end.reasons.length ? end.reasons.join("; ") : "no reason given");
    case "in progress":
      return `${versions}: no end recorded (in progress, or the run was killed: ` +
        "`swiftdeploy rollout status` tells)";
  }
}
