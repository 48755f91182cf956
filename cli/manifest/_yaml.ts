/**
 * Thin layer over npm:yaml shared by parsing and editing: one set of parse
 * options, YAML syntax errors as FileIssues, and source positions.
 */

import YAML, { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node } from "yaml";
import type { FileIssue } from "../errors/mod.ts";

export interface ParsedYaml {
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** YAML syntax errors, one per source position, in source order. */
  syntaxIssues: FileIssue[];
}

/**
 * Parses one YAML document keeping source tokens and positions. Duplicate keys
 * are not a YAML error here: the manifest walker reports them with their key path.
 */
export function parseYaml(text: string, fileName: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, {
    keepSourceTokens: true,
    lineCounter,
    prettyErrors: false,
    uniqueKeys: false,
  });
  const seen = new Set<string>();
  const syntaxIssues: FileIssue[] = [];
  for (const error of doc.errors) {
    const located = locateError(text, doc, error);
    if (located === undefined) continue;
    const { line, col } = lineCounter.linePos(located.offset);
    if (seen.has(`${line}:${col}`)) continue;
    seen.add(`${line}:${col}`);
    syntaxIssues.push({ file: fileName, line, col, path: "", message: located.message });
  }
  syntaxIssues.sort((a, b) => a.line - b.line || a.col - b.col);
  return { doc, lineCounter, syntaxIssues };
}

interface YamlError {
  code: string;
  message: string;
  pos: [number, number];
}

/**
 * Where and how to report one YAML error. npm:yaml places some errors far from
 * their cause (an unclosed quote at the end of the file, a too-deep indent on
 * the line above): these are moved to the line the operator has to fix.
 * Undefined for an error another one already explains.
 */
function locateError(
  text: string,
  doc: Document.Parsed,
  error: YamlError,
): { offset: number; message: string } | undefined {
  const [start, end] = error.pos;
  switch (error.code) {
    case "TAB_AS_INDENT":
      return {
        offset: start,
        message: "Invalid YAML: tabs are not allowed as indentation: indent with spaces",
      };
    case "MULTIPLE_DOCS":
      return {
        offset: start,
        message: 'Invalid YAML: the manifest must hold a single document: remove the extra "---"',
      };
    case "MULTILINE_IMPLICIT_KEY": {
      // The key that continues the line above: point at the start of its own line.
      const lineStart = text.lastIndexOf("\n", Math.max(end - 1, 0)) + 1;
      const indent = /^[ ]*/.exec(text.slice(lineStart))?.[0].length ?? 0;
      return {
        offset: lineStart + indent,
        message:
          "Invalid YAML: bad indentation: this line is indented deeper than the key above it",
      };
    }
    case "BLOCK_AS_IMPLICIT_KEY": {
      const explained = doc.errors.some((e) =>
        e.code === "MULTILINE_IMPLICIT_KEY" && e.pos[0] === start
      );
      if (explained) return undefined;
      return {
        offset: start,
        message: 'Invalid YAML: a plain value cannot contain ": ": quote it',
      };
    }
    case "MISSING_CHAR": {
      const quote = /closing (["'])quote/.exec(error.message)?.[1];
      if (quote !== undefined) {
        const opening = openingQuote(doc, start, quote);
        return {
          offset: opening,
          message: `Invalid YAML: this ${quote} quote is never closed`,
        };
      }
      break;
    }
    case "BAD_INDENT": {
      // An unterminated or under-indented flow collection: point at its bracket.
      const opening = openingBracket(doc, start);
      if (opening !== undefined) return { offset: opening, message: plainMessage(error) };
      break;
    }
  }
  return { offset: start, message: plainMessage(error) };
}

function plainMessage(error: YamlError): string {
  const first = error.message.replace(/\.$/, "").split("\n")[0] ?? "";
  return `Invalid YAML: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
}

/** The offset of the quote opening the unterminated scalar that ends at `end`. */
function openingQuote(doc: Document.Parsed, end: number, quote: string): number {
  const type = quote === '"' ? "QUOTE_DOUBLE" : "QUOTE_SINGLE";
  let found = end;
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (node.type === type && node.range && node.range[1] === end) {
        found = node.range[0];
        return YAML.visit.BREAK;
      }
    },
  });
  return found;
}

/** The offset of the bracket opening the flow collection that ends at `end`, if any. */
function openingBracket(doc: Document.Parsed, end: number): number | undefined {
  let found: number | undefined;
  const check = (node: { flow?: boolean; range?: [number, number, number] | null }) => {
    if (node.flow && node.range && node.range[1] === end) {
      found = node.range[0];
      return YAML.visit.BREAK;
    }
  };
  YAML.visit(doc, { Map: (_key, node) => check(node), Seq: (_key, node) => check(node) });
  return found;
}

/** Follows an alias to the node it names; other nodes are returned as they are. */
export function resolveAlias(doc: Document.Parsed, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

/** True for a missing value, `~`, `null` or nothing after the colon. */
export function isNullNode(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/** The source text a node spans, without trailing comments. */
export function sourceOf(text: string, node: Node): string {
  const range = node.range;
  return range ? text.slice(range[0], range[1]).trim() : "";
}

/** How a value is shown after "got" in messages: strings quoted, others as written. */
export function describeNode(text: string, node: unknown): string {
  if (isNullNode(node)) return "null";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    if (typeof node.value === "string") {
      const shown = node.value.length > 60 ? `${node.value.slice(0, 57)}...` : node.value;
      return JSON.stringify(shown);
    }
    return sourceOf(text, node) || String(node.value);
  }
  return "an unsupported value";
}
