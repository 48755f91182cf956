import { SwiftDeployError } from "../errors/mod.ts";

/**
 * Escapes `value` for the inside of a single-quoted nginx string of a
 * directive that interpolates variables (`return`, `set`): `\` and `'` are
 * backslash-escaped, and `$` (which nginx cannot escape) becomes the
 * `${dollar}` variable, which the nginx template must define as "$".
 */
export function nginxQuotedText(value: string): string {
  return value.replace(/[\\']/g, (c) => `\\${c}`).replaceAll("$", () => "${dollar}");
}

/** A JSON string literal (quotes included) for the inside of a single-quoted nginx string. */
export function nginxQuotedJson(value: string): string {
  return nginxQuotedText(JSON.stringify(value));
}

/** Text for the rest of a `#` comment line: quoted, escapes instead of line breaks. */
export function commentText(value: string): string {
  return JSON.stringify(value);
}

/** A whole number in `min..max` as text; anything else is a bug upstream. */
export function integerText(what: string, value: number, min: number, max: number): string {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot render ${what}: expected a whole number between ${min} and ${max}, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return String(value);
}

/** A lowercase sha256 hex digest, checked. */
export function sha256Text(value: string): string {
  if (!/^[0-9a-f]{64}$/.test(value)) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot render the manifest hash: expected 64 lowercase hex digits, got "${value}"`,
    );
  }
  return `sha256:${value}`;
}
