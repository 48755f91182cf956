/**
 * `POST /v1/hooks/git` (issue 16 part 4): a git host's push event, signed
 * with HMAC-SHA256 over the raw body in GitHub's format
 * (`X-Hub-Signature-256: sha256=<hex>`), deploys the pushed commit of
 * `services.source` through the normal deploy (`deploy --ref <sha>` as an
 * operation of the server). Authentication here is the signature, not a
 * bearer token.
 *
 * Request lifecycle, first answer wins:
 * 1. body over 1 MiB (declared or read; reading stops at the limit): 413;
 * 2. the manifest names no `services.source`: 404; no secret is configured
 *    or it cannot be read: 503 (the secret is read per request, so a
 *    rotated file takes effect at once; it is never logged or written);
 * 3. signature missing or malformed: 401; wrong (constant-time compare): 401;
 * 4. no or malformed `X-GitHub-Delivery`: 400;
 * 5. `X-GitHub-Event: ping`: 200; the delivery id already seen: 409
 *    (ids persist in `.swiftdeploy/hooks/deliveries.json`, the last 10,000);
 * 6. not a push, a deleted branch, another branch than
 *    `services.source.branch`: 202 `ignored`, recorded in the history;
 * 7. body not JSON, no commit id: 400;
 * 8. another change of this server runs: 409 (the delivery is not kept, so
 *    the git host's redelivery works later);
 * 9. otherwise 202 `accepted` with `Location: /v1/operations/{id}`; the
 *    history gets `webhook_delivery` and, from the operation, the deploy.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { isAbsolute, join, resolve } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import { atomicWrite, ensureDir } from "../fs/mod.ts";
import { loadManifest, type SourceSpec } from "../manifest/mod.ts";
import type { HookDeps } from "./_types.ts";
import { readCappedBody } from "./_body.ts";

/** Largest body the webhook reads (bytes); GitHub caps its payloads at 25 MB, pushes are far smaller. */
export const MAX_HOOK_BODY_BYTES = 1024 * 1024;
/** Delivery ids kept against replay. */
export const MAX_KEPT_DELIVERIES = 10_000;
/** Milliseconds the body may take to arrive. */
const HOOK_BODY_TIMEOUT_MS = 10_000;

const DELIVERY_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
const SIGNATURE_PATTERN = /^sha256=([0-9a-fA-F]{64})$/;
const SHA_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });

/** Lowercase hex of HMAC-SHA256(secret, body). Pure (Web Crypto). */
export async function hmacSha256Hex(secret: string, body: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, body as BufferSource));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Checks `X-Hub-Signature-256` against the body: `missing` (no header),
 * `malformed` (not `sha256=` and 64 hex digits), `wrong`, or `ok`. The
 * digests are compared in constant time (node:crypto `timingSafeEqual`).
 */
export async function checkSignature(
  header: string | null,
  secret: string,
  body: Uint8Array,
): Promise<"ok" | "missing" | "malformed" | "wrong"> {
  if (header === null || header.trim() === "") return "missing";
  const m = SIGNATURE_PATTERN.exec(header.trim());
  if (!m) return "malformed";
  const expected = new TextEncoder().encode(await hmacSha256Hex(secret, body));
  const given = new TextEncoder().encode(m[1]!.toLowerCase());
  return timingSafeEqual(expected, given) ? "ok" : "wrong";
}

/** What a push event asks for, read from its JSON. Pure. */
export type PushDecision =
  | { kind: "deploy"; ref: string; sha: string }
  | { kind: "ignore"; ref: string | null; sha: string | null; reason: string }
  | { kind: "invalid"; message: string };

/**
 * Reads a push event (GitHub's shape: `ref`, `after`, `deleted`) against
 * the followed branch. Pure.
 */
export function decidePush(payload: unknown, branch: string): PushDecision {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    return { kind: "invalid", message: "The push event must be a JSON object" };
  }
  const p = payload as Record<string, unknown>;
  if (typeof p.ref !== "string" || p.ref.length > 512) {
    return { kind: "invalid", message: 'The push event has no "ref"' };
  }
  const after = typeof p.after === "string" ? p.after.toLowerCase() : null;
  const want = `refs/heads/${branch}`;
  if (p.ref !== want) {
    return {
      kind: "ignore",
      ref: p.ref,
      sha: after !== null && SHA_PATTERN.test(after) ? after : null,
      reason: `the manifest follows ${want}, not ${p.ref}`,
    };
  }
  if (p.deleted === true || (after !== null && /^0+$/.test(after))) {
    return { kind: "ignore", ref: p.ref, sha: null, reason: `${want} was deleted` };
  }
  if (after === null || !SHA_PATTERN.test(after)) {
    return { kind: "invalid", message: 'The push event has no commit id in "after"' };
  }
  return { kind: "deploy", ref: p.ref, sha: after };
}

/**
 * Reads the webhook secret the manifest names (an environment variable of
 * this server, or a file relative to the manifest), trailing newline
 * removed; undefined when none is configured or it is empty/unreadable.
 */
export async function readHookSecret(
  spec: SourceSpec,
  manifestDir: string,
): Promise<string | undefined> {
  let value: string | undefined;
  if (spec.secret_env !== null) value = Deno.env.get(spec.secret_env);
  else if (spec.secret_file !== null) {
    const path = isAbsolute(spec.secret_file)
      ? spec.secret_file
      : resolve(manifestDir, spec.secret_file);
    value = await Deno.readTextFile(path).catch(() => undefined);
  }
  value = value?.replace(/\r?\n$/, "");
  return value ? value : undefined;
}

interface DeliveryRecord {
  id: string;
  at: string;
  outcome: "accepted" | "ignored";
}

/** One chain of delivery-store updates per state folder: check-and-record is atomic in this process. */
const storeQueues = new Map<string, Promise<unknown>>();

function deliveriesFile(stateDir: string): string {
  return join(stateDir, "hooks", "deliveries.json");
}

async function readDeliveries(stateDir: string): Promise<DeliveryRecord[]> {
  try {
    const doc = JSON.parse(await Deno.readTextFile(deliveriesFile(stateDir)));
    return Array.isArray(doc?.deliveries) ? doc.deliveries as DeliveryRecord[] : [];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    // A damaged store must not let every old delivery be replayed: refuse until repaired.
    throw new SwiftDeployError(
      "SERVE_FAILED",
      `Cannot read "${deliveriesFile(stateDir)}": ${(error as Error).message}`,
    );
  }
}

/** Runs `fn` after every earlier store update of `stateDir` has finished. */
function serialised<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  const prev = storeQueues.get(stateDir) ?? Promise.resolve();
  const next = prev.catch(() => {}).then(fn);
  storeQueues.set(stateDir, next);
  return next;
}

async function recordDelivery(stateDir: string, rec: DeliveryRecord): Promise<void> {
  const list = await readDeliveries(stateDir);
  list.push(rec);
  await ensureDir(join(stateDir, "hooks"), 0o700);
  await atomicWrite(
    deliveriesFile(stateDir),
    JSON.stringify({ deliveries: list.slice(-MAX_KEPT_DELIVERIES) }) + "\n",
    { mode: 0o600 },
  );
}

/** Handles one git push delivery (see the module doc). */
export async function handleGitHook(req: Request, deps: HookDeps): Promise<Response> {
  const read = await readCappedBody(req, MAX_HOOK_BODY_BYTES, HOOK_BODY_TIMEOUT_MS);
  if (!read.ok) {
    return json(read.status, { error: read.error, message: read.message }, {
      connection: "close",
    });
  }
  const body = read.body;

  const loaded = await loadManifest(deps.manifestPath);
  const spec = loaded.manifest.services.source;
  if (!spec) {
    return json(404, {
      error: "not_configured",
      message: "The manifest names no services.source: webhook deploys are off",
    });
  }
  const secret = await readHookSecret(spec, loaded.dir);
  if (secret === undefined) {
    return json(503, {
      error: "no_secret",
      message: "No webhook secret is configured or it cannot be read " +
        "(services.source.secret_env or secret_file)",
    });
  }
  const signature = await checkSignature(req.headers.get("x-hub-signature-256"), secret, body);
  if (signature !== "ok") {
    return json(401, {
      error: "bad_signature",
      message: signature === "missing"
        ? "X-Hub-Signature-256 is required (sha256=<hex HMAC of the body>)"
        : signature === "malformed"
        ? "X-Hub-Signature-256 must be sha256= and 64 hex digits"
        : "The signature does not match the body",
    });
  }
  const delivery = req.headers.get("x-github-delivery")?.trim() ?? "";
  if (!DELIVERY_PATTERN.test(delivery)) {
    return json(400, {
      error: "bad_delivery",
      message: "X-GitHub-Delivery is required: 1 to 128 letters, digits, '.', '_' or '-'",
    });
  }
  const event = (req.headers.get("x-github-event") ?? "push").trim().slice(0, 64);
  if (event === "ping") return json(200, { status: "pong", delivery });

  return await serialised(deps.stateDir, async () => {
    const seen = (await readDeliveries(deps.stateDir)).some((d) => d.id === delivery);
    if (seen) {
      return json(409, {
        error: "replayed",
        message: `Delivery "${delivery}" was already received`,
      });
    }
    let decision: PushDecision;
    if (event !== "push") {
      decision = { kind: "ignore", ref: null, sha: null, reason: `a "${event}" event, not a push` };
    } else {
      let payload: unknown;
      try {
        payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
      } catch {
        return json(400, { error: "bad_json", message: "The body is not valid JSON" });
      }
      decision = decidePush(payload, spec.branch);
    }
    if (decision.kind === "invalid") {
      return json(400, { error: "bad_request", message: decision.message });
    }
    /** Records the delivery against replay, then its history event. */
    const settle = async (
      d: Exclude<PushDecision, { kind: "invalid" }>,
      outcome: DeliveryRecord["outcome"],
      reason: string,
      operation: string | null,
    ) => {
      await recordDelivery(deps.stateDir, { id: delivery, at: new Date().toISOString(), outcome });
      await deps.appendHistory("webhook_delivery", {
        delivery,
        event,
        ref: d.ref,
        sha: d.sha,
        outcome,
        reason,
        operation,
      });
    };
    if (decision.kind === "ignore") {
      await settle(decision, "ignored", decision.reason, null);
      return json(202, { status: "ignored", delivery, reason: decision.reason });
    }
    let op;
    try {
      op = deps.startOperation(["deploy", "--ref", decision.sha], `webhook:${delivery}`);
    } catch (error) {
      if (error instanceof SwiftDeployError) {
        return json(error.code === "LOCKED" ? 409 : 503, {
          error: error.code === "LOCKED" ? "locked" : "stopping",
          message: error.message,
        });
      }
      throw error;
    }
    await settle(
      decision,
      "accepted",
      `deploys ${decision.sha.slice(0, 12)} of ${spec.branch}`,
      op.id,
    );
    return json(202, {
      status: "accepted",
      delivery,
      sha: decision.sha,
      operation: op.id,
      url: op.url,
    }, { location: op.url });
  });
}
