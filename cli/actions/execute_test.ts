import assert from "node:assert/strict";
import { type Action, execute, ExecutionFailure, type Step } from "./mod.ts";

const act = (container: string): Action => ({ kind: "start", container });
const undo = (container: string): Action => ({ kind: "remove", container, reason: "undo" });

/** A perform that records what it ran and fails on the named containers. */
function recorder(failOn: string[] = []) {
  const ran: string[] = [];
  const perform = (a: Action) => {
    const name = "container" in a ? a.container : a.kind;
    ran.push(`${a.kind} ${name}`);
    if (failOn.includes(`${a.kind} ${name}`)) return Promise.reject(new Error(`${name} broke`));
    return Promise.resolve();
  };
  return { ran, perform };
}

Deno.test("execute() runs every step in order and undoes nothing when all succeed", async () => {
  const r = recorder();
  const steps: Step[] = [{ action: act("a"), undo: undo("a") }, { action: act("b") }];
  const result = await execute(steps, { perform: r.perform });
  assert.deepEqual(r.ran, ["start a", "start b"]);
  assert.deepEqual(result.undone, []);
  assert.equal(result.performed.length, 2);
});

Deno.test("execute() runs the undos of what it did, newest first, and rethrows the failure", async () => {
  const r = recorder(["start c"]);
  const lines: string[] = [];
  const steps: Step[] = [
    { action: act("a"), undo: undo("a") },
    { action: act("b") },
    { action: act("x"), undo: undo("x") },
    { action: act("c"), undo: undo("c") },
    { action: act("never"), undo: undo("never") },
  ];
  const error = await execute(steps, { perform: r.perform, log: (l) => lines.push(l) }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(error instanceof ExecutionFailure);
  assert.equal(error.message, "c broke");
  assert.equal((error.cause as Error).message, "c broke");
  assert.deepEqual(error.failed, act("c"));
  // The failed step's own undo does not run: it did not complete.
  assert.deepEqual(r.ran, ["start a", "start b", "start x", "start c", "remove x", "remove a"]);
  assert.deepEqual(error.undone, [undo("x"), undo("a")]);
  assert.deepEqual(lines.slice(-2), ['undo: remove "x": undo', 'undo: remove "a": undo']);
});

Deno.test("execute() keeps undoing when an undo fails, and reports it beside the cause", async () => {
  const r = recorder(["start c", "remove b"]);
  const steps: Step[] = [
    { action: act("a"), undo: undo("a") },
    { action: act("b"), undo: undo("b") },
    { action: act("c") },
  ];
  const error = await execute(steps, { perform: r.perform }).catch((e) => e);
  assert.ok(error instanceof ExecutionFailure);
  assert.equal(error.message, "c broke");
  assert.equal(error.committed, false);
  assert.deepEqual(r.ran.slice(-2), ["remove b", "remove a"]);
  assert.deepEqual(error.undone, [undo("a")]);
  assert.equal(error.undoFailures.length, 1);
  assert.deepEqual(error.undoFailures[0]!.action, undo("b"));
});

Deno.test("execute() undoes nothing from before a commit", async () => {
  const r = recorder(["start d"]);
  const steps: Step[] = [
    { action: act("a"), undo: undo("a") },
    { action: { kind: "commit" } },
    { action: act("b"), undo: undo("b") },
    { action: act("d") },
  ];
  const error = await execute(steps, { perform: r.perform }).catch((e) => e);
  assert.ok(error instanceof ExecutionFailure);
  assert.deepEqual(r.ran, ["start a", "start b", "start d", "remove b"]);
  assert.equal(error.committed, true, "past the commit: the switch stands");
});
