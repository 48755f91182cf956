import assert from "node:assert/strict";
import { join } from "node:path";
import { appendEvent } from "../history/mod.ts";
import { EventHub } from "./_hub.ts";

/** Reads whole SSE frames from a stream, as `event id` strings. */
function frames(stream: ReadableStream<Uint8Array>) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return async (): Promise<string> => {
    while (true) {
      const cut = buf.indexOf("\n\n");
      if (cut >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        if (!event) continue;
        return `${event} ${/^id: (.*)$/m.exec(block)?.[1] ?? ""}`.trim();
      }
      const r = await reader.read();
      if (r.done) return "closed";
      buf += r.value;
    }
  };
}

Deno.test("EventHub replays history after a Last-Event-ID in order, then status, then live lines; stop() sends shutdown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_hub_" });
  const keys = await Deno.makeTempDir({ prefix: "swiftdeploy_hub_keys_" });
  const file = join(dir, "history.jsonl");
  const add = (mode: "slow" | "error" | "recover") =>
    appendEvent(file, "chaos_change", { mode }, { keyDir: keys, projectDir: dir });
  let ticks = 0;
  const hub = new EventHub({
    historyFile: file,
    statusIntervalSeconds: 3600,
    historyPollMs: 20,
    runStatus: () => Promise.resolve({ tick: ++ticks }),
  });
  try {
    for (const m of ["slow", "error", "recover"] as const) await add(m);
    await hub.start();
    assert.deepEqual(await hub.status(), { tick: 1 });
    const all = frames(await hub.subscribe(0));
    assert.deepEqual(
      [await all(), await all(), await all(), await all()],
      ["history 1", "history 2", "history 3", "status 3.1"],
    );
    const fresh = frames(await hub.subscribe(undefined));
    assert.equal(await fresh(), "status 3.1");
    await add("slow");
    await add("error");
    assert.deepEqual([await all(), await all()], ["history 4", "history 5"]);
    assert.deepEqual([await fresh(), await fresh()], ["history 4", "history 5"]);
    const resumed = frames(await hub.subscribe(4));
    assert.deepEqual([await resumed(), await resumed()], ["history 5", "status 5.1"]);
    // Lines appended while a resumed subscriber is replayed reach it once, in order.
    const racing = Promise.all([add("recover"), add("slow"), add("error")]);
    const late = frames(await hub.subscribe(2));
    await racing;
    const got: string[] = [];
    while (got.filter((g) => g.startsWith("history")).length < 6) {
      const f = await late();
      if (f.startsWith("history")) got.push(f);
    }
    assert.deepEqual(got, [
      "history 3",
      "history 4",
      "history 5",
      "history 6",
      "history 7",
      "history 8",
    ]);
    await hub.stop();
    const rest: string[] = [];
    for (let f = await all(); f !== "closed"; f = await all()) rest.push(f);
    assert.deepEqual(rest, ["history 6", "history 7", "history 8", "shutdown"]);
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(keys, { recursive: true });
  }
});

Deno.test("EventHub refreshes the status only while someone watches or reads; a read after idling waits for a fresh one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_hub_" });
  let runs = 0;
  let fail = false;
  const hub = new EventHub({
    historyFile: join(dir, "history.jsonl"),
    statusIntervalSeconds: 0.05,
    historyPollMs: 1000,
    runStatus: () =>
      fail ? Promise.reject(new Error("status failed")) : Promise.resolve({ run: ++runs }),
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    await hub.start();
    assert.deepEqual(await hub.status(), { run: 1 });
    await sleep(400); // idle: 3 intervals after the read, the ticks stop
    const idle = runs;
    await sleep(300);
    assert.equal(runs, idle, "no refresh while nobody watches");
    assert.ok(idle < 6, `${idle} refreshes`);
    assert.deepEqual(await hub.status(), { run: idle + 1 }, "a stale cache is refreshed first");
    const watcher = await hub.subscribe(undefined);
    await sleep(300);
    assert.ok(runs >= idle + 3, "a stream keeps the ticks going");
    await watcher.cancel();
    fail = true;
    await sleep(400);
    const doc = (await hub.status()) as { run: number };
    assert.equal(doc.run, runs, "a failed refresh answers the last document");
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EventHub's first status on connect is current: a cache older than one interval (or none yet) is refreshed before it is sent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_hub_" });
  let runs = 0;
  let gate: Promise<void> = Promise.resolve();
  const hub = new EventHub({
    historyFile: join(dir, "history.jsonl"),
    statusIntervalSeconds: 0.05,
    historyPollMs: 1000,
    runStatus: async () => {
      await gate;
      return { run: ++runs, at: Date.now() };
    },
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** The data of the first `status` frame of a new stream, and when it came. */
  const firstStatus = async () => {
    const reader = (await hub.subscribe(undefined)).pipeThrough(new TextDecoderStream())
      .getReader();
    let buf = "";
    try {
      while (true) {
        const m = /event: status\ndata: (.*)\n\n/.exec(buf);
        if (m) return { doc: JSON.parse(m[1]!) as { run: number; at: number }, got: Date.now() };
        const r = await reader.read();
        if (r.done) throw new Error(`stream closed: ${buf}`);
        buf += r.value;
      }
    } finally {
      await reader.cancel();
    }
  };
  try {
    // No status yet: the connect waits for the first run rather than sending nothing.
    let release!: () => void;
    gate = new Promise((r) => release = r);
    const before = hub.subscribe(undefined);
    setTimeout(() => release(), 30);
    await hub.start();
    await before.then((s) => s.cancel());
    assert.equal(runs, 1);
    // Idle: the ticks stop (3 intervals after the last demand), the cache ages.
    await sleep(600);
    const idle = runs;
    await sleep(200);
    assert.equal(runs, idle, "no refresh while nobody watches");
    const { doc, got } = await firstStatus();
    assert.equal(
      doc.run,
      idle + 1,
      "the first status was refreshed on connect, not the cached one",
    );
    assert.ok(got - doc.at < 50, `first status ${got - doc.at} ms old (interval 50 ms)`);
    // A fresh cache is sent as it is: no extra run on connect.
    const fresh = await firstStatus();
    assert.ok(fresh.got - fresh.doc.at < 50 + 50, `${fresh.got - fresh.doc.at} ms old`);
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
