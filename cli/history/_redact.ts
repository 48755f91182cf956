/**
 * History data must never hold secrets. `redact` is applied to every event's
 * data before it is written: the value of any key matching
 * /secret|token|password|key/i, at any depth, becomes "[REDACTED]". Values
 * are first taken through JSON (so a Secret wrapper's `toJSON` and
 * `undefined` fields behave as they would when written).
 */

export const REDACTED = "[REDACTED]";
export const SECRET_KEY = /secret|token|password|key/i;

function walk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(walk);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : walk(v);
    return out;
  }
  return value;
}

/** A JSON-safe copy of `value` with secret-looking keys' values replaced. */
export function redact<T>(value: T): T {
  const json = JSON.stringify(value);
  if (json === undefined) return value;
  return walk(JSON.parse(json)) as T;
}
