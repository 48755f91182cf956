/** `swiftdeploy lock status|release`. */
import type { Context } from "../context.ts";
import { describeHolder, isStale, readLock, releaseLock } from "../lock/mod.ts";
import { lockPath } from "./_shared.ts";

export async function runLockStatus(ctx: Context): Promise<number> {
  const holder = await readLock(lockPath(ctx));
  if (!holder) {
    ctx.term.out("unlocked");
    return 0;
  }
  ctx.term.out(
    `locked by ${describeHolder(holder)}${
      isStale(holder) ? " — that process is gone (stale)" : ""
    }`,
  );
  return 1;
}

export async function runLockRelease(ctx: Context): Promise<number> {
  const holder = await releaseLock(lockPath(ctx));
  ctx.term.out(holder ? `released the lock of ${describeHolder(holder)}` : "no lock to release");
  return 0;
}
