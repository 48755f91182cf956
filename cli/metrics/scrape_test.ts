import assert from "node:assert/strict";
import { SwiftDeployError } from "../errors/mod.ts";
import { scrape } from "./mod.ts";

const fixtureText = Deno.readTextFileSync(
  new URL("../../tests/fixtures/metrics/app_canary_t0.txt", import.meta.url),
);

async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  run: (base: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await run(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("scrape() parses the served text and stamps the scrape with the clock", async () => {
  await withServer(() => new Response(fixtureText), async (base) => {
    const s = await scrape(`${base}/metrics`, 2000, { now: () => 1234 });
    assert.equal(s.at, 1234);
    assert.equal(s.state.mode, "canary");
    assert.ok(s.requests.length > 0 && s.buckets.length > 0);
  });
});

Deno.test("scrape() fails with METRICS_UNREACHABLE on a non-200 answer", async () => {
  await withServer(() => new Response("nope", { status: 503 }), async (base) => {
    await assert.rejects(scrape(`${base}/metrics`, 2000), (error: unknown) => {
      assert.ok(error instanceof SwiftDeployError);
      assert.equal(error.code, "METRICS_UNREACHABLE");
      assert.match(error.message, /^Cannot scrape metrics from ".*\/metrics": HTTP 503$/);
      return true;
    });
  });
});

Deno.test("scrape() fails with METRICS_UNREACHABLE when no answer comes within the timeout", async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  await withServer(async () => {
    await held;
    return new Response(fixtureText);
  }, async (base) => {
    await assert.rejects(scrape(`${base}/metrics`, 50), /no answer within 50 ms/);
    release();
  });
});

Deno.test("scrape() fails with METRICS_INVALID when the body is not Prometheus text", async () => {
  await withServer(() => new Response("<html>hello</html>\n"), async (base) => {
    await assert.rejects(scrape(`${base}/metrics`, 2000), (error: unknown) => {
      assert.ok(error instanceof SwiftDeployError);
      assert.equal(error.code, "METRICS_INVALID");
      return true;
    });
  });
});

Deno.test("scrape() fails with METRICS_UNREACHABLE when nothing listens", async () => {
  let base = "";
  await withServer(() => new Response(""), (b) => {
    base = b;
    return Promise.resolve();
  });
  await assert.rejects(scrape(`${base}/metrics`, 2000), (error: unknown) => {
    assert.ok(error instanceof SwiftDeployError);
    assert.equal(error.code, "METRICS_UNREACHABLE");
    assert.match(
      error.message,
      /^Cannot scrape metrics from "http:\/\/127\.0\.0\.1:\d+\/metrics": /,
    );
    return true;
  });
});
