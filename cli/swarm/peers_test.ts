import assert from "node:assert/strict";
import type { Task } from "./_api.ts";
import { comparePeers, parsePeers, runningTaskAddresses } from "./_peers.ts";

function task(
  desired: string,
  state: string,
  attachments: { net: string; addresses: string[] }[],
): Task {
  return {
    ID: crypto.randomUUID(),
    ServiceID: "s",
    DesiredState: desired,
    Status: { State: state, Timestamp: "2026-12-01T00:00:00Z" },
    Spec: {},
    NetworksAttachments: attachments.map((a) => ({
      Network: { Spec: { Name: a.net } },
      Addresses: a.addresses,
    })),
  } as unknown as Task;
}

Deno.test("parsePeers reads each worker's list, and '-' as a worker without a DNS answer", () => {
  const text =
    "worker 0 1764547200.123 10.0.1.9 10.0.1.5\nworker 1 -\n\nnoise\nworker 2 1764547200.5\n";
  assert.deepEqual(parsePeers(text), [
    { worker: 0, addresses: ["10.0.1.5", "10.0.1.9"] },
    { worker: 1, addresses: undefined },
    { worker: 2, addresses: [] },
  ]);
});

Deno.test("runningTaskAddresses: running tasks' addresses on the project's overlay only, no prefix", () => {
  const tasks = [
    task("running", "running", [
      { net: "ingress", addresses: ["10.0.0.4/24"] },
      { net: "p-net", addresses: ["10.0.1.7/24"] },
    ]),
    task("running", "running", [{ net: "p-net", addresses: ["10.0.1.3/24"] }]),
    // Starting (not yet healthy), and an old one being shut down: not in DNS.
    task("running", "starting", [{ net: "p-net", addresses: ["10.0.1.8/24"] }]),
    task("shutdown", "running", [{ net: "p-net", addresses: ["10.0.1.2/24"] }]),
  ];
  assert.deepEqual(runningTaskAddresses(tasks, "p-net"), ["10.0.1.3", "10.0.1.7"]);
});

Deno.test("comparePeers: done only when every worker lists exactly the running tasks", () => {
  const want = ["10.0.1.3", "10.0.1.5", "10.0.1.7"];
  // All workers agree (order aside).
  const ok = comparePeers([
    { worker: 0, addresses: ["10.0.1.7", "10.0.1.3", "10.0.1.5"] },
    { worker: 1, addresses: ["10.0.1.3", "10.0.1.5", "10.0.1.7"] },
  ], want);
  assert.equal(ok.done, true);
  assert.equal(ok.agreeing, 2);
  assert.equal(ok.line, "nginx workers listing the 3 app task(s): 2/2");

  // The CI failure: a worker whose last answer predates the third task.
  const lagging = comparePeers([
    { worker: 0, addresses: want },
    { worker: 1, addresses: ["10.0.1.3", "10.0.1.5"] },
  ], want);
  assert.equal(lagging.done, false);
  assert.equal(
    lagging.line,
    "nginx workers listing the 3 app task(s): 1/2 [worker 1: missing 10.0.1.7]",
  );

  // After a scale down: a worker still lists a stopped task.
  const stale = comparePeers([{ worker: 0, addresses: [...want, "10.0.1.9"] }], want);
  assert.equal(stale.done, false);
  assert.match(stale.line, /worker 0: gone 10\.0\.1\.9/);

  // A replaced task: one missing and one gone at once.
  const swapped = comparePeers(
    [{ worker: 0, addresses: ["10.0.1.3", "10.0.1.5", "10.0.1.9"] }],
    want,
  );
  assert.match(swapped.line, /worker 0: missing 10\.0\.1\.7, gone 10\.0\.1\.9/);

  // A fresh worker without an answer, and no worker at all: not done.
  const fresh = comparePeers(
    [{ worker: 0, addresses: want }, { worker: 1, addresses: undefined }],
    want,
  );
  assert.equal(fresh.done, false);
  assert.match(fresh.line, /worker 1: no DNS answer yet/);
  const none = comparePeers([], want);
  assert.equal(none.done, false);
  assert.match(none.line, /no worker reported/);
});
