/**
 * The engine side of a change: observe a project's state, apply a desired
 * stack (diff and execute from cli/actions, with this folder's `perform`),
 * and remove a stack.
 */
export {
  type ApplyOptions,
  type ApplyResult,
  applyStack,
  confirmThroughNginx,
  observeStack,
  perform,
  type PerformOptions,
  removeStack,
  routeTable,
  waitHealthy,
} from "./_apply.ts";
