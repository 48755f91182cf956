/**
 * Collects a change's evidence while it runs: each policy decision with its
 * exact input (by wrapping the evaluator), the gates, the executed actions,
 * named timings and health results. Holds data only; the command writes it
 * with `writeRelease` when the change ends, whatever its outcome.
 */
import type { Decision, Domain, PolicyEvaluator } from "../policy/mod.ts";
import { decisionGate } from "./_record.ts";
import type { ActionEntry, DecisionEntry, GateRow, ReleaseRecord } from "./types.ts";

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

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
    this.started = now();
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
