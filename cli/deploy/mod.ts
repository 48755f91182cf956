/** Applying a plan to the engine: converge, switch traffic, drain; and removing a stack. */
export {
  type ApplyOptions,
  type ApplyResult,
  applyStack,
  removeStack,
  waitHealthy,
} from "./_apply.ts";
