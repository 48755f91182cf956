/** `readCappedBody()`: the size cap and time limit on the API's and the webhook's bodies. */
import assert from "node:assert/strict";
import { readCappedBody } from "./_body.ts";

const enc = new TextEncoder();

/** A request whose body is the given chunks, each after `gapMs`; a string chunk "FAIL" errors the stream. */
function streamed(chunks: string[], gapMs = 0, headers: Record<string, string> = {}): Request {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      const c = chunks[i++];
      if (c === undefined) controller.close();
      else if (c === "FAIL") controller.error(new Error("reset"));
      else controller.enqueue(enc.encode(c));
    },
  });
  return new Request("http://x/", { method: "POST", body, headers });
}

Deno.test("readCappedBody() joins the chunks of a body within the cap; no body is empty", async () => {
  const read = await readCappedBody(streamed(["ab", "cd", "e"]), 5, 1000);
  assert.ok(read.ok);
  assert.equal(new TextDecoder().decode(read.body), "abcde");
  const none = await readCappedBody(new Request("http://x/"), 5, 1000);
  assert.deepEqual(none, { ok: true, body: new Uint8Array() });
});

Deno.test("readCappedBody() refuses 413 on a declared length over the cap, before reading", async () => {
  let pulled = false;
  // highWaterMark 0: the stream pulls only when read.
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled = true;
      controller.close();
    },
  }, { highWaterMark: 0 });
  const req = new Request("http://x/", {
    method: "POST",
    body,
    headers: { "content-length": "6" },
  });
  assert.deepEqual(await readCappedBody(req, 5, 1000), {
    ok: false,
    status: 413,
    error: "too_large",
    message: "The body is over 5 bytes",
  });
  assert.equal(pulled, false, "nothing is read");
});

Deno.test("readCappedBody() stops at the cap when the stream passes it (413)", async () => {
  const read = await readCappedBody(streamed(["abc", "def", "never"]), 5, 1000);
  assert.equal(read.ok, false);
  assert.equal(!read.ok && read.status, 413);
});

Deno.test("readCappedBody() refuses a body that is not complete in time (408)", async () => {
  const started = performance.now();
  const read = await readCappedBody(streamed(["a", "b", "c"], 200), 5, 100);
  assert.deepEqual(read, {
    ok: false,
    status: 408,
    error: "timeout",
    message: "The body took over 100 ms to arrive",
  });
  assert.ok(performance.now() - started < 1000, "it does not wait for the rest");
});

Deno.test("readCappedBody() answers a stream that fails with 400", async () => {
  const read = await readCappedBody(streamed(["a", "FAIL"]), 5, 1000);
  assert.equal(!read.ok && read.error, "bad_body");
});
