/**
 * Webhook deploys against the real engine (issue 16 part 4): a local git
 * repository holding the service is the manifest's `services.source`; a
 * signed push of one of its commits (not the branch's tip) deploys exactly
 * that commit through `swiftdeploy serve`, and the app then reports it as its
 * version. Wrong or missing signatures, a replayed delivery, another branch
 * and an oversized body are refused; the secret appears in no file of the
 * stack's folder, no history line and no line the server wrote.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import { readHistory } from "../cli/history/mod.ts";
import { createHmac } from "node:crypto";
import { HOME, makeStack } from "./_harness.ts";
import { call, followOperation, type ServeHandle, sseFrames, startServe } from "./serve_helpers.ts";

const SECRET = `hook-${crypto.randomUUID()}`;

/** HMAC-SHA256 hex as a git host computes it (node:crypto, independent of the server's code). */
function hmacSha256Hex(secret: string, body: Uint8Array): Promise<string> {
  return Promise.resolve(createHmac("sha256", secret).update(body).digest("hex"));
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-c", "user.name=test", "-c", "user.email=test@swiftdeploy.local", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/** A git repository holding this installation's service (sources, no tests) and a deno.json. */
async function makeSourceRepo(dir: string): Promise<{ first: string; tip: string }> {
  await Deno.mkdir(join(dir, "service"), { recursive: true });
  for await (const e of Deno.readDir(join(HOME, "service"))) {
    if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
      await Deno.copyFile(join(HOME, "service", e.name), join(dir, "service", e.name));
    }
  }
  const imports = JSON.parse(await Deno.readTextFile(join(HOME, "deno.json"))).imports;
  await Deno.writeTextFile(
    join(dir, "deno.json"),
    JSON.stringify({ imports: { "prom-client": imports["prom-client"] } }, null, 2) + "\n",
  );
  await git(dir, "init", "-q", "-b", "main");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "service");
  const first = await git(dir, "rev-parse", "HEAD");
  await Deno.writeTextFile(join(dir, "NOTES.md"), "a later commit\n");
  await git(dir, "add", "NOTES.md");
  await git(dir, "commit", "-q", "-m", "notes");
  return { first, tip: await git(dir, "rev-parse", "HEAD") };
}

async function push(
  serve: ServeHandle,
  body: string | Uint8Array,
  opts: { delivery: string; signature?: string | null; event?: string },
): Promise<Response> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-github-event": opts.event ?? "push",
    "x-github-delivery": opts.delivery,
  };
  const signature = opts.signature === undefined
    ? `sha256=${await hmacSha256Hex(SECRET, bytes)}`
    : opts.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  return await call(serve, "http", "POST", "/v1/hooks/git", {
    body: bytes as Uint8Array<ArrayBuffer>,
    headers,
  });
}

/** Every regular file under `dir`, recursively (sockets and the like skipped). */
async function* filesUnder(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* filesUnder(p);
    else if (e.isFile) yield p;
  }
}

Deno.test("webhook: a signed push deploys that commit; bad signatures, replays, other branches and big bodies are refused; the secret is written nowhere", async () => {
  const stack = await makeStack({ version: "1.0.0" });
  const repoDir = await Deno.makeTempDir({ prefix: "swiftdeploy-source-" });
  let serve: ServeHandle | undefined;
  let builtTag: string | undefined;
  try {
    const { first, tip } = await makeSourceRepo(repoDir);
    builtTag = `swift-deploy-1-node:git-${first.slice(0, 12)}`;
    assert.notEqual(first, tip);
    await Deno.mkdir(join(stack.dir, "secrets"), { mode: 0o700 });
    await Deno.writeTextFile(join(stack.dir, "secrets", "webhook"), `${SECRET}\n`, { mode: 0o600 });
    const text = await Deno.readTextFile(stack.manifestPath);
    await Deno.writeTextFile(
      stack.manifestPath,
      text.replace(
        "  restart_policy: unless-stopped\n",
        "  restart_policy: unless-stopped\n  source:\n" +
          `    repo: ${repoDir}\n    branch: main\n    secret_file: secrets/webhook\n`,
      ),
    );
    // deploy --ref that a policy blocks (exit 3): the manifest and the generated files stay
    // byte-identical, so the manifest never names a version that does not run.
    const sourced = await Deno.readTextFile(stack.manifestPath);
    const denying = sourced.replace(/min_disk_free_gb: [0-9.]+/, "min_disk_free_gb: 100000000");
    assert.notEqual(denying, sourced);
    await Deno.writeTextFile(stack.manifestPath, denying);
    const nginxBefore = await Deno.readTextFile(join(stack.dir, "nginx.conf")).catch(() => null);
    const blocked = await stack.run(["deploy", "--ref", tip]);
    assert.equal(blocked.code, 3, blocked.stdout + blocked.stderr);
    assert.match(blocked.stdout, /manifest put back/);
    assert.equal(await Deno.readTextFile(stack.manifestPath), denying, "manifest byte-identical");
    assert.equal(
      await Deno.readTextFile(join(stack.dir, "nginx.conf")).catch(() => null),
      nginxBefore,
      "generated files put back",
    );
    await Deno.writeTextFile(stack.manifestPath, sourced);

    serve = await startServe(stack);
    const created = await stack.run(["token", "create", "--name", "reader", "--scope", "read"]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    const event = (ref: string, after: string) =>
      JSON.stringify({ ref, before: "0".repeat(40), after, repository: { full_name: "t/app" } });

    // Wrong, missing and malformed signatures: 401, nothing recorded.
    const body = event("refs/heads/main", first);
    const wrong = await push(serve, body, {
      delivery: "d-wrong",
      signature: `sha256=${await hmacSha256Hex("not-the-secret", new TextEncoder().encode(body))}`,
    });
    assert.equal(wrong.status, 401);
    assert.equal((await wrong.json()).error, "bad_signature");
    const missing = await push(serve, body, { delivery: "d-missing", signature: null });
    assert.equal(missing.status, 401);
    await missing.body?.cancel();
    const tampered = await push(serve, body.replace("t/app", "t/evil"), {
      delivery: "d-tampered",
      signature: `sha256=${await hmacSha256Hex(SECRET, new TextEncoder().encode(body))}`,
    });
    assert.equal(tampered.status, 401);
    await tampered.body?.cancel();

    // Over 1 MiB: 413 before any signature is checked.
    const big = new Uint8Array(1024 * 1024 + 1).fill(0x20);
    const tooBig = await push(serve, big, { delivery: "d-big" });
    assert.equal(tooBig.status, 413);
    assert.equal((await tooBig.json()).error, "too_large");

    // Another branch: 202 ignored, recorded in the history.
    const other = await push(serve, event("refs/heads/feature", tip), { delivery: "d-feature" });
    assert.equal(other.status, 202);
    assert.equal((await other.json()).status, "ignored");

    // The followed branch, an older commit than its tip: deployed, that commit.
    const ok = await push(serve, body, { delivery: "d-main-1" });
    assert.equal(ok.status, 202);
    const accepted = await ok.json();
    assert.equal(accepted.status, "accepted");
    assert.equal(accepted.sha, first);
    assert.equal(ok.headers.get("location"), accepted.url);

    // The same delivery again: 409, however well signed.
    const replay = await push(serve, body, { delivery: "d-main-1" });
    assert.equal(replay.status, 409);
    assert.equal((await replay.json()).error, "replayed");

    const frames = sseFrames(
      await call(serve, "http", "GET", accepted.url, {
        token,
        headers: { accept: "text/event-stream" },
      }),
    );
    const { output, end } = await followOperation(frames, 180_000);
    assert.equal(end.state, "succeeded", output.join("\n"));
    const short = first.slice(0, 12);
    const res = await fetch(stack.url("/"));
    assert.equal((await res.json()).version, `git-${short}`);
    const health = await (await fetch(stack.url("/healthz"))).json();
    assert.equal(health.version, `git-${short}`);
    const manifest = await Deno.readTextFile(stack.manifestPath);
    assert.match(manifest, new RegExp(`image: swift-deploy-1-node:git-${short}`));

    const { events } = await readHistory(join(stack.dir, "history.jsonl"));
    const hooks = events.filter((e) => e.event === "webhook_delivery");
    assert.deepEqual(
      hooks.map((e) => [e.data.delivery, e.data.outcome, e.data.sha]),
      [["d-feature", "ignored", tip], ["d-main-1", "accepted", first]],
    );
    const deployed = events.find((e) => e.event === "deploy");
    assert.ok(deployed, events.map((e) => e.event).join(","));
    assert.equal(deployed.actor.user, "webhook:d-main-1");
    assert.equal(deployed.data.version, `git-${short}`);

    // The secret: in no file of the stack's folder but its own, no history line, no server line.
    serve.child.kill("SIGTERM");
    await serve.child.status;
    const serverLines = serve.log() + (await serve.rest());
    serve = undefined;
    assert.ok(serverLines.includes("/v1/hooks/git"), "the request log names the webhook's path");
    assert.ok(!serverLines.includes(SECRET), "the server's output holds the secret");
    let checked = 0;
    for await (const file of filesUnder(stack.dir)) {
      if (file === join(stack.dir, "secrets", "webhook")) continue;
      const bytes = await Deno.readFile(file);
      checked++;
      assert.ok(
        !new TextDecoder("latin1").decode(bytes).includes(SECRET),
        `${file} holds the secret`,
      );
    }
    assert.ok(checked > 10, `only ${checked} files checked`);
  } finally {
    if (serve) {
      serve.child.kill("SIGTERM");
      await serve.child.status;
    }
    await stack.cleanup();
    await Deno.remove(repoDir, { recursive: true }).catch(() => {});
    if (builtTag) {
      // The commit's tag only: its layers are shared with the app image `build` makes.
      const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
      await engine.imageRemove(builtTag).catch(() => {});
      engine.close();
    }
  }
});
