/**
 * Engine API version negotiation (pure). The engine's `GET /version` says the
 * range it serves, `[MinAPIVersion, ApiVersion]`; every versioned path outside
 * that range is refused with HTTP 400 ("client version 1.41 is too old").
 * The client speaks the newest version both sides serve.
 *
 * What the client range means: every request body this project sends and
 * every response field it reads was checked against the Engine API version
 * history (https://docs.docker.com/reference/api/engine/version-history/)
 * from 1.40 to 1.52 (Docker 19.03 to Docker 29):
 * - 1.44 deprecates `CheckDuplicate` in POST /networks/create (ignored; a
 *   duplicate name is always refused, which is what we ask for) and stops
 *   sending `VirtualSize` (we read `Size`);
 * - 1.45 stops adding the short container id to `Aliases` in container
 *   inspect (we read only the aliases we set);
 * - 1.52 omits unset image `Config` fields (`User`, `Labels`…: optional in
 *   our types) and the long-deprecated `status`/`id`/`from` event fields
 *   (we read no event field by those names).
 * The classic builder's stream (`POST /build`, `version=1`) keeps
 * `{"aux":{"ID":…}}` for the built image across the range.
 */

/** The oldest and newest Engine API versions this client speaks ("MAJOR.MINOR"). */
export const CLIENT_API_RANGE: ApiRange = { min: "1.40", max: "1.52" };

/** An inclusive range of Engine API versions, each "MAJOR.MINOR". */
export interface ApiRange {
  min: string;
  max: string;
}

/** Why negotiation failed; the caller turns it into a typed error. */
export type NegotiationProblem =
  | { kind: "malformed"; field: "ApiVersion" | "MinAPIVersion"; value: unknown }
  | { kind: "no-overlap"; engine: ApiRange; client: ApiRange };

/** The outcome of {@link negotiateApiVersion}: the version to speak, or why there is none. */
export type Negotiation =
  | { ok: true; version: string; engine: ApiRange }
  | { ok: false; problem: NegotiationProblem };

const VERSION_RE = /^(\d+)\.(\d+)$/;

/** Parses "MAJOR.MINOR" into numbers; undefined when the text is not of that form. */
export function parseApiVersion(text: unknown): [number, number] | undefined {
  if (typeof text !== "string") return undefined;
  const m = VERSION_RE.exec(text.trim());
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2])];
}

/** Compares two "MAJOR.MINOR" versions numerically (1.9 < 1.10): negative, 0 or positive. */
export function compareApiVersions(a: string, b: string): number {
  const pa = parseApiVersion(a);
  const pb = parseApiVersion(b);
  if (!pa || !pb) throw new TypeError(`Cannot compare API versions "${a}" and "${b}"`);
  return pa[0] !== pb[0] ? pa[0] - pb[0] : pa[1] - pb[1];
}

const maxOf = (a: string, b: string) => compareApiVersions(a, b) >= 0 ? a : b;
const minOf = (a: string, b: string) => compareApiVersions(a, b) <= 0 ? a : b;

/** Normalises "1.052" or " 1.52" to "1.52". */
const canonical = (v: [number, number]) => `${v[0]}.${v[1]}`;

/**
 * Picks the API version to speak with an engine, from its `GET /version`
 * answer: `min(engine ApiVersion, client max)`, provided it is at least
 * `max(engine MinAPIVersion, client min)`. An engine that does not report
 * `MinAPIVersion` (older than API 1.25) is taken to serve only its own
 * `ApiVersion` and below down to the client's minimum. Pure: no I/O.
 */
export function negotiateApiVersion(
  engineVersion: { ApiVersion?: unknown; MinAPIVersion?: unknown },
  client: ApiRange = CLIENT_API_RANGE,
): Negotiation {
  const max = parseApiVersion(engineVersion.ApiVersion);
  if (!max) {
    return {
      ok: false,
      problem: { kind: "malformed", field: "ApiVersion", value: engineVersion.ApiVersion },
    };
  }
  let min: [number, number];
  if (engineVersion.MinAPIVersion === undefined || engineVersion.MinAPIVersion === null) {
    min = parseApiVersion(client.min)!;
  } else {
    const parsed = parseApiVersion(engineVersion.MinAPIVersion);
    if (!parsed) {
      return {
        ok: false,
        problem: { kind: "malformed", field: "MinAPIVersion", value: engineVersion.MinAPIVersion },
      };
    }
    min = parsed;
  }
  const engine: ApiRange = { min: canonical(min), max: canonical(max) };
  const low = maxOf(engine.min, client.min);
  const high = minOf(engine.max, client.max);
  if (compareApiVersions(engine.min, engine.max) > 0 || compareApiVersions(high, low) < 0) {
    return { ok: false, problem: { kind: "no-overlap", engine, client } };
  }
  return { ok: true, version: high, engine };
}
