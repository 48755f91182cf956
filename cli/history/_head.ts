/**
 * `<history>.head`: the count and hash of the last line, rewritten (atomically,
 * by rename) after each append. A hash chain alone cannot show that its last
 * lines were deleted; comparing with the head can.
 */

export interface HistoryHead {
  v: 1;
  /** Number of lines in the history. */
  lines: number;
  /** sha256 hex of the last line (64 zeros when there is none). */
  last: string;
}

export type HeadState =
  | { status: "missing" }
  | { status: "invalid"; problem: string }
  | { status: "ok"; head: HistoryHead };

export function headPath(file: string): string {
  return `${file}.head`;
}

export function formatHead(head: HistoryHead): string {
  return JSON.stringify({ v: 1, lines: head.lines, last: head.last }) + "\n";
}

export function parseHead(text: string): HeadState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { status: "invalid", problem: "not valid JSON" };
  }
  if (typeof value !== "object" || value === null) {
    return { status: "invalid", problem: "not an object" };
  }
  const { v, lines, last } = value as Record<string, unknown>;
  if (v !== 1 || typeof lines !== "number" || !Number.isInteger(lines) || lines < 0) {
    return { status: "invalid", problem: "lines must be a non-negative integer" };
  }
  if (typeof last !== "string" || !/^[0-9a-f]{64}$/.test(last)) {
    return { status: "invalid", problem: "last must be 64 lowercase hex digits" };
  }
  return { status: "ok", head: { v: 1, lines, last } };
}

export async function readHead(file: string): Promise<HeadState> {
  let text: string;
  try {
    text = await Deno.readTextFile(headPath(file));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { status: "missing" };
    throw error;
  }
  return parseHead(text);
}

/** Writes the head through a temporary file, fsynced, then renamed over the old one. */
export async function writeHead(file: string, head: HistoryHead): Promise<void> {
  const target = headPath(file);
  const tmp = `${target}.${Deno.pid}.tmp`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    const bytes = new TextEncoder().encode(formatHead(head));
    let written = 0;
    while (written < bytes.length) written += await f.write(bytes.subarray(written));
    await f.sync();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, target);
}
