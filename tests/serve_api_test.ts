/**
 * `swiftdeploy serve` as a user meets it: the real CLI serves a throwaway
 * manifest's folder; every route and error code is checked over the unix
 * socket AND loopback HTTP. No engine is needed here (changes run as real
 * CLI children that fail fast); tests/serve_deploy_test.ts deploys through
 * the API against the real engine.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { appendEvent } from "../cli/history/mod.ts";
import { acquireLock } from "../cli/lock/mod.ts";
import { writeRelease } from "../cli/release/mod.ts";
import { makeStack, runCli, type TestStack } from "./_harness.ts";
import { call, followOperation, type ServeHandle, sseFrames, startServe } from "./serve_helpers.ts";

async function token(stack: TestStack, name: string, scope: string): Promise<string> {
  const r = await stack.run(["token", "create", "--name", name, "--scope", scope]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

const record = (stack: TestStack, mode: "slow" | "error" | "recover") =>
  appendEvent(join(stack.dir, "history.jsonl"), "chaos_change", { mode }, {
    projectDir: stack.dir,
  });

Deno.test("serve: every route and error code over the unix socket and loopback HTTP", async (t) => {
  const stack = await makeStack();
  let serve: ServeHandle | undefined;
  try {
    const deploy = await token(stack, "alice", "deploy");
    const read = await token(stack, "bob", "read");
    for (let i = 0; i < 5; i++) await record(stack, i % 2 ? "slow" : "recover");
    await writeRelease(join(stack.dir, ".swiftdeploy"), {
      kind: "deploy",
      status: "good",
      project: stack.project,
      started_at: "2026-11-30T10:00:00.000Z",
      created_at: "2026-11-30T10:00:05.000Z",
      duration_ms: 5000,
      timings: { apply: 4000 },
      actor: { user: "token:alice", host: "h", pid: 1 },
      manifest: {
        file: "manifest.yaml",
        sha256: "0".repeat(64),
        version: "1.0.0",
        mode: "stable",
        resolved: {},
      },
      images: [],
      containers: [],
      policy: { bundle_hash: null, sources_hash: null },
      health: [],
    }, {
      manifestText: "project: x\n",
      files: { "nginx.conf": "events {}\n" },
      gates: [{
        name: "infrastructure",
        result: "pass",
        figure: "disk 10 GB",
        limit: ">= 1 GB",
        at: "2026-11-30T10:00:01Z",
      }],
      decisions: [],
      actions: [],
    });
    serve = await startServe(stack);
    const s = serve;

    await t.step("the socket is 0600 beside the state; the tokens file is 0600", async () => {
      assert.equal(s.socketPath, join(stack.dir, ".swiftdeploy", "serve.sock"));
      assert.equal((await Deno.stat(s.socketPath)).mode! & 0o777, 0o600);
      assert.equal(
        (await Deno.stat(join(stack.dir, ".swiftdeploy", "tokens.json"))).mode! & 0o777,
        0o600,
      );
    });

    await t.step(
      "a second serve on the same manifest is refused (exit 4); a non-loopback --http (exit 2)",
      async () => {
        const again = await stack.run(["serve"]);
        assert.equal(again.code, 4, again.stderr);
        assert.match(again.stderr, /another "swiftdeploy serve" runs/);
        const open = await stack.run(["serve", "--http", "0.0.0.0:8080"]);
        assert.equal(open.code, 2, open.stderr);
        assert.match(open.stderr, /only a loopback address/);
      },
    );

    for (const tr of ["unix", "http"] as const) {
      await t.step(
        `${tr}: 401 without a token, with an unknown one, or a malformed header`,
        async () => {
          for (
            const headers of [{}, { authorization: `Bearer sdt_${"A".repeat(43)}` }, {
              authorization: "Basic Ym9iOng=",
            }, { authorization: `Bearer ${deploy}x` }]
          ) {
            const res = await call(s, tr, "GET", "/v1/status", { headers });
            assert.equal(res.status, 401, JSON.stringify(headers));
            assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="swiftdeploy"');
            assert.equal((await res.json()).error, "unauthorized");
          }
        },
      );

      await t.step(`${tr}: 403 for a read token on every change route`, async () => {
        for (const path of ["/v1/deploy", "/v1/promote", "/v1/rollout/pause", "/v1/rollback"]) {
          const res = await call(s, tr, "POST", path, { token: read, body: "{}" });
          assert.equal(res.status, 403, path);
          assert.match((await res.json()).message, /scope "read"; this route needs "deploy"/);
        }
      });

      await t.step(`${tr}: 404 unknown route, 405 wrong method with Allow`, async () => {
        const nf = await call(s, tr, "GET", "/v1/nothing", { token: read });
        assert.equal(nf.status, 404);
        await nf.body?.cancel();
        const traversal = await call(s, tr, "GET", "/v1/operations/..%2F..%2Ftokens.json", {
          token: read,
        });
        assert.equal(traversal.status, 404);
        await traversal.body?.cancel();
        const wrong = await call(s, tr, "DELETE", "/v1/status", { token: read });
        assert.equal(wrong.status, 405);
        assert.equal(wrong.headers.get("allow"), "GET");
        await wrong.body?.cancel();
        const get = await call(s, tr, "GET", "/v1/deploy", { token: deploy });
        assert.equal(get.status, 405);
        assert.equal(get.headers.get("allow"), "POST");
        await get.body?.cancel();
        const action = await call(s, tr, "POST", "/v1/rollout/explode", { token: deploy });
        assert.equal(action.status, 404);
        await action.body?.cancel();
        const op = await call(s, tr, "GET", "/v1/operations/op-20260101T000000Z-00000000", {
          token: read,
        });
        assert.equal(op.status, 404);
        await op.body?.cancel();
      });

      await t.step(`${tr}: 400 bad JSON or unknown field, 413 over 64 KiB`, async () => {
        const bad = await call(s, tr, "POST", "/v1/promote", { token: deploy, body: "{mode:" });
        assert.equal(bad.status, 400);
        assert.equal((await bad.json()).error, "bad_json");
        const arr = await call(s, tr, "POST", "/v1/deploy", { token: deploy, body: "[]" });
        assert.equal(arr.status, 400);
        await arr.body?.cancel();
        const typo = await call(s, tr, "POST", "/v1/deploy", {
          token: deploy,
          body: '{"retyr":true}',
        });
        assert.equal(typo.status, 400);
        assert.match((await typo.json()).message, /Unknown field "retyr"/);
        const mode = await call(s, tr, "POST", "/v1/promote", {
          token: deploy,
          body: '{"mode":"blue"}',
        });
        assert.equal(mode.status, 400);
        await mode.body?.cancel();
        // rollback's release: one check for every form, before any operation starts
        for (const release of ['"abc"', "0", "1.5", "true", '"../x"']) {
          const res = await call(s, tr, "POST", "/v1/rollback", {
            token: deploy,
            body: `{"release":${release}}`,
          });
          assert.equal(res.status, 400, release);
          assert.match((await res.json()).message, /must be a release number/, release);
        }
        for (const release of ["99", '"99"']) {
          const res = await call(s, tr, "POST", "/v1/rollback", {
            token: deploy,
            body: `{"release":${release}}`,
          });
          assert.equal(res.status, 404, release);
          assert.match((await res.json()).message, /No release 99/, release);
        }
        const big = await call(s, tr, "POST", "/v1/deploy", {
          token: deploy,
          body: JSON.stringify({ retry: true, pad: "x".repeat(70_000) }),
        });
        assert.equal(big.status, 413);
        await big.body?.cancel();
      });

      await t.step(`${tr}: GET /v1/status is the document of status --once --json`, async () => {
        const res = await call(s, tr, "GET", "/v1/status", { token: read });
        assert.equal(res.status, 200);
        const doc = await res.json();
        const cli = await stack.run(["status", "--once", "--json"]);
        assert.equal(cli.code, 0, cli.stderr);
        const direct = JSON.parse(cli.stdout);
        assert.deepEqual(Object.keys(doc).sort(), Object.keys(direct).sort());
        assert.equal(doc.project, stack.project);
        assert.deepEqual(doc.policy.infrastructure.result, direct.policy.infrastructure.result);
      });

      await t.step(
        `${tr}: GET /v1/history pages with a cursor; tail gives the last events`,
        async () => {
          const first = await (await call(s, tr, "GET", "/v1/history?limit=2", { token: read }))
            .json();
          assert.deepEqual(first.events.map((e: { line: number }) => e.line), [1, 2]);
          assert.equal(first.next_cursor, 2);
          assert.equal(first.events[0].record.event, "chaos_change");
          const second =
            await (await call(s, tr, "GET", `/v1/history?limit=2&cursor=${first.next_cursor}`, {
              token: read,
            })).json();
          assert.deepEqual(second.events.map((e: { line: number }) => e.line), [3, 4]);
          const all = await (await call(s, tr, "GET", "/v1/history?limit=1000", { token: read }))
            .json();
          assert.equal(all.next_cursor, null);
          const tail = await (await call(s, tr, "GET", "/v1/history?tail=2", { token: read }))
            .json();
          assert.deepEqual(
            tail.events.map((e: { line: number }) => e.line),
            all.events.slice(-2).map((e: { line: number }) => e.line),
          );
          const bad = await call(s, tr, "GET", "/v1/history?limit=0", { token: read });
          assert.equal(bad.status, 400);
          await bad.body?.cancel();
        },
      );

      await t.step(
        `${tr}: 409 naming the holder while another process holds the change lock`,
        async () => {
          const lock = await acquireLock(
            join(stack.dir, ".swiftdeploy", "lock.json"),
            "test-holder deploy",
          );
          try {
            for (
              const [path, body] of [["/v1/deploy", "{}"], ["/v1/rollout/abort", "{}"], [
                "/v1/promote",
                '{"mode":"canary"}',
              ]]
            ) {
              const res = await call(s, tr, "POST", path!, { token: deploy, body: body! });
              assert.equal(res.status, 409, path);
              const doc = await res.json();
              assert.equal(doc.error, "locked");
              assert.match(
                doc.message,
                /another change holds the lock: "test-holder deploy" \(pid \d+/,
              );
              assert.equal(doc.holder.command, "test-holder deploy");
            }
          } finally {
            await lock.release();
          }
        },
      );

      await t.step(
        `${tr}: a change answers 202 + Location; its output streams and its final state is kept`,
        async () => {
          const res = await call(s, tr, "POST", "/v1/rollout/pause", { token: deploy });
          assert.equal(res.status, 202);
          const accepted = await res.json();
          assert.equal(res.headers.get("location"), `/v1/operations/${accepted.id}`);
          assert.equal(accepted.state, "running");
          assert.equal(accepted.actor, "token:alice");
          // A second change while this one runs: 409 naming the operation (not a rollout verb).
          const second = await call(s, tr, "POST", "/v1/deploy", { token: deploy });
          const secondDoc = await second.json();
          if (second.status === 409) assert.equal(secondDoc.holder.operation, accepted.id);
          else assert.equal(second.status, 202); // the first had already ended: then this one ran
          const stream = await call(s, tr, "GET", `${accepted.url}/events`, { token: read });
          assert.equal(stream.headers.get("content-type"), "text/event-stream; charset=utf-8");
          const { output: seen, end } = await followOperation(sseFrames(stream), 30_000);
          assert.notEqual(end.state, "running");
          assert.equal(typeof end.exit_code, "number");
          assert.equal(end.state, end.exit_code === 0 ? "succeeded" : "failed");
          const kept = await (await call(s, tr, "GET", accepted.url, { token: read })).json();
          assert.equal(kept.state, end.state);
          assert.deepEqual(kept.output.map((l: { text: string }) => l.text), seen);
          assert.ok(seen.length > 0, "the CLI said something");
          const file = JSON.parse(
            await Deno.readTextFile(
              join(stack.dir, ".swiftdeploy", "operations", `${accepted.id}.json`),
            ),
          );
          assert.equal(file.exit_code, end.exit_code);
          const list = await (await call(s, tr, "GET", "/v1/operations", { token: read })).json();
          assert.ok(list.operations.some((o: { id: string }) => o.id === accepted.id));
          if (second.status === 202) {
            // let the other change end before the next step takes the lock
            const f2 = sseFrames(
              await call(s, tr, "GET", `${secondDoc.url}/events`, { token: read }),
            );
            await f2.nextOf("end", 60_000);
          }
        },
      );

      await t.step(
        `${tr}: GET /v1/releases lists them; /v1/releases/{n} has the evidence; 404 otherwise`,
        async () => {
          const list = await (await call(s, tr, "GET", "/v1/releases", { token: read })).json();
          assert.deepEqual(list.releases.map((r: { number: number }) => r.number), [1]);
          const one = await (await call(s, tr, "GET", "/v1/releases/1", { token: read })).json();
          assert.equal(one.release.number, 1);
          assert.deepEqual(one.integrity, { intact: true, problems: [] });
          assert.equal(one.evidence.gates[0].name, "infrastructure");
          assert.equal(one.evidence.manifest, "project: x\n");
          assert.deepEqual(one.evidence.files.includes("files/nginx.conf"), true);
          for (
            const bad of [
              "/v1/releases/2",
              "/v1/releases/abc",
              "/v1/releases/0",
              "/v1/releases/..%2F1",
            ]
          ) {
            const res = await call(s, tr, "GET", bad, { token: read });
            assert.equal(res.status, 404, bad);
            await res.body?.cancel();
          }
        },
      );
    }

    await t.step(
      "SSE /v1/events: history in order, live, and resumed after Last-Event-ID without gaps or repeats",
      async () => {
        // Status refreshes add status_scrape lines at any time, so the checks are on
        // consecutive ids (no gap, no repeat) and on the test's own chaos_change lines.
        const before = await (await call(s, "http", "GET", "/v1/history?tail=1", {
          token: read,
        })).json();
        const last: number = before.events[0].line;
        assert.ok(last >= 5);
        const frames = sseFrames(
          await call(s, "unix", "GET", "/v1/events", {
            token: read,
            headers: { "last-event-id": "0" },
          }),
        );
        // The replay (every line after 0, in order), then the current status.
        let prev = 0;
        let f = await frames.next();
        while (f.event === "history") {
          assert.equal(Number(f.id), prev + 1, "consecutive ids");
          assert.equal(JSON.parse(f.data).line, Number(f.id));
          prev = Number(f.id);
          f = await frames.next(15_000);
        }
        assert.equal(f.event, "status");
        assert.match(f.id!, /^\d+\.\d+$/);
        // Lines the poller has not published yet (it looks every 250 ms) follow live,
        // still consecutive: `until` below checks every id up to the test's own lines.
        /** Reads history frames (checking ids stay consecutive) until the chaos_change of `mode`. */
        const until = async (fr: typeof frames, mode: string): Promise<number> => {
          while (true) {
            const h = await fr.nextOf("history");
            assert.equal(Number(h.id), prev + 1, `no gap or repeat after ${prev}`);
            prev = Number(h.id);
            const rec = JSON.parse(h.data).record;
            if (rec.event === "chaos_change" && rec.data.mode === mode) return prev;
          }
        };
        await record(stack, "slow");
        await record(stack, "error");
        const slowLine = await until(frames, "slow");
        const errorLine = await until(frames, "error");
        assert.ok(errorLine > slowLine && slowLine > last);
        await frames.cancel();
        await record(stack, "recover");
        const again = sseFrames(
          await call(s, "http", "GET", "/v1/events", {
            token: read,
            headers: { "last-event-id": `${slowLine}.3` },
          }),
        );
        prev = slowLine;
        assert.equal(await until(again, "error"), errorLine, "resumed right after the given id");
        await until(again, "recover");
        await again.cancel();
      },
    );

    await t.step(
      "revoking a token makes the next request 401; the other token still works",
      async () => {
        assert.equal(
          (await call(s, "http", "GET", "/v1/history?limit=1", { token: read })).status,
          200,
        );
        const r = await stack.run(["token", "revoke", "bob"]);
        assert.equal(r.code, 0, r.stderr);
        for (const tr of ["unix", "http"] as const) {
          const res = await call(s, tr, "GET", "/v1/history?limit=1", { token: read });
          assert.equal(res.status, 401);
          await res.body?.cancel();
          const ok = await call(s, tr, "GET", "/v1/history?limit=1", { token: deploy });
          assert.equal(ok.status, 200);
          await ok.body?.cancel();
        }
        const list = await stack.run(["token", "list", "--json"]);
        const bob = JSON.parse(list.stdout).find((x: { name: string }) => x.name === "bob");
        assert.ok(bob.revoked_at);
      },
    );

    await t.step(
      "the request log is JSON lines with the token's name, never a token or a body",
      () => {
        const lines = s.log().split("\n").filter((l) => l.startsWith("{"));
        assert.ok(lines.length > 30, `${lines.length} log lines`);
        for (const l of lines) JSON.parse(l);
        assert.ok(lines.some((l) => JSON.parse(l).token === "alice"));
        for (const secret of [deploy, read, deploy.slice(4), "retyr", "x".repeat(100)]) {
          assert.ok(!s.log().includes(secret), "a token or body in the log");
        }
      },
    );

    await t.step(
      "SIGTERM: event streams get shutdown, the server exits 0 and removes its socket",
      async () => {
        const frames = sseFrames(await call(s, "http", "GET", "/v1/events", { token: deploy }));
        await frames.nextOf("status", 15_000);
        s.child.kill("SIGTERM");
        await frames.nextOf("shutdown");
        const status = await s.child.status;
        assert.equal(status.code, 0);
        assert.match(await s.rest(), /stopped/);
        await assert.rejects(Deno.stat(s.socketPath), Deno.errors.NotFound);
        serve = undefined;
      },
    );
  } finally {
    if (serve) {
      serve.child.kill("SIGKILL");
      await serve.child.status;
    }
    await stack.cleanup();
  }
});

Deno.test("serve: SIGTERM refuses new changes (503), lets a running operation finish and keeps its final state", async () => {
  const stack = await makeStack();
  const serve = await startServe(stack);
  try {
    const deploy = await token(stack, "ops", "deploy");
    const res = await call(serve, "unix", "POST", "/v1/promote", {
      token: deploy,
      body: '{"mode":"canary"}',
    });
    assert.equal(res.status, 202);
    const op = await res.json();
    // The promote waits out its 4 s metrics window: it is still running when the signal comes.
    const before = await (await call(serve, "unix", "GET", op.url, { token: deploy })).json();
    assert.equal(before.state, "running");
    serve.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    const refused = await call(serve, "http", "POST", "/v1/deploy", { token: deploy });
    assert.equal(refused.status, 503);
    assert.equal((await refused.json()).error, "stopping");
    const reads = await call(serve, "unix", "GET", op.url, { token: deploy });
    assert.equal(reads.status, 200, "reads still answer while operations finish");
    await reads.body?.cancel();
    assert.equal((await serve.child.status).code, 0);
    const file = JSON.parse(
      await Deno.readTextFile(join(stack.dir, ".swiftdeploy", "operations", `${op.id}.json`)),
    );
    assert.notEqual(file.state, "running");
    assert.equal(typeof file.exit_code, "number");
    assert.ok(file.ended_at);
    // The next server shows it from its file.
    const next = await startServe(stack);
    try {
      const kept =
        await (await call(next, "http", "GET", `/v1/operations/${op.id}`, { token: deploy }))
          .json();
      assert.equal(kept.state, file.state);
    } finally {
      next.child.kill("SIGTERM");
      await next.child.status;
    }
  } finally {
    try {
      serve.child.kill("SIGKILL");
    } catch { /* exited */ }
    await serve.child.status;
    await stack.cleanup();
  }
});

Deno.test("token create prints the token once; list never shows a token or a hash", async () => {
  const stack = await makeStack();
  try {
    const t1 = await token(stack, "viewer", "read");
    assert.match(t1, /^sdt_[A-Za-z0-9_-]{43}$/);
    const list = await runCli(["-f", stack.manifestPath, "token", "list"]);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /viewer\s+read/);
    assert.ok(!list.stdout.includes(t1));
    const store = await Deno.readTextFile(join(stack.dir, ".swiftdeploy", "tokens.json"));
    assert.ok(!list.stdout.includes(JSON.parse(store).tokens[0].hash));
    const bad = await runCli([
      "-f",
      stack.manifestPath,
      "token",
      "create",
      "--name",
      "x",
      "--scope",
      "admin",
    ]);
    assert.equal(bad.code, 2);
  } finally {
    await stack.cleanup();
  }
});
