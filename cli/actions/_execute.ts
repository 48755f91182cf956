/**
 * The executor: runs steps in order through a `perform` function (the only
 * part that touches the engine, supplied by cli/deploy), remembers the undo
 * of each step that completed, and on a failure runs those undos in reverse
 * before rethrowing the failure. A `commit` step forgets the undos: past it
 * the new stack serves and nothing is rolled back. Pure: no I/O of its own.
 */
import { type Action, describeAction, type Step } from "./_action.ts";

export interface ExecuteHooks {
  /** Does what one action says; throws on failure. */
  perform: (action: Action) => Promise<void>;
  /** Called before each action and each undo, with its one-line description. */
  log?: (line: string) => void;
}

/** What a run did: the actions performed, and the undos run after a failure (in their order). */
export interface ExecuteResult {
  performed: Action[];
  undone: Action[];
}

/** An undo that failed too; kept beside the original failure, never instead of it. */
export interface UndoFailure {
  action: Action;
  error: unknown;
}

/** Thrown by `execute` when a step failed: carries the cause and what was rolled back. */
export class ExecutionFailure extends Error {
  readonly failed: Action;
  readonly undone: Action[];
  readonly undoFailures: UndoFailure[];
  /**
   * True when the failed step came after a `commit`: the new stack serves
   * and nothing was undone; only the tidying after the switch is unfinished.
   */
  readonly committed: boolean;
  constructor(
    failed: Action,
    cause: unknown,
    undone: Action[],
    undoFailures: UndoFailure[],
    committed = false,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "ExecutionFailure";
    this.failed = failed;
    this.undone = undone;
    this.undoFailures = undoFailures;
    this.committed = committed;
  }
}

/**
 * Runs `steps`. On a failure, runs the undos of the completed steps since
 * the last commit, newest first (an undo that fails is logged and the rest
 * still run), then throws an `ExecutionFailure` whose `cause` is the
 * original error.
 */
export async function execute(steps: readonly Step[], hooks: ExecuteHooks): Promise<ExecuteResult> {
  const performed: Action[] = [];
  let undos: Action[] = [];
  let committed = false;
  for (const step of steps) {
    if (step.action.kind === "commit") {
      undos = [];
      committed = true;
      performed.push(step.action);
      continue;
    }
    hooks.log?.(describeAction(step.action));
    try {
      await hooks.perform(step.action);
    } catch (error) {
      const undone: Action[] = [];
      const undoFailures: UndoFailure[] = [];
      for (const undo of undos.reverse()) {
        hooks.log?.(`undo: ${describeAction(undo)}`);
        try {
          await hooks.perform(undo);
          undone.push(undo);
        } catch (undoError) {
          undoFailures.push({ action: undo, error: undoError });
          hooks.log?.(`undo failed: ${(undoError as Error)?.message ?? String(undoError)}`);
        }
      }
      throw new ExecutionFailure(step.action, error, undone, undoFailures, committed);
    }
    performed.push(step.action);
    if (step.undo) undos.push(step.undo);
  }
  return { performed, undone: [] };
}
