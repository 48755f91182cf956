/**
 * Changes as data (issue 12 item 1): `diffStack` turns the desired plan and
 * the observed engine state into ordered steps, each an action with its
 * undo; `describeSteps` prints them (`--dry-run`); `execute` runs them
 * through a supplied `perform` and undoes what it did, in reverse, when one
 * fails. Pure: the engine is touched only by the `perform` of cli/deploy.
 */
export {
  type Action,
  type ActionKind,
  changesSomething,
  describeAction,
  describeSteps,
  describeTable,
  type Notify,
  type RouteTable,
  type Step,
} from "./_action.ts";
export {
  appScrapeTargets,
  chooseAddressing,
  type DesiredStack,
  diffStack,
  DRAIN_GRACE_SECONDS,
  nginxConfPath,
  plannedAddress,
  policyDataPath,
  RELOAD_SETTLE_MS,
  sameTable,
  stagedBody,
} from "./_diff.ts";
export {
  execute,
  type ExecuteHooks,
  type ExecuteResult,
  ExecutionFailure,
  type UndoFailure,
} from "./_execute.ts";
export {
  canServe,
  type ObservedContainer,
  type ObservedObject,
  type ObservedState,
} from "./_observed.ts";
