/**
 * Registry credentials and the headers that carry them (pure). The password
 * is a `Secret`; every header built from it is a `Secret` too, since base64
 * hides nothing.
 */
import { Secret } from "./_secret.ts";

/** A user and password for a registry's basic or token auth. */
export interface RegistryCredentials {
  username: string;
  password: Secret;
}

function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

/**
 * The Engine API's `X-Registry-Auth` header for a push or pull: the
 * URL-safe base64 (with padding, as Docker's `registry.DecodeAuthConfig`
 * reads it) of `{"username","password","serveraddress"}`, or of `{}` for an
 * anonymous registry (Docker 20.10 refuses a push without the header).
 */
export function engineAuthHeader(
  serverAddress: string,
  credentials: RegistryCredentials | undefined,
): Secret {
  const json = credentials
    ? JSON.stringify({
      username: credentials.username,
      password: credentials.password.reveal(),
      serveraddress: serverAddress,
    })
    : "{}";
  return new Secret(base64(json).replace(/\+/g, "-").replace(/\//g, "_"));
}

/** `Authorization: Basic base64(user:password)` (RFC 7617). */
export function basicAuthorization(credentials: RegistryCredentials): Secret {
  return new Secret(`Basic ${base64(`${credentials.username}:${credentials.password.reveal()}`)}`);
}

/** A parsed `WWW-Authenticate` challenge: the scheme (lowercase) and its parameters. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses the first challenge of a `WWW-Authenticate` header (RFC 9110
 * 11.6.1), e.g. `Bearer realm="https://auth/token",service="registry"`.
 * Parameter names are lowercased; quoted values are unescaped.
 * Undefined when the header is empty or has no scheme.
 */
export function parseChallenge(header: string | null): AuthChallenge | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*(.*)$/s.exec(header ?? "");
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!)) !== null) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
    if (re.lastIndex >= m[2]!.length) break;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}
