/**
 * Content digests, one of each: sha256 as lowercase hex, and the canonical
 * JSON text that equal values share (so equal values hash equal). Pure.
 */

import { createHash } from "node:crypto";

/**
 * Lowercase hex sha256 (FIPS 180-4) of `data`; a string is hashed as its
 * UTF-8 bytes (directly, without a TextEncoder round trip).
 *
 * @returns 64 hex characters
 */
export function sha256Hex(data: string | Uint8Array): string {
  return (typeof data === "string"
    ? createHash("sha256").update(data, "utf8")
    : createHash("sha256").update(data)).digest("hex");
}

/**
 * JSON with object keys sorted at every depth and no whitespace, so equal
 * values always give equal text (and equal hashes). `undefined` members are
 * left out, as JSON.stringify does.
 *
 * @throws TypeError for a number that is not finite (JSON has no NaN or Infinity)
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/**
 * `value` with object keys sorted (by UTF-16 code units, as
 * `Array.prototype.sort`) at every depth, for display as well as hashing.
 *
 * @throws TypeError for a number that is not finite
 */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError(`Cannot encode canonical JSON: ${value} is not a finite number`);
  }
  if (value === null || typeof value !== "object") return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  }
  return sorted;
}
