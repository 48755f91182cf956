/**
 * `swiftdeploy lock status|release`. The lock is a kernel lock that ends
 * with its holder (see cli/lock/mod.ts): `release` cannot take it from a
 * running change; it clears the record a killed change left behind.
 */
import type { Context } from "./context.ts";
import { clearLock, describeHolder, lockStatus } from "../lock/mod.ts";
import { lockPath } from "./_shared.ts";

/** Prints who holds the lock; 1 when held, 0 when free. */
export async function runLockStatus(ctx: Context): Promise<number> {
  const state = await lockStatus(lockPath(ctx));
  if (state.held) {
    ctx.term.out(
      `locked by ${
        state.holder ? describeHolder(state.holder) : "a process that has just started"
      }`,
    );
    return 1;
  }
  ctx.term.out(
    state.interrupted
      ? `unlocked; the last change, ${
        describeHolder(state.interrupted)
      }, ended without releasing it (killed or crashed)`
      : "unlocked",
  );
  return 0;
}

/** Clears a killed change's record; exits 4 (LOCKED) while a change holds the lock. */
export async function runLockRelease(ctx: Context): Promise<number> {
  const cleared = await clearLock(lockPath(ctx));
  ctx.term.out(
    cleared
      ? `unlocked: cleared the record of ${describeHolder(cleared)}, which ended without releasing`
      : "unlocked: nothing to release",
  );
  return 0;
}
