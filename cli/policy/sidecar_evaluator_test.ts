import assert from "node:assert/strict";
import { SwiftDeployError } from "../errors/mod.ts";
import type { Decision } from "./decision.ts";
import { createSidecarEvaluator } from "./sidecar_evaluator.ts";
import { freePort } from "./_testing.ts";

const decision: Decision = {
  allow: false,
  reasons: ["service is already in canary mode"],
  domain: "canary",
  checked: { outcome: "denied" },
};

interface Stub {
  url: string;
  requests: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

/** A tiny OPA stand-in on 127.0.0.1; `release` lets hanging handlers finish at close. */
function stub(
  handler: (req: Request, release: Promise<void>) => Response | Promise<Response>,
): Stub {
  let free!: () => void;
  const release = new Promise<void>((resolve) => (free = resolve));
  const requests: Stub["requests"] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    requests.push({ method: req.method, path: new URL(req.url).pathname, body: await req.text() });
    return handler(req, release);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: async () => {
      free();
      await server.shutdown();
    },
  };
}

function unavailable(pattern: RegExp, hint?: RegExp) {
  return (e: unknown) =>
    e instanceof SwiftDeployError && e.code === "POLICY_UNAVAILABLE" && e.exitCode === 1 &&
    pattern.test(e.message) &&
    (hint === undefined || hint.test(e.hint ?? ""));
}

Deno.test("createSidecarEvaluator() posts the input to the decision path and returns the decision", async () => {
  const server = stub(() => Response.json({ result: decision }));
  try {
    const evaluator = createSidecarEvaluator({ url: server.url + "/", timeoutMs: 2000 });
    assert.equal(evaluator.engine, "sidecar");
    const input = { current_mode: "canary", target_mode: "canary" };
    assert.deepEqual(await evaluator.evaluate("canary", input), decision);
    assert.deepEqual(server.requests, [
      {
        method: "POST",
        path: "/v1/data/swiftdeploy/canary/decision",
        body: JSON.stringify({ input }),
      },
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("evaluate() fails as unreachable when the connection is refused", async () => {
  const port = freePort();
  const evaluator = createSidecarEvaluator({ url: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
  await assert.rejects(
    evaluator.evaluate("canary", {}),
    unavailable(
      new RegExp(
        `^Cannot reach the OPA sidecar at "http://127\\.0\\.0\\.1:${port}": connection refused$`,
      ),
    ),
  );
});

Deno.test("evaluate() times out within the deadline when OPA never answers", async () => {
  const server = stub(async (_req, release) => {
    await release;
    return new Response("late");
  });
  try {
    const evaluator = createSidecarEvaluator({ url: server.url, timeoutMs: 300 });
    const started = performance.now();
    await assert.rejects(
      evaluator.evaluate("infrastructure", {}),
      unavailable(
        /^OPA sidecar decision timed out after 0\.3 s: no answer from ".*\/v1\/data\/swiftdeploy\/infrastructure\/decision"$/,
      ),
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 300 + 1000, `returned after ${elapsed.toFixed(0)} ms`);
    assert.ok(elapsed >= 250, `returned too early, after ${elapsed.toFixed(0)} ms`);
  } finally {
    await server.close();
  }
});

Deno.test("evaluate() times out when OPA sends headers but stalls the body", async () => {
  const server = stub((_req, release) => {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('{"result": {'));
        await release;
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  });
  try {
    const evaluator = createSidecarEvaluator({ url: server.url, timeoutMs: 300 });
    const started = performance.now();
    await assert.rejects(
      evaluator.evaluate("canary", {}),
      unavailable(/^OPA sidecar decision timed out after 0\.3 s/),
    );
    assert.ok(performance.now() - started < 1300);
  } finally {
    await server.close();
  }
});

Deno.test("evaluate() reports the HTTP status and a body excerpt on an error status", async () => {
  const server = stub(() =>
    Response.json({
      code: "internal_error",
      message: "eval_conflict_error: complete rules must not produce multiple outputs",
    }, {
      status: 500,
    })
  );
  try {
    const evaluator = createSidecarEvaluator({ url: server.url, timeoutMs: 2000 });
    await assert.rejects(
      evaluator.evaluate("canary", {}),
      unavailable(
        /^OPA sidecar returned HTTP 500 for "swiftdeploy\/canary\/decision": \{"code":"internal_error","message":"eval_conflict_error/,
      ),
    );
  } finally {
    await server.close();
  }
});

Deno.test("evaluate() reports a non-JSON body", async () => {
  const server = stub(() => new Response("<html>502 Bad Gateway</html>", { status: 200 }));
  try {
    const evaluator = createSidecarEvaluator({ url: server.url, timeoutMs: 2000 });
    await assert.rejects(
      evaluator.evaluate("canary", {}),
      unavailable(
        /^OPA sidecar returned a non-JSON body for "swiftdeploy\/canary\/decision": <html>502 Bad Gateway<\/html>$/,
      ),
    );
  } finally {
    await server.close();
  }
});

Deno.test("evaluate() reports an undefined decision and points at the package name", async () => {
  const server = stub(() => Response.json({}));
  try {
    const evaluator = createSidecarEvaluator({ url: server.url, timeoutMs: 2000 });
    await assert.rejects(
      evaluator.evaluate("infrastructure", {}),
      unavailable(
        /^OPA sidecar returned no decision for "swiftdeploy\/infrastructure\/decision": the response has no "result"$/,
        /package swiftdeploy\.infrastructure/,
      ),
    );
  } finally {
    await server.close();
  }
});

Deno.test("evaluate() rejects a malformed decision", async () => {
  const cases: [unknown, RegExp][] = [
    [
      { result: { ...decision, allow: "true" } },
      /malformed decision: "allow" must be a boolean, got "true"$/,
    ],
    [
      { result: { ...decision, reasons: [] } },
      /malformed decision: a denial must give at least one reason$/,
    ],
    [
      { result: { ...decision, domain: "infrastructure" } },
      /malformed decision: "domain" must be "canary"/,
    ],
    [{ result: null }, /malformed decision: the decision must be an object, got null$/],
    [{ result: true }, /malformed decision: the decision must be an object, got boolean true$/],
  ];
  for (const [body, pattern] of cases) {
    const server = stub(() => Response.json(body));
    try {
      const evaluator = createSidecarEvaluator({ url: server.url, timeoutMs: 2000 });
      await assert.rejects(
        evaluator.evaluate("canary", {}),
        unavailable(pattern),
        JSON.stringify(body),
      );
    } finally {
      await server.close();
    }
  }
});

Deno.test("evaluate() rejects an unknown domain without a request", async () => {
  const evaluator = createSidecarEvaluator({ url: "http://127.0.0.1:9", timeoutMs: 100 });
  await assert.rejects(
    evaluator.evaluate("disk" as "canary", {}),
    (e: unknown) => e instanceof SwiftDeployError && e.code === "INTERNAL",
  );
});
