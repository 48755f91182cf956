/**
 * Verification of history.jsonl: every line parses and matches the schema,
 * every `prev` is the hash of the line before it, the file ends with a
 * newline, and the last line and line count match `<file>.head`.
 *
 * The first bad line is named, with what most likely happened to it:
 *
 * | problem     | seen as                                                                 |
 * |-------------|-------------------------------------------------------------------------|
 * | malformed   | a line that is not a JSON object of the schema                          |
 * | truncated   | the last line has no newline (a cut file or an interrupted write)       |
 * | edited      | line k-1 no longer hashes to line k's `prev`, with the line count right |
 * | removed     | line k's `prev` hashes no line and the head records more lines;         |
 * |             | or the chain is whole but the head records more lines (last removed)    |
 * | reordered   | line k's `prev` is the hash of a line further down                      |
 * | inserted    | line k's `prev` is the hash of a line before k-1 (line k-1 is extra),    |
 * |             | or lines follow the one the head records                                |
 *
 * A chain alone cannot tell an edited line from a removed one (both leave a
 * `prev` that hashes nothing) nor see that its last lines were deleted; the
 * head's count tells both. Without a head (older files, or deleted),
 * removal of the last lines goes unseen and a break is reported as
 * "edited"; the result says `head: "missing"`.
 */

import { type HeadState, readHead } from "./_head.ts";
import { parseLine, sha256Hex, ZERO_HASH } from "./_line.ts";

export type HistoryProblem =
  | "malformed"
  | "truncated"
  | "edited"
  | "removed"
  | "reordered"
  | "inserted";

/**
 * How the head file compared: "match"; "behind" (one line behind: a crash
 * between the append and the head update, repaired by the next append);
 * "missing" or "invalid" (removal of the last lines cannot be detected).
 */
export type HeadStatus = "match" | "behind" | "missing" | "invalid";

export type VerifyResult =
  | { ok: true; lines: number; head: HeadStatus }
  | {
    ok: false;
    /** 1-based number of the first bad line (for "removed", where the missing line was). */
    line: number;
    problem: HistoryProblem;
    /** Sentence-case explanation naming the line. */
    message: string;
    /** Lines in the file as found. */
    lines: number;
  };

const NEWLINE = 0x0a;
const decoder = new TextDecoder();

function splitLines(bytes: Uint8Array): { lines: Uint8Array[]; complete: boolean } {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === NEWLINE) {
      lines.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  const complete = start === bytes.length;
  if (!complete) lines.push(bytes.subarray(start));
  return { lines, complete };
}

/** Verifies the bytes of a history against its head state. Pure. */
export function verifyHistoryBytes(bytes: Uint8Array, headState: HeadState): VerifyResult {
  const { lines, complete } = splitLines(bytes);
  const n = lines.length;
  const head = headState.status === "ok" ? headState.head : null;
  const fail = (line: number, problem: HistoryProblem, message: string): VerifyResult => ({
    ok: false,
    line,
    problem,
    message,
    lines: n,
  });

  const hashes = lines.map((l) => sha256Hex(l));
  const position = new Map<string, number>();
  hashes.forEach((h, i) => position.set(h, i + 1));

  const parsed = lines.map((l) => parseLine(decoder.decode(l)));
  /** `prev` of line k (1-based), undefined when that line is malformed. */
  const prevOf = (k: number): string | undefined => {
    const p = parsed[k - 1];
    return p?.ok ? p.event.prev : undefined;
  };

  for (let k = 1; k <= n; k++) {
    const line = parsed[k - 1]!;
    if (!line.ok) {
      if (k === n && !complete) {
        return fail(
          k,
          "truncated",
          `Line ${k} is truncated: the file ends inside it (${line.problem})`,
        );
      }
      return fail(k, "malformed", `Line ${k} is malformed: ${line.problem}`);
    }
    const prev = line.event.prev;
    const expected = k === 1 ? ZERO_HASH : hashes[k - 2]!;
    if (prev === expected) continue;

    const p = position.get(prev);
    if (p !== undefined && p > k - 1) {
      return fail(
        k,
        "reordered",
        `Line ${k} is out of order: it follows line ${p}, which comes later`,
      );
    }
    if (p !== undefined && p < k - 1) {
      return fail(
        k - 1,
        "inserted",
        `Line ${k - 1} was inserted: line ${k} follows line ${p} directly in the chain`,
      );
    }
    // `prev` hashes no line: line k itself changed (then what follows it no
    // longer links to it either), line k-1 changed, or lines went missing.
    const next = k < n ? prevOf(k + 1) : undefined;
    const selfChanged = k < n
      ? next !== undefined && next !== hashes[k - 1]
      : head !== null && head.lines === n && head.last !== hashes[k - 1];
    if (selfChanged) {
      return fail(k, "edited", `Line ${k} was edited: neither its own link nor the next one holds`);
    }
    if (head !== null && head.lines > n) {
      return fail(
        k,
        "removed",
        `A line before line ${k} was removed: the chain breaks there and the head records ${head.lines} lines, the file has ${n}`,
      );
    }
    if (k === 1) {
      return fail(1, "removed", "The first line was removed: line 1 does not start the chain");
    }
    return fail(
      k - 1,
      "edited",
      `Line ${k - 1} was edited: it no longer hashes to the "prev" recorded in line ${k}`,
    );
  }

  if (!complete) {
    return fail(n, "truncated", `Line ${n} is truncated: the file does not end with a newline`);
  }

  if (head === null) {
    return { ok: true, lines: n, head: headState.status === "invalid" ? "invalid" : "missing" };
  }
  const lastHash = n === 0 ? ZERO_HASH : hashes[n - 1]!;
  if (head.lines === n && head.last === lastHash) return { ok: true, lines: n, head: "match" };
  if (head.lines === n - 1 && head.last === (n >= 2 ? hashes[n - 2] : ZERO_HASH)) {
    return { ok: true, lines: n, head: "behind" };
  }
  if (head.lines > n) {
    return fail(
      n + 1,
      "removed",
      `Line ${n + 1} was removed: the head records ${head.lines} lines, the file ends after ${n}`,
    );
  }
  if (head.lines === n) {
    return fail(
      n,
      "edited",
      `Line ${n} was edited: it no longer matches the head's hash of the last line`,
    );
  }
  const recorded = position.get(head.last);
  if (recorded === head.lines) {
    return fail(
      head.lines + 1,
      "inserted",
      `Line ${
        head.lines + 1
      } was inserted: the head records ${head.lines} lines, the file has ${n}`,
    );
  }
  return fail(
    Math.min(head.lines, n),
    "edited",
    `Line ${Math.min(head.lines, n)} was edited: it does not match the head (${head.lines} lines)`,
  );
}

/** Reads `file` and `<file>.head` and verifies them. A missing file is an empty history. */
export async function verifyHistory(file: string): Promise<VerifyResult> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    bytes = new Uint8Array();
  }
  const head = await readHead(file);
  if (bytes.length === 0 && head.status === "ok" && head.head.lines > 0) {
    return {
      ok: false,
      line: 1,
      problem: "removed",
      message:
        `Line 1 was removed: the history is empty but the head records ${head.head.lines} lines`,
      lines: 0,
    };
  }
  return verifyHistoryBytes(bytes, head);
}
