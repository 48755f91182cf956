/**
 * Reading history.jsonl back for the audit report and the status view.
 */

import type { HistoryEvent } from "./_events.ts";
import { parseLine } from "./_line.ts";

export interface ReadHistoryResult {
  /** Every line that parsed and matched the schema, in file order. */
  events: HistoryEvent[];
  /** 1-based numbers of lines that did not (see `verifyHistory` for why). */
  malformed: number[];
}

/** Parses a history text; blank lines are skipped, bad lines listed. Pure. */
export function parseHistory(text: string): ReadHistoryResult {
  const events: HistoryEvent[] = [];
  const malformed: number[] = [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((line, i) => {
    if (line === "") {
      malformed.push(i + 1);
      return;
    }
    const parsed = parseLine(line);
    if (parsed.ok) events.push(parsed.event);
    else malformed.push(i + 1);
  });
  return { events, malformed };
}

/** Reads `file`; a missing file is an empty history. */
export async function readHistory(file: string): Promise<ReadHistoryResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { events: [], malformed: [] };
    throw error;
  }
  return parseHistory(text);
}
