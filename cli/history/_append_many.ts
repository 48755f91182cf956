/**
 * Test helper, run as its own process by concurrency_test.ts:
 *
 *   deno run -A cli/history/_append_many.ts <file> <count> <worker>
 *
 * Appends <count> events to <file> as fast as it can.
 */

import { appendEvent } from "./_append.ts";

const [file, countArg, worker] = Deno.args;
if (!file || !countArg || !worker) {
  console.error("usage: _append_many.ts <file> <count> <worker>");
  Deno.exit(2);
}
const count = Number(countArg);
for (let seq = 0; seq < count; seq++) {
  await appendEvent(file, "policy_violation", {
    domain: `worker-${worker}`,
    reasons: [`event ${seq} of ${count}`],
    error_rate_percent: seq,
  });
}
