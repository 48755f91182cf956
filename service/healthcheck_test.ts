import assert from "node:assert/strict";
import { checkHealth, parseResponse } from "./healthcheck.ts";
import { createHandler } from "./handler.ts";
import { freePort } from "./_testing.ts";

async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  body: (port: number) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  try {
    await body(server.addr.port);
  } finally {
    await server.shutdown();
  }
}

Deno.test("checkHealth() reports healthy when the service answers 200 with status ok", async () => {
  await withServer(createHandler({ mode: "canary", version: "1.0.0" }), async (port) => {
    const result = await checkHealth(port);
    assert.deepEqual(result, {
      healthy: true,
      detail: `Healthy: http://127.0.0.1:${port}/healthz answered 200 with status "ok"`,
    });
  });
});

Deno.test("checkHealth() reads a chunked body when the server streams the answer", async () => {
  const streamed = () =>
    new Response(
      ReadableStream.from(['{"status"', ':"ok"', "}"].map((s) => new TextEncoder().encode(s))),
    );
  await withServer(streamed, async (port) => {
    assert.equal((await checkHealth(port)).healthy, true);
  });
});

Deno.test("checkHealth() reports unhealthy when the status is not 200 or the body not ok", async () => {
  await withServer(() => Response.json({ status: "ok" }, { status: 503 }), async (port) => {
    const result = await checkHealth(port);
    assert.equal(result.healthy, false);
    assert.match(result.detail, /^Unhealthy: .* answered 503 with status "ok"$/);
  });
  await withServer(() => Response.json({ status: "degraded" }), async (port) => {
    const result = await checkHealth(port);
    assert.equal(result.healthy, false);
    assert.match(result.detail, /answered 200 with status "degraded"$/);
  });
  await withServer(() => new Response("<html>ok</html>"), async (port) => {
    const result = await checkHealth(port);
    assert.equal(result.healthy, false);
    assert.match(result.detail, /answered 200 with a non-JSON body$/);
  });
});

Deno.test("checkHealth() reports unhealthy when nothing listens on the port", async () => {
  const port = freePort();
  const result = await checkHealth(port);
  assert.equal(result.healthy, false);
  assert.match(
    result.detail,
    new RegExp(`^Unhealthy: cannot check http://127.0.0.1:${port}/healthz: `),
  );
});

Deno.test("checkHealth() gives up after the timeout when the server never answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })();
  try {
    const started = performance.now();
    const result = await checkHealth((listener.addr as Deno.NetAddr).port, { timeoutMs: 150 });
    const ms = performance.now() - started;
    assert.equal(result.healthy, false);
    assert.match(result.detail, /no answer within 150ms$/);
    assert.ok(ms >= 140 && ms < 1000, `took ${ms} ms`);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of accepted) conn.close();
  }
});

Deno.test("parseResponse() reads status and body when the response is complete", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(
    parseResponse(enc("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")),
    { status: 200, body: "{}" },
  );
  assert.deepEqual(
    parseResponse(
      enc(
        "HTTP/1.1 503 x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nd\u00e9\r\n2\r\nja\r\n0\r\n\r\n",
      ),
    ),
    { status: 503, body: "d\u00e9ja" },
  );
  assert.throws(() => parseResponse(enc("HTTP/1.1 200 OK\r\n")), /incomplete HTTP response/);
  assert.throws(() => parseResponse(enc("SSH-2.0\r\n\r\n")), /not an HTTP response/);
  assert.throws(
    () => parseResponse(enc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")),
    /malformed chunked body/,
  );
});
