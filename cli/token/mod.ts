/**
 * Bearer tokens for the admin API of `swiftdeploy serve`.
 *
 * A token is `sdt_` followed by 43 base64url characters: 256 random bits
 * from the system's CSPRNG (`crypto.getRandomValues`). It is printed once,
 * by `token create`, and never stored: the store keeps its SHA-256 only.
 *
 * Why SHA-256 and not bcrypt/scrypt/argon2: those slow hashes exist to make
 * guessing *low-entropy* secrets (passwords) expensive after a leak. A token
 * with 256 random bits cannot be guessed whatever the hash costs (2^255
 * tries on average), so a slow hash would only add milliseconds to every API
 * request. The same reasoning is used by GitHub's and GitLab's token stores.
 *
 * The store is `tokens.json` in the deployment's state folder
 * (`.swiftdeploy/`), mode 0600, replaced atomically on every change. A
 * revoked token keeps its record (with `revoked_at`), so the history's
 * `token:<name>` actors stay explainable and a name is never reused.
 *
 * Verification hashes the presented token and compares it with every
 * record's hash in constant time (`timingSafeEqual`, no early exit).
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { sha256Hex } from "../digest/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { atomicWrite, ensureDir, readIfExists, withFileLock } from "../fs/mod.ts";

/** What a token may do: `read` (GET routes, events) or `deploy` (also every change). */
export type Scope = "read" | "deploy";

export const SCOPES: readonly Scope[] = ["read", "deploy"];

/** One token as stored (never the token itself). */
export interface TokenRecord {
  name: string;
  scope: Scope;
  /** sha256 hex of the whole token string. */
  hash: string;
  /** ISO 8601 UTC, seconds. */
  created_at: string;
  /** ISO 8601 UTC, seconds; absent while the token is valid. */
  revoked_at?: string;
}

interface StoreFile {
  version: 1;
  tokens: TokenRecord[];
}

/** The answer to a presented token. */
export type TokenCheck =
  | { ok: true; name: string; scope: Scope }
  | { ok: false; reason: "missing" | "unknown" | "revoked" };

export const TOKEN_PREFIX = "sdt_";
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const TOKEN_RE = /^sdt_[A-Za-z0-9_-]{43}$/;

/** The token store of the deployment whose state folder is `stateDir`. */
export function tokenStorePath(stateDir: string): string {
  return join(stateDir, "tokens.json");
}

const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** A new token: `sdt_` + base64url of 32 random bytes (256 bits). */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return TOKEN_PREFIX + btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** sha256 hex of a token string. Pure. */
export function hashToken(token: string): string {
  return sha256Hex(token);
}

/**
 * Checks `presented` (the bearer value, or undefined when none was sent)
 * against `records`. Every record's hash is compared, in constant time, so
 * the time taken says nothing about which record (if any) matched. Pure.
 */
export function checkToken(
  records: readonly TokenRecord[],
  presented: string | undefined,
): TokenCheck {
  if (presented === undefined || presented === "") return { ok: false, reason: "missing" };
  // A malformed token is hashed too: the answer takes the same path either way.
  const digest = new TextEncoder().encode(hashToken(presented));
  let found: TokenRecord | undefined;
  for (const r of records) {
    const stored = new TextEncoder().encode(r.hash);
    if (stored.length === digest.length && timingSafeEqual(stored, digest) && !found) found = r;
  }
  if (!found || !TOKEN_RE.test(presented)) return { ok: false, reason: "unknown" };
  if (found.revoked_at) return { ok: false, reason: "revoked" };
  return { ok: true, name: found.name, scope: found.scope };
}

/** Whether a token of scope `has` may use a route that needs `needs`. Pure. */
export function scopeAllows(has: Scope, needs: Scope): boolean {
  return has === "deploy" || needs === "read";
}

function storeError(path: string, detail: string, cause?: unknown): SwiftDeployError {
  return new SwiftDeployError("TOKEN_STORE", `Cannot read the token store "${path}": ${detail}`, {
    exitCode: ExitCode.failure,
    hint: `move "${path}" aside and create new tokens with "swiftdeploy token create"`,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Parses the store's text; a missing store has no tokens. */
export function parseStore(path: string, text: string | undefined): TokenRecord[] {
  if (text === undefined) return [];
  let v: Partial<StoreFile>;
  try {
    v = JSON.parse(text) as Partial<StoreFile>;
  } catch (error) {
    throw storeError(path, "not JSON", error);
  }
  if (v?.version !== 1 || !Array.isArray(v.tokens)) throw storeError(path, "not a version 1 store");
  for (const r of v.tokens) {
    if (
      typeof r?.name !== "string" || !SCOPES.includes(r.scope) ||
      typeof r.hash !== "string" || !/^[0-9a-f]{64}$/.test(r.hash)
    ) {
      throw storeError(path, "a record is not a token record");
    }
  }
  return v.tokens;
}

/** Every token record of the store at `path` (revoked ones included). */
export async function readTokens(path: string): Promise<TokenRecord[]> {
  return parseStore(path, await readIfExists(path));
}

async function writeStore(path: string, tokens: TokenRecord[]): Promise<void> {
  const body: StoreFile = { version: 1, tokens };
  await atomicWrite(path, JSON.stringify(body, null, 2) + "\n", { mode: 0o600 });
  await Deno.chmod(path, 0o600); // an existing file keeps its mode in atomicWrite: force it
}

function usage(message: string, hint?: string): SwiftDeployError {
  return new SwiftDeployError("USAGE", message, {
    exitCode: ExitCode.invalid,
    ...(hint ? { hint } : {}),
  });
}

/**
 * Creates a token named `name` with `scope` in the store of `stateDir`.
 *
 * @returns the token (shown to the user once, stored nowhere) and its record
 * @throws SwiftDeployError USAGE (exit 2) on a bad name or scope, or a name
 *   already used (revoked names included)
 */
export async function createToken(
  stateDir: string,
  name: string,
  scope: string,
): Promise<{ token: string; record: TokenRecord }> {
  if (!NAME_RE.test(name)) {
    throw usage(
      `Invalid token name "${name}": 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  if (!SCOPES.includes(scope as Scope)) {
    throw usage(`Invalid scope "${scope}": expected read or deploy`);
  }
  await ensureDir(stateDir, 0o755);
  const path = tokenStorePath(stateDir);
  return await withFileLock(`${path}.lock`, async () => {
    const tokens = await readTokens(path);
    if (tokens.some((t) => t.name === name)) {
      throw usage(
        `Cannot create token "${name}": the name is taken`,
        "names are never reused, so the history's token:<name> stays unambiguous; choose another",
      );
    }
    const token = generateToken();
    const record: TokenRecord = {
      name,
      scope: scope as Scope,
      hash: hashToken(token),
      created_at: nowIso(),
    };
    await writeStore(path, [...tokens, record]);
    return { token, record };
  }, { mode: 0o600 });
}

/**
 * Revokes the token named `name`: the server refuses it (401) from its next
 * request on (it re-reads the store when the file changes). A token revoked
 * before keeps its first `revoked_at` and the store is not written.
 *
 * @returns the record and `already`: true when it was revoked before this call
 * @throws SwiftDeployError USAGE (exit 2) when no token has that name
 */
export async function revokeToken(
  stateDir: string,
  name: string,
): Promise<{ record: TokenRecord; already: boolean }> {
  const path = tokenStorePath(stateDir);
  await ensureDir(stateDir, 0o755);
  return await withFileLock(`${path}.lock`, async () => {
    const tokens = await readTokens(path);
    const found = tokens.find((t) => t.name === name);
    if (!found) throw usage(`Cannot revoke token "${name}": no token has that name`);
    if (found.revoked_at) return { record: found, already: true };
    found.revoked_at = nowIso();
    await writeStore(path, tokens);
    return { record: found, already: false };
  }, { mode: 0o600 });
}

/**
 * The store as the server sees it: re-read whenever the file's modification
 * time or size changed since the last look (one `stat` per request).
 */
export class TokenCache {
  #path: string;
  #key = "";
  #records: TokenRecord[] = [];

  constructor(stateDir: string) {
    this.#path = tokenStorePath(stateDir);
  }

  /** Checks a presented bearer value against the current store. */
  async check(presented: string | undefined): Promise<TokenCheck> {
    let key = "missing";
    try {
      const st = await Deno.stat(this.#path);
      key = `${st.mtime?.getTime()}:${st.size}:${st.ino}`;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (key !== this.#key) {
      this.#records = key === "missing" ? [] : await readTokens(this.#path);
      this.#key = key;
    }
    return checkToken(this.#records, presented);
  }
}
