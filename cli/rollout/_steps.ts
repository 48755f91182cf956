/**
 * A rollout's transitions as action steps (cli/actions), so they print,
 * record and undo like every other change: a weight, the completion (the
 * canary takes all traffic, the old stable drains) and an abort (the
 * canary's weight goes to 0, it drains). Pure.
 */
import {
  DRAIN_GRACE_SECONDS,
  RELOAD_SETTLE_MS,
  type RouteTable,
  type Step,
} from "../actions/mod.ts";
import type { RouteTarget } from "../routing/mod.ts";
import type { RolloutState, RolloutVariant } from "./_state.ts";

function target(v: RolloutVariant): RouteTarget {
  return { address: v.address, version: v.version, container: v.container };
}

/** The routing table of `state` with the canary at `weight` percent. */
export function tableAt(state: RolloutState, weight: number): RouteTable {
  return { stable: target(state.stable), canary: { ...target(state.canary), weight } };
}

/** Route `weight` percent to the canary; the undo restores the current weight. */
export function weightSteps(state: RolloutState, weight: number): Step[] {
  return [{
    action: {
      kind: "route",
      table: tableAt(state, weight),
      reason: `step ${state.step_index + 1}: canary weight ${weight} %`,
    },
    undo: { kind: "route", table: tableAt(state, state.weight), reason: "rolled back" },
  }];
}

/** All traffic to the canary, which is stable from now on; the old stable drains. */
export function completionSteps(state: RolloutState): Step[] {
  return [
    {
      action: {
        kind: "route",
        table: { stable: target(state.canary) },
        reason: `rollout complete: all traffic to "${state.canary.container}"`,
      },
    },
    { action: { kind: "commit" } },
    {
      action: {
        kind: "settle",
        ms: RELOAD_SETTLE_MS,
        reason: "requests nginx sent before the switch reach the old stable",
      },
    },
    {
      action: {
        kind: "drain",
        container: state.stable.container,
        graceSeconds: DRAIN_GRACE_SECONDS,
      },
    },
  ];
}

/** All traffic back to stable at once; the canary drains and is removed. */
export function abortSteps(state: RolloutState): Step[] {
  return [
    {
      action: {
        kind: "route",
        table: { stable: target(state.stable) },
        reason: `rollback: canary "${state.canary.container}" to weight 0`,
      },
    },
    { action: { kind: "commit" } },
    {
      action: {
        kind: "settle",
        ms: RELOAD_SETTLE_MS,
        reason: "requests nginx sent to the canary before the rollback finish",
      },
    },
    {
      action: {
        kind: "drain",
        container: state.canary.container,
        graceSeconds: DRAIN_GRACE_SECONDS,
      },
    },
  ];
}
