/**
 * The pure part of sealing (see `_seal.ts` for the construction and where
 * keys live): a key that MACs text, and the `mac` suffix of a sealed line.
 */

import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

/** Sealed lines say which key sealed them: 32 lowercase hex digits. */
export const KEY_ID = /^[0-9a-f]{32}$/;

/** A loaded key: the id and the raw 32 bytes. Its inspection never shows the bytes. */
export class SealKey {
  readonly id: string;
  readonly #bytes: Uint8Array;
  constructor(id: string, bytes: Uint8Array) {
    this.id = id;
    this.#bytes = bytes;
  }
  /** HMAC-SHA256 hex of `text` (UTF-8) under this key. */
  mac(text: string): string {
    // A string goes in as UTF-8 without a TextEncoder round trip (3x faster here).
    return createHmac("sha256", this.#bytes).update(text, "utf8").digest("hex");
  }
  /** Whether `mac` is the HMAC of `text`, compared in constant time. */
  check(text: string, mac: string): boolean {
    const want = Buffer.from(this.mac(text), "hex");
    const got = Buffer.from(mac, "hex");
    return want.length === got.length && timingSafeEqual(want, got);
  }
  toString(): string {
    return `SealKey(${this.id})`;
  }
  toJSON(): string {
    return this.toString();
  }
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

const MAC_SUFFIX = /,"mac":"([0-9a-f]{64})"\}$/;

/**
 * Seals an unsealed line body `{"v":2,…,"key":"<id>"}`: appends
 * `,"mac":"<HMAC-SHA256 of the body>"` before the closing brace.
 */
export function sealBody(body: string, key: SealKey): string {
  return `${body.slice(0, -1)},"mac":"${key.mac(body)}"}`;
}

/** The body a sealed line's MAC covers, and the MAC; undefined when the line does not end in one. */
export function splitSeal(line: string): { body: string; mac: string } | undefined {
  const m = MAC_SUFFIX.exec(line);
  if (!m) return undefined;
  return { body: line.slice(0, m.index) + "}", mac: m[1]! };
}
