/**
 * Reading a history back (its segments, then the active file) for the audit
 * report and the status view.
 */

import type { HistoryEvent } from "./_events.ts";
import { parseLine } from "./_line.ts";
import { historyFiles, readLines } from "./_segments.ts";

export interface ReadHistoryResult {
  /** Every line that parsed and matched the schema, in file order. */
  events: HistoryEvent[];
  /** 1-based numbers of lines that did not (see `verifyHistory` for why). */
  malformed: number[];
}

/** One line as read: its event, or why it could not be read. */
export type HistoryLine =
  | { line: number; ok: true; event: HistoryEvent }
  | { line: number; ok: false; problem: string };

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

const decoder = new TextDecoder();

/**
 * Streams the lines of the history at `file` (segments, then the active
 * file; a missing history has none), one parsed line at a time: memory does
 * not grow with the history.
 */
export async function* readHistoryLines(file: string): AsyncGenerator<HistoryLine> {
  for await (const raw of readLines(await historyFiles(file))) {
    const parsed = raw.bytes.length === 0
      ? { ok: false as const, problem: "empty line" }
      : parseLine(decoder.decode(raw.bytes));
    yield parsed.ok
      ? { line: raw.number, ok: true, event: parsed.event }
      : { line: raw.number, ok: false, problem: parsed.problem };
  }
}

/** Reads the whole history at `file` into memory (small histories; see `readHistoryLines`). */
export async function readHistory(file: string): Promise<ReadHistoryResult> {
  const events: HistoryEvent[] = [];
  const malformed: number[] = [];
  for await (const l of readHistoryLines(file)) {
    if (l.ok) events.push(l.event);
    else malformed.push(l.line);
  }
  return { events, malformed };
}
