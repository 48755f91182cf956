/**
 * The test-only allocate chaos (issue 17): off unless the handler is told
 * (main.ts: only with SWIFTDEPLOY_TEST_ALLOCATE_CHAOS=1), then it allocates
 * until stopped.
 */
import assert from "node:assert/strict";
import { ALLOCATE_STEP_BYTES, allocateWithoutBound, isAllocateCommand } from "./chaos.ts";
import { createHandler } from "./handler.ts";

const post = (body: string) =>
  new Request("http://app/chaos", {
    method: "POST",
    body,
    headers: { "Content-Type": "application/json" },
  });

Deno.test("POST /chaos allocate is an unknown mode (400) unless enabled", async () => {
  const handler = createHandler({ mode: "canary", version: "1" });
  const res = await handler(post('{"mode":"allocate"}'));
  assert.equal(res.status, 400);
  assert.match(await res.text(), /unknown mode \\"allocate\\"/);
});

Deno.test("isAllocateCommand() takes the allocate command and nothing else", () => {
  assert.ok(isAllocateCommand({ mode: "allocate" }));
  assert.ok(isAllocateCommand({ operation: "allocate" }));
  assert.ok(!isAllocateCommand({ mode: "allocate", rate: 1 }));
  assert.ok(!isAllocateCommand({ mode: "error" }));
  assert.ok(!isAllocateCommand({}));
  assert.ok(!isAllocateCommand(["allocate"]));
});

Deno.test("allocateWithoutBound() keeps writing new buffers until stopped", async () => {
  const kept: Uint8Array[] = [];
  const stop = new Error("stop");
  await assert.rejects(
    allocateWithoutBound((b) => {
      kept.push(b);
      if (kept.length === 3) throw stop;
    }, () => Promise.resolve()),
    (e) => e === stop,
  );
  assert.equal(kept.length, 3);
  for (const b of kept) {
    assert.equal(b.byteLength, ALLOCATE_STEP_BYTES);
    assert.equal(b[b.length - 1], 1, "written, so its pages are resident");
  }
});
