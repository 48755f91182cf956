/** Pieces every lifecycle command uses: the evaluator, the history, the lock path, decision display. */
import { join } from "node:path";
import type { Context } from "./context.ts";
import { appendEvent, type EventDataMap, type EventName, type ReleaseRef } from "../history/mod.ts";
import type { LoadedManifest } from "../manifest/mod.ts";
import {
  createSidecarEvaluator,
  createWasmEvaluator,
  type Decision,
  formatDecision,
  type PolicyEvaluator,
} from "../policy/mod.ts";
import type { Terminal } from "../term/mod.ts";
import type { HostFigures } from "../host/mod.ts";

export function historyPath(loaded: LoadedManifest): string {
  return join(loaded.dir, loaded.manifest.audit.history_file);
}

export function lockPath(ctx: Context): string {
  return join(ctx.stateDir, "lock.json");
}

export function record<E extends EventName>(
  loaded: LoadedManifest,
  event: E,
  data: EventDataMap[E],
): Promise<unknown> {
  return appendEvent(historyPath(loaded), event, data, { projectDir: loaded.dir });
}

export function opaUrl(loaded: LoadedManifest): string {
  return `http://127.0.0.1:${loaded.manifest.opa.port}`;
}

export function nginxUrl(loaded: LoadedManifest, path: string): string {
  return `http://127.0.0.1:${loaded.manifest.nginx.port}${path}`;
}

/** The evaluator the global --policy-engine option selects; both fail closed. */
export async function openEvaluator(
  ctx: Context,
  loaded: LoadedManifest,
  policyData: string,
): Promise<PolicyEvaluator> {
  if (ctx.policyEngine === "sidecar") {
    return createSidecarEvaluator({
      url: opaUrl(loaded),
      timeoutMs: loaded.manifest.opa.decision_timeout_seconds * 1000,
    });
  }
  return await createWasmEvaluator({
    bundleDir: join(ctx.home, "build", "policy"),
    policiesDir: join(ctx.home, "policies"),
    data: JSON.parse(policyData),
  });
}

/**
 * The pre-deploy gate: asks `swiftdeploy.infrastructure` with the host's
 * figures and prints the decision; a denial is recorded (`deploy_blocked`,
 * `policy_violation` with the figures) and the caller must stop.
 *
 * @returns true when the policy allows the deploy
 */
export async function infrastructureAllows(
  term: Terminal,
  loaded: LoadedManifest,
  evaluator: PolicyEvaluator,
  figures: HostFigures,
  /** Runs on a denial before anything is recorded: writes the evidence bundle the event names. */
  onDenied?: (decision: Decision) => Promise<ReleaseRef | undefined>,
): Promise<boolean> {
  const decision = await evaluator.evaluate("infrastructure", figures);
  printDecision(term, decision);
  if (decision.allow) return true;
  const release = await onDenied?.(decision);
  await record(loaded, "deploy_blocked", { decision, ...(release ? { release } : {}) });
  await record(loaded, "policy_violation", {
    domain: "infrastructure",
    reasons: decision.reasons,
    ...figures,
  });
  return false;
}

/** Prints a decision as in seed 000: "✔ Policy [x] ALLOWED" or "✘ Policy [x] DENIED" and "  ! reason" lines. */
export function printDecision(term: Terminal, decision: Decision): void {
  const lines = formatDecision(decision);
  const [first, ...rest] = lines;
  if (first) term.out(decision.allow ? term.green(first) : term.red(first));
  for (const l of rest) term.out(decision.allow ? l : term.yellow(l));
}
