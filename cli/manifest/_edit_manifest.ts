/**
 * editManifestText: change one scalar of the manifest text and nothing else.
 * Pure: no I/O.
 *
 * The new value is spliced over the old value's bytes, so comments, key order,
 * quoting of other values and blank lines stay exactly as they were. A key that
 * is missing from an existing block mapping is added as a new line at the end
 * of that mapping, indented like its siblings. The result is re-parsed and
 * compared with the intended change before it is returned.
 */

import { isDeepStrictEqual } from "node:util";
import YAML, { isAlias, isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap } from "yaml";
import { ExitCode, ManifestError, SwiftDeployError } from "../errors/mod.ts";
import { parseYaml } from "./_yaml.ts";

export type ManifestValue = string | number | boolean;

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Returns `text` with the value at `keyPath` set to `value`, every other byte
 * unchanged (a missing key is added at the end of its mapping). Does not check
 * the manifest schema: parse the result with parseManifest for that.
 *
 * @throws ManifestError when `text` is not valid YAML
 * @throws SwiftDeployError USAGE when `keyPath` does not name a single value
 */
export function editManifestText(
  text: string,
  keyPath: readonly string[],
  value: ManifestValue,
  fileName = "manifest.yaml",
): string {
  const dotted = keyPath.join(".");
  const refuse = (detail: string) =>
    new SwiftDeployError("USAGE", `Cannot set "${dotted}": ${detail}`, {
      exitCode: ExitCode.invalid,
      hint: "name one existing value by its dotted key path, e.g. services.mode",
    });
  if (keyPath.length === 0) throw refuse("the key path is empty");
  if (keyPath.includes("__proto__")) throw refuse('"__proto__" is not a manifest key');
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw refuse(`${value} is not a finite number`);
  }

  const { doc, lineCounter, syntaxIssues } = parseYaml(text, fileName);
  if (syntaxIssues.length > 0) throw new ManifestError(syntaxIssues);

  let edited: string | undefined;
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) {
    edited = insertLines(text, text.length, 0, keyPath, value);
  } else if (!isMap(root)) {
    throw refuse("the manifest is not a mapping");
  }

  let map = root as YAMLMap | null;
  for (let depth = 0; edited === undefined && map !== null; depth++) {
    const key = keyPath[depth]!;
    const here = keyPath.slice(0, depth + 1).join(".");
    const pairs = (map.items as Pair<unknown, unknown>[]).filter((pair) =>
      isScalar(pair.key) && String(pair.key.value) === key
    );
    if (pairs.length > 1) throw refuse(`"${here}" is defined more than once`);
    const pair = pairs[0];

    if (pair === undefined) {
      if (map.flow) throw refuse(`"${here}" is missing and its mapping is written in flow style`);
      const bad = keyPath.slice(depth).find((k) => !SIMPLE_KEY.test(k));
      if (bad !== undefined) throw refuse(`"${bad}" is not a simple key`);
      const start = map.range?.[0] ?? 0;
      const indent = lineCounter.linePos(start).col - 1;
      edited = insertLines(
        text,
        map.range?.[1] ?? text.length,
        indent,
        keyPath.slice(depth),
        value,
      );
      break;
    }

    const node = pair.value as Node | null;
    if (depth === keyPath.length - 1) {
      if (isMap(node) || isSeq(node)) {
        throw refuse(`"${here}" holds a mapping or list, not a value`);
      }
      if (node === null || !node.range) throw refuse(`"${here}" has no value to replace`);
      edited = splice(text, node, value);
      break;
    }
    if (isAlias(node)) throw refuse(`"${here}" is an alias`);
    if (!isMap(node)) throw refuse(`"${here}" is not a mapping`);
    map = node;
  }

  if (edited === undefined) throw refuse("the key path was not found");
  verify(doc.toJS(), edited, keyPath, value, dotted);
  return edited;
}

/** Replaces the bytes of one scalar (or alias) with `value`, keeping its quoting style. */
function splice(text: string, node: Node, value: ManifestValue): string {
  const [start, end] = node.range!;
  const old = text.slice(start, end);
  const style = isScalar(node) ? node.type : undefined;
  let replacement = render(value, style);
  if (start === end && start > 0 && !/\s/.test(text[start - 1]!)) replacement = ` ${replacement}`;
  // A block scalar's range ends after its last line break: keep that break.
  if ((style === "BLOCK_LITERAL" || style === "BLOCK_FOLDED") && old.endsWith("\n")) {
    replacement += "\n";
  }
  return text.slice(0, start) + replacement + text.slice(end);
}

/** Adds `keys` (nested, the last one holding `value`) as new lines at `offset`. */
function insertLines(
  text: string,
  offset: number,
  indent: number,
  keys: readonly string[],
  value: ManifestValue,
): string {
  const lines = keys.map((key, i) => {
    const pad = " ".repeat(indent + 2 * i);
    return i === keys.length - 1 ? `${pad}${key}: ${render(value)}` : `${pad}${key}:`;
  });
  const before = text.slice(0, offset);
  const lead = before === "" || before.endsWith("\n") ? "" : "\n";
  return `${before}${lead}${lines.join("\n")}\n${text.slice(offset)}`;
}

/** YAML source for `value`; strings keep the quoting style of the value they replace. */
function render(value: ManifestValue, style?: string): string {
  if (typeof value !== "string") return String(value);
  if (style === "QUOTE_DOUBLE") return JSON.stringify(value);
  if (style === "QUOTE_SINGLE") return `'${value.replaceAll("'", "''")}'`;
  return plainIsSafe(value) ? value : JSON.stringify(value);
}

/** True when `value` written unquoted reads back as the same string. */
function plainIsSafe(value: string): boolean {
  if (value === "" || value !== value.trim() || /[\r\n\t]/.test(value)) return false;
  const doc = YAML.parseDocument(`k: ${value}\n`);
  return doc.errors.length === 0 && isDeepStrictEqual(doc.toJS(), { k: value });
}

/** Checks that `edited` differs from the original data exactly at `keyPath`. */
function verify(
  before: unknown,
  edited: string,
  keyPath: readonly string[],
  value: ManifestValue,
  dotted: string,
): void {
  const expected: Record<string, unknown> = before !== null && typeof before === "object"
    ? structuredClone(before as Record<string, unknown>)
    : {};
  let cursor = expected;
  keyPath.forEach((key, i) => {
    if (i === keyPath.length - 1) {
      cursor[key] = value;
      return;
    }
    const next = cursor[key];
    if (next === null || typeof next !== "object") cursor[key] = {};
    cursor = cursor[key] as Record<string, unknown>;
  });
  const after = YAML.parseDocument(edited, { uniqueKeys: false });
  if (after.errors.length > 0 || !isDeepStrictEqual(after.toJS(), expected)) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot set "${dotted}" safely: the edited text does not read back as intended`,
      { hint: "edit the manifest by hand; nothing was changed" },
    );
  }
}
