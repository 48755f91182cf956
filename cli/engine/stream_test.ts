import assert from "node:assert/strict";
import { readJsonLines } from "./_stream.ts";

const enc = new TextEncoder();

/** A body that yields `chunks`, then either ends or breaks off with `error`. */
function body(chunks: string[], error?: Error): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk !== undefined) controller.enqueue(enc.encode(chunk));
      else if (error) controller.error(error);
      else controller.close();
    },
  });
}

async function collect(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const v of stream) out.push(v);
  return out;
}

Deno.test("readJsonLines() yields each line, split across chunks or not", async () => {
  const values = await collect(readJsonLines(body(['{"a":1}\n{"b"', ":2}\n\n", '{"c":3}'])));
  assert.deepEqual(values, [{ a: 1 }, { b: 2 }, { c: 3 }]);
});

Deno.test("readJsonLines() throws when the stream breaks off, whatever the error says", async () => {
  // The old reader swallowed any error whose text mentioned "closed" or "abort":
  // a build stream cut by the engine then looked like a clean end.
  for (const message of ["connection closed before message completed", "aborted", "boom"]) {
    await assert.rejects(
      collect(readJsonLines(body(['{"stream":"Step 1/2"}\n'], new Error(message)))),
      new RegExp(message),
    );
  }
});

Deno.test("readJsonLines() throws on a truncated last line", async () => {
  await assert.rejects(
    collect(readJsonLines(body(['{"stream":"x"}\n{"aux":{"ID":"sha2']))),
    SyntaxError,
  );
});

Deno.test("readJsonLines() ends quietly only when the caller cancelled", async () => {
  const ac = new AbortController();
  ac.abort();
  const values = await collect(
    readJsonLines(body(['{"a":1}\n'], new Error("cancelled")), ac.signal),
  );
  assert.deepEqual(values, [{ a: 1 }]);
});
