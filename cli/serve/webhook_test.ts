/**
 * The webhook's pure parts: HMAC-SHA256 in GitHub's format (their published
 * test vector), the signature check's outcomes, what a push event asks for,
 * and where the secret is read from.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkSignature, decidePush, hmacSha256Hex, readHookSecret } from "./_webhook.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const SHA = "0123456789abcdef0123456789abcdef01234567";

Deno.test("hmacSha256Hex() matches GitHub's documented webhook test vector", async () => {
  // docs.github.com "Validating webhook deliveries": secret, payload and expected signature.
  assert.equal(
    await hmacSha256Hex("It's a Secret to Everybody", enc("Hello, World!")),
    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
  );
});

Deno.test("checkSignature() tells missing, malformed, wrong and ok apart", async () => {
  const body = enc('{"ref":"refs/heads/main"}');
  const good = `sha256=${await hmacSha256Hex("s3cret", body)}`;
  assert.equal(await checkSignature(good, "s3cret", body), "ok");
  assert.equal(
    await checkSignature(good.toUpperCase().replace("SHA256", "sha256"), "s3cret", body),
    "ok",
  );
  assert.equal(await checkSignature(null, "s3cret", body), "missing");
  assert.equal(await checkSignature("", "s3cret", body), "missing");
  assert.equal(await checkSignature(good.slice(0, -1), "s3cret", body), "malformed");
  assert.equal(await checkSignature(`sha1=${"0".repeat(40)}`, "s3cret", body), "malformed");
  assert.equal(await checkSignature(good, "other", body), "wrong");
  assert.equal(await checkSignature(good, "s3cret", enc('{"ref":"refs/heads/main" }')), "wrong");
});

Deno.test("decidePush() deploys the pushed commit of the followed branch only", () => {
  assert.deepEqual(decidePush({ ref: "refs/heads/main", after: SHA }, "main"), {
    kind: "deploy",
    ref: "refs/heads/main",
    sha: SHA,
  });
  assert.deepEqual(decidePush({ ref: "refs/heads/main", after: SHA.toUpperCase() }, "main"), {
    kind: "deploy",
    ref: "refs/heads/main",
    sha: SHA,
  });
  const other = decidePush({ ref: "refs/heads/feature", after: SHA }, "main");
  assert.equal(other.kind, "ignore");
  assert.match(
    (other as { reason: string }).reason,
    /follows refs\/heads\/main, not refs\/heads\/feature/,
  );
  assert.equal(decidePush({ ref: "refs/tags/v1", after: SHA }, "main").kind, "ignore");
  assert.equal(
    decidePush({ ref: "refs/heads/main", after: "0".repeat(40), deleted: true }, "main").kind,
    "ignore",
  );
  assert.equal(
    decidePush({ ref: "refs/heads/main", after: "--upload-pack=x" }, "main").kind,
    "invalid",
  );
  assert.equal(decidePush({ ref: "refs/heads/main" }, "main").kind, "invalid");
  assert.equal(decidePush({ after: SHA }, "main").kind, "invalid");
  assert.equal(decidePush([], "main").kind, "invalid");
  assert.equal(decidePush(null, "main").kind, "invalid");
});

Deno.test("readHookSecret() reads the env var or the file the manifest names, trailing newline off", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "hook.secret"), "from-file\n");
    const base = { repo: "r", branch: "main", entry: "service/main.ts" };
    assert.equal(
      await readHookSecret({ ...base, secret_env: null, secret_file: "hook.secret" }, dir),
      "from-file",
    );
    Deno.env.set("SD_TEST_HOOK_SECRET", "from-env");
    assert.equal(
      await readHookSecret({ ...base, secret_env: "SD_TEST_HOOK_SECRET", secret_file: null }, dir),
      "from-env",
    );
    Deno.env.delete("SD_TEST_HOOK_SECRET");
    assert.equal(
      await readHookSecret({ ...base, secret_env: "SD_TEST_HOOK_SECRET", secret_file: null }, dir),
      undefined,
    );
    assert.equal(
      await readHookSecret({ ...base, secret_env: null, secret_file: "missing" }, dir),
      undefined,
    );
    assert.equal(
      await readHookSecret({ ...base, secret_env: null, secret_file: null }, dir),
      undefined,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
