/**
 * A secret as a type (STYLE 13): printing, serialising or inspecting it
 * shows `[REDACTED]`; only `reveal()` hands out the value, and only the code
 * that sends it (a request header) calls it.
 */

/** What a secret shows wherever it is printed. */
export const REDACTED = "[REDACTED]";

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The value itself: for the header that carries it, never for a message. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [Symbol.for("Deno.customInspect")](): string {
    return REDACTED;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}

/**
 * `text` with every secret's value, and the encodings a registry exchange
 * carries it in (standard and URL-safe base64 of itself, padded or not),
 * replaced by `[REDACTED]`. For messages that quote an engine's or a
 * registry's answer, which could echo what they were sent.
 */
export function scrubSecrets(text: string, secrets: readonly Secret[]): string {
  let out = text;
  for (const secret of secrets) {
    const value = secret.reveal();
    if (value.length === 0) continue;
    const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(value)));
    const forms = new Set([
      value,
      b64,
      b64.replace(/=+$/, ""),
      b64.replace(/\+/g, "-").replace(/\//g, "_"),
      b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
    ]);
    for (const form of [...forms].sort((a, b) => b.length - a.length)) {
      if (form) out = out.split(form).join(REDACTED);
    }
  }
  return out;
}
