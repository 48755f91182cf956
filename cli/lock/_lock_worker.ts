/**
 * Test helper, run as its own process by lock_test.ts:
 *
 *   deno run -A cli/lock/_lock_worker.ts contend <lock> <probe> <entries>
 *     Enters the lock <entries> times, retrying whenever it is refused
 *     (exit 4, LOCKED). Inside, it appends "+<pid>" to <probe>, waits 2 ms,
 *     appends "-<pid>" (one O_APPEND write each), then releases. Prints the
 *     number of refusals it met.
 *   deno run -A cli/lock/_lock_worker.ts hold <lock>
 *     Takes the lock, prints "ready", and holds it until killed.
 */

import { acquireLock } from "./mod.ts";
import { SwiftDeployError } from "../errors/mod.ts";

const [mode, lockPath, probe, entriesArg] = Deno.args;
if (!lockPath || (mode === "contend" && (!probe || !entriesArg))) {
  console.error("usage: _lock_worker.ts contend <lock> <probe> <entries> | hold <lock>");
  Deno.exit(2);
}

if (mode === "hold") {
  await acquireLock(lockPath, "hold");
  console.log("ready");
  setInterval(() => {}, 60_000); // keeps the process (and the lock) alive until killed
  await new Promise(() => {});
}

const encoder = new TextEncoder();
const mark = (sign: string) =>
  Deno.writeFile(probe!, encoder.encode(`${sign}${Deno.pid}\n`), { append: true });
let refused = 0;
for (let entered = 0; entered < Number(entriesArg); entered++) {
  while (true) {
    try {
      const lock = await acquireLock(lockPath, `contend ${entered}`);
      await mark("+");
      await new Promise((r) => setTimeout(r, 2));
      await mark("-");
      await lock.release();
      break;
    } catch (error) {
      if (!(error instanceof SwiftDeployError) || error.code !== "LOCKED") throw error;
      refused++;
      await new Promise((r) => setTimeout(r, Math.random() * 3));
    }
  }
}
console.log(String(refused));
