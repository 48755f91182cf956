/**
 * A small Distribution v2 (OCI distribution) HTTP client: ping `/v2/`, and
 * resolve a tag to the digest of its manifest (`HEAD /v2/<repo>/manifests/<tag>`,
 * `Docker-Content-Digest`). Speaks basic auth and the token flow
 * (`WWW-Authenticate: Bearer realm=…,service=…` then `GET realm?service&scope`).
 * Pushing goes through the engine (see `_push.ts`): it owns the layers.
 */
import { SwiftDeployError } from "../errors/mod.ts";
import {
  type AuthChallenge,
  basicAuthorization,
  parseChallenge,
  type RegistryCredentials,
} from "./_auth.ts";
import { sha256Hex } from "../digest/mod.ts";
import { DIGEST_PATTERN } from "./_reference.ts";
import { scrubSecrets, Secret } from "./_secret.ts";

/** The manifest media types a push from Docker 20.10 (or an OCI tool) stores. */
export const MANIFEST_ACCEPT = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

export interface RegistryClientOptions {
  /** Plain HTTP instead of HTTPS. */
  insecure: boolean;
  credentials?: RegistryCredentials | undefined;
  /** Milliseconds per request; default 10 s. */
  timeoutMs?: number;
}

/** A Distribution v2 registry at `host[:port]`. Errors name the registry, never a credential. */
export class RegistryClient {
  readonly address: string;
  readonly #base: string;
  readonly #opts: RegistryClientOptions;
  /** Bearer tokens by scope, for the life of this client. */
  readonly #tokens = new Map<string, Secret>();

  constructor(address: string, opts: RegistryClientOptions) {
    this.address = address;
    this.#base = `${opts.insecure ? "http" : "https"}://${address}`;
    this.#opts = opts;
  }

  #secrets(): Secret[] {
    return this.#opts.credentials ? [this.#opts.credentials.password] : [];
  }

  #fail(code: "REGISTRY_UNAVAILABLE" | "REGISTRY_AUTH_FAILED", what: string, hint?: string): never {
    throw new SwiftDeployError(
      code,
      scrubSecrets(`Registry "${this.address}" ${what}`, this.#secrets()),
      hint ? { hint } : {},
    );
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, {
        ...init,
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 10_000),
      });
    } catch (error) {
      const why = error instanceof DOMException && error.name === "TimeoutError"
        ? `did not answer within ${(this.#opts.timeoutMs ?? 10_000) / 1000} s`
        : `cannot be reached: ${(error as Error).message}`;
      this.#fail(
        "REGISTRY_UNAVAILABLE",
        why,
        this.#opts.insecure
          ? "is it running? (`swiftdeploy lab status` for the lab's registry)"
          : "is it running, and does it serve HTTPS? (set registry.insecure: true for plain HTTP)",
      );
    }
  }

  /** A bearer token for `scope` from the challenge's realm (Docker's token spec). */
  async #token(challenge: AuthChallenge, scope: string): Promise<Secret> {
    const cached = this.#tokens.get(scope);
    if (cached) return cached;
    const realm = challenge.params["realm"];
    if (!realm) this.#fail("REGISTRY_AUTH_FAILED", "asked for a token without a realm");
    const url = new URL(realm);
    if (challenge.params["service"]) url.searchParams.set("service", challenge.params["service"]);
    url.searchParams.set("scope", scope);
    const headers: Record<string, string> = {};
    if (this.#opts.credentials) {
      headers["Authorization"] = basicAuthorization(this.#opts.credentials).reveal();
    }
    const res = await this.#fetch(url.toString(), { headers });
    if (!res.ok) {
      await res.body?.cancel();
      this.#fail(
        "REGISTRY_AUTH_FAILED",
        `refused a token for "${scope}" (HTTP ${res.status})`,
        "check registry.username and its password",
      );
    }
    const body = await res.json() as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === "string" ? body.token : body.access_token;
    if (typeof token !== "string" || !token) {
      this.#fail("REGISTRY_AUTH_FAILED", "gave a token answer without a token");
    }
    const secret = new Secret(`Bearer ${token}`);
    this.#tokens.set(scope, secret);
    return secret;
  }

  /** One request, answering one auth challenge (basic or bearer) when the registry sends it. */
  async #request(method: string, path: string, scope: string, accept?: string): Promise<Response> {
    const headers: Record<string, string> = accept ? { Accept: accept } : {};
    const url = `${this.#base}${path}`;
    const cached = this.#tokens.get(scope);
    if (cached) headers["Authorization"] = cached.reveal();
    let res = await this.#fetch(url, { method, headers });
    if (res.status !== 401) return res;
    await res.body?.cancel();
    const challenge = parseChallenge(res.headers.get("WWW-Authenticate"));
    if (challenge?.scheme === "bearer") {
      headers["Authorization"] = (await this.#token(challenge, scope)).reveal();
    } else if (challenge?.scheme === "basic" && this.#opts.credentials) {
      headers["Authorization"] = basicAuthorization(this.#opts.credentials).reveal();
    } else {
      this.#fail(
        "REGISTRY_AUTH_FAILED",
        `needs credentials for ${method} ${path} (HTTP 401)`,
        "set registry.username and registry.password_env (or password_file) in the manifest",
      );
    }
    res = await this.#fetch(url, { method, headers });
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      this.#fail(
        "REGISTRY_AUTH_FAILED",
        `refused the credentials of "${this.#opts.credentials?.username ?? "(anonymous)"}" ` +
          `for ${method} ${path} (HTTP ${res.status})`,
        "check registry.username and its password",
      );
    }
    return res;
  }

  /**
   * `GET /v2/`: the registry speaks Distribution v2 and takes our
   * credentials (an answer of 200, after at most one auth challenge).
   *
   * @throws SwiftDeployError REGISTRY_UNAVAILABLE (exit 1) when it cannot be
   *   reached or answers anything else; REGISTRY_AUTH_FAILED when it refuses
   */
  async ping(): Promise<void> {
    const res = await this.#request("GET", "/v2/", "registry:catalog:*");
    await res.body?.cancel();
    if (res.status !== 200) {
      this.#fail("REGISTRY_UNAVAILABLE", `answered GET /v2/ with HTTP ${res.status}`);
    }
  }

  /**
   * The manifest `repository:reference` names: its digest (the registry's
   * `Docker-Content-Digest`, checked against the sha256 of the bytes) and the
   * digest of the image config it points at, which is the image ID the
   * engine gives the same image (null for an index of several platforms).
   * Undefined when the registry has no such repository or tag (404).
   *
   * @throws SwiftDeployError REGISTRY_UNAVAILABLE on another answer, a
   *   missing digest or bytes that do not hash to it; REGISTRY_AUTH_FAILED
   *   when it refuses
   */
  async manifest(
    repository: string,
    reference: string,
  ): Promise<{ digest: string; configDigest: string | null } | undefined> {
    const path = `/v2/${repository}/manifests/${reference}`;
    const res = await this.#request("GET", path, `repository:${repository}:pull`, MANIFEST_ACCEPT);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      this.#fail("REGISTRY_UNAVAILABLE", `answered GET ${path} with HTTP ${res.status}`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = `sha256:${sha256Hex(bytes)}`;
    const header = res.headers.get("Docker-Content-Digest");
    if (header !== null && header !== digest) {
      this.#fail("REGISTRY_UNAVAILABLE", `sent ${path} with bytes that do not hash to ${header}`);
    }
    let configDigest: string | null = null;
    try {
      const body = JSON.parse(new TextDecoder().decode(bytes)) as { config?: { digest?: unknown } };
      const d = body.config?.digest;
      if (typeof d === "string" && DIGEST_PATTERN.test(d)) configDigest = d;
    } catch { /* not JSON: no config to compare */ }
    return { digest, configDigest };
  }

  /**
   * The digest of the manifest `repository:tag` names (the registry's
   * `Docker-Content-Digest`), or undefined when the registry has no such
   * repository or tag (404).
   *
   * @throws SwiftDeployError REGISTRY_UNAVAILABLE on another answer or a
   *   missing/malformed digest header; REGISTRY_AUTH_FAILED when it refuses
   */
  async manifestDigest(repository: string, reference: string): Promise<string | undefined> {
    const path = `/v2/${repository}/manifests/${reference}`;
    const res = await this.#request(
      "HEAD",
      path,
      `repository:${repository}:pull`,
      MANIFEST_ACCEPT,
    );
    await res.body?.cancel();
    if (res.status === 404) return undefined;
    if (res.status !== 200) {
      this.#fail("REGISTRY_UNAVAILABLE", `answered HEAD ${path} with HTTP ${res.status}`);
    }
    const digest = res.headers.get("Docker-Content-Digest") ?? "";
    if (!DIGEST_PATTERN.test(digest)) {
      this.#fail("REGISTRY_UNAVAILABLE", `gave no sha256 digest for ${path} (got "${digest}")`);
    }
    return digest;
  }
}
