/**
 * Collects a change's evidence while it runs: each policy decision with its
 * exact input (by wrapping the evaluator), the gates, the executed actions,
 * named timings and health results. Holds data only; the command writes it
 * with `writeRelease` when the change ends, whatever its outcome.
 */
import type { Decision, Domain, PolicyEvaluator } from "../policy/mod.ts";
import { decisionGate } from "./_record.ts";
import type { ActionEntry, DecisionEntry, GateRow, ReleaseRecord } from "./types.ts";

/**
 * A recorder's evidence as plain JSON: what a change that outlives its
 * process (a rollout: started by `deploy`, ended by whichever process
 * completes or aborts it) persists at its start and restores at its end.
 */
export interface RecorderSnapshot {
  /** ISO 8601 UTC when the change started. */
  started_at: string;
  decisions: DecisionEntry[];
  gates: GateRow[];
  actions: ActionEntry[];
  /** Named timings, ms. */
  timings: Record<string, number>;
  health: ReleaseRecord["health"];
}

/** Evidence gathered so far by one change. */
export class ReleaseRecorder {
  /** When the change started. */
  readonly started: Date;
  readonly decisions: DecisionEntry[] = [];
  readonly gates: GateRow[] = [];
  readonly actions: ActionEntry[] = [];
  readonly timings: Record<string, number> = {};
  readonly health: ReleaseRecord["health"] = [];
  #now: () => Date;

  /**
   * @param now the clock (tests pin it)
   * @param from evidence gathered earlier (by another process): its start
   *   time and entries are kept, this recorder appends to them
   */
  constructor(now: () => Date = () => new Date(), from?: RecorderSnapshot) {
    this.#now = now;
    const at = from ? new Date(from.started_at) : undefined;
    this.started = at && !Number.isNaN(at.getTime()) ? at : now();
    if (from) {
      this.decisions.push(...(from.decisions ?? []));
      this.gates.push(...(from.gates ?? []));
      this.actions.push(...(from.actions ?? []));
      Object.assign(this.timings, from.timings ?? {});
      this.health.push(...(from.health ?? []));
    }
  }

  /** The evidence so far as plain JSON (see `RecorderSnapshot`); restored by the constructor. */
  snapshot(): RecorderSnapshot {
    return {
      started_at: this.started.toISOString(),
      decisions: [...this.decisions],
      gates: [...this.gates],
      actions: [...this.actions],
      timings: { ...this.timings },
      health: [...this.health],
    };
  }

  /** Records a decision and its gate row; `limits` is the data the policy judged against. */
  decision(domain: string, input: unknown, decision: Decision, limits?: Record<string, unknown>) {
    const entry: DecisionEntry = {
      at: this.#now().toISOString(),
      domain,
      input,
      decision: {
        allow: decision.allow,
        reasons: decision.reasons,
        domain: decision.domain,
        checked: decision.checked,
      },
    };
    this.decisions.push(entry);
    this.gates.push(decisionGate(entry, limits));
  }

  /** Records a gate that is not a policy decision (validate, health, confirm through nginx). */
  gate(name: string, result: GateRow["result"], figure = "", limit = ""): void {
    this.gates.push({ name, result, figure, limit, at: this.#now().toISOString() });
  }

  /** Records a named timing in ms (rounded to 0.1 ms). */
  time(name: string, ms: number): void {
    this.timings[name] = Math.round(ms * 10) / 10;
  }

  /** Appends executed actions. */
  steps(entries: readonly ActionEntry[]): void {
    this.actions.push(...entries);
  }

  /** Milliseconds since the change started. */
  elapsedMs(): number {
    return this.#now().getTime() - this.started.getTime();
  }

  /**
   * The evaluator with every answer recorded (input as given, decision as
   * returned). `limitsFor(domain)` names the data each domain judged against.
   */
  wrap(
    evaluator: PolicyEvaluator,
    limitsFor: (domain: Domain) => Record<string, unknown> | undefined = () => undefined,
  ): PolicyEvaluator {
    const wrapped: PolicyEvaluator = {
      engine: evaluator.engine,
      evaluate: async (domain, input) => {
        const d = await evaluator.evaluate(domain, input);
        this.decision(domain, input, d, limitsFor(domain));
        return d;
      },
    };
    if (evaluator.close) wrapped.close = () => evaluator.close!();
    return wrapped;
  }
}
