/**
 * Shared setup for the manifest's unit tests (`*_section_test.ts`,
 * `_parse_manifest_test.ts`): the smallest valid manifest and the helper
 * that reads the problems a bad one is refused with. Test-only; nothing in
 * the CLI imports it.
 */
import assert from "node:assert/strict";
import { formatFileIssue, ManifestError } from "../errors/mod.ts";
import { parseManifest, type ParseOptions } from "./_parse_manifest.ts";

/** `services:` with only its required keys (lines 1–3). */
export const SERVICES = ["services:", "  image: app:1", "  port: 3000"].join("\n") + "\n";

/** `nginx:` with only its required keys (3 lines). */
export const NGINX = ["nginx:", "  image: nginx:latest", "  port: 8080"].join("\n") + "\n";

/**
 * The required keys only, lines 1–6 (`services` then `nginx`): a test
 * appends its section from line 7, so the line:col in its expected messages
 * count from there.
 */
export const BASE = SERVICES + NGINX;

/**
 * The problems `parseManifest(text, file, options)` refuses `text` with,
 * each formatted `file:line:col path: message` as the CLI prints them.
 *
 * Throws (an assertion error) when `text` parses, and rethrows any error
 * that is not a `ManifestError`.
 */
export function problems(
  text: string,
  file = "manifest.yaml",
  options: ParseOptions = {},
): string[] {
  try {
    parseManifest(text, file, options);
  } catch (error) {
    if (error instanceof ManifestError) return error.issues.map(formatFileIssue);
    throw error;
  }
  assert.fail("expected a ManifestError");
}
