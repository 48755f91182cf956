/**
 * Progressive delivery on one host (issue 13): a rollout is a persisted
 * state machine (`_state.ts`, `_machine.ts`: pure) whose transitions are
 * action steps (`_steps.ts`: pure), walked by a driver (`_driver.ts`) that
 * holds the change lock for each transition only, and persisted beside the
 * stack (`_store.ts`). The analysis is Rego's (`swiftdeploy.rollout`); the
 * driver only collects figures and follows the decision.
 */
export type {
  AnalysisRecord,
  RolloutPhase,
  RolloutState,
  RolloutVariant,
  VariantFigures,
} from "./_state.ts";
export {
  advance,
  analysed,
  analysisInput,
  decideAbort,
  decideComplete,
  describeStep,
  finished,
  isActive,
  isoSeconds,
  type Move,
  newRollout,
  nextMove,
  paused,
  resumed,
  weightSet,
} from "./_machine.ts";
export { abortSteps, completionSteps, tableAt, weightSteps } from "./_steps.ts";
export {
  abort,
  complete,
  drive,
  type DriveOutcome,
  type DriverDeps,
  outcomeOf,
  type VariantWindow,
} from "./_driver.ts";
export {
  driverAlive,
  driverLockPath,
  readRolloutEvidence,
  readRolloutState,
  rolloutDir,
  rolloutEvidencePath,
  rolloutStatePath,
  tryDriverLock,
  writeRolloutEvidence,
  writeRolloutState,
} from "./_store.ts";
