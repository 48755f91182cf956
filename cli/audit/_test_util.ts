/** Helpers shared by this folder's tests. */

import { SaxesParser } from "saxes";
import type { EventName, HistoryEvent } from "../history/mod.ts";
import { ZERO_HASH } from "../history/mod.ts";
import type { AuditReportOptions } from "./mod.ts";

/** A history event for tests (prev is not chained: rendering does not read it). */
export function ev(ts: string, event: EventName, data: Record<string, unknown>): HistoryEvent {
  return {
    v: 1,
    ts: ts.includes("T") ? ts : `2026-11-21T${ts}.000Z`,
    event,
    actor: { user: "ops", host: "h", pid: 1 },
    data,
    prev: ZERO_HASH,
  };
}

/**
 * Report options for tests: made at `generatedAt` (an ISO 8601 time), the
 * chart beside the report as `audit_report.svg`, and a history of `lines`
 * sealed lines in one file that verified (head and checkpoint match).
 */
export function reportOptions(generatedAt: string, lines: number): AuditReportOptions {
  return {
    generatedAt: new Date(generatedAt),
    chartFileName: "audit_report.svg",
    verification: {
      ok: true,
      lines,
      head: "match",
      files: 1,
      seals: { sealed: lines, unsealed: 0, checkpoint: "match" },
    },
  };
}

/** Cells of a Markdown table row, split on pipes that are not escaped. */
export function cells(row: string): string[] {
  const out: string[] = [];
  let cell = "";
  for (let i = 0; i < row.length; i++) {
    const c = row[i]!;
    if (c === "\\") {
      cell += c + (row[i + 1] ?? "");
      i++;
    } else if (c === "|") {
      out.push(cell);
      cell = "";
    } else cell += c;
  }
  out.push(cell);
  // A row starts and ends with a pipe: drop the empty outer pieces.
  return out.slice(1, -1).map((s) => s.trim());
}

/** Every table of a Markdown document, as rows of cells (separator rows included). */
export function tables(markdown: string): string[][][] {
  const result: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("|")) {
      current ??= [];
      current.push(cells(line));
    } else if (current) {
      result.push(current);
      current = undefined;
    }
  }
  if (current) result.push(current);
  return result;
}

/**
 * The first well-formedness error of `xml` by saxes, a strictly conformant
 * XML 1.0 parser (the independent oracle for the SVG writer), as
 * `line:col: message`; undefined when the document is well-formed.
 */
export function xmlProblem(xml: string): string | undefined {
  const parser = new SaxesParser();
  let problem: string | undefined;
  parser.on("error", (error) => {
    problem ??= error.message;
  });
  try {
    parser.write(xml).close();
  } catch (error) {
    problem ??= (error as Error).message;
  }
  return problem;
}
