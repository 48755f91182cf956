/**
 * Verification of a history (its segments and active file, streamed in
 * order, see `_segments.ts`): every line parses and matches the schema,
 * every `prev` is the hash of the line before it (across segment
 * boundaries), no file ends inside a line, every sealed line's MAC holds
 * under its key, no unsealed line follows a sealed one, the line count and
 * last line match `<file>.head`, and the history still holds the line the
 * checkpoint beside the key records (see `_seal.ts`).
 *
 * The first bad line is named, with what most likely happened to it:
 *
 * | problem     | seen as                                                                 |
 * |-------------|-------------------------------------------------------------------------|
 * | malformed   | a line that is not a JSON object of the schema                          |
 * | truncated   | a file does not end with a newline (a cut file or an interrupted write) |
 * | edited      | line k-1 no longer hashes to line k's `prev`, with the line count right;|
 * |             | or line n no longer hashes to what the checkpoint recorded              |
 * | removed     | line k's `prev` hashes no line and the head records more lines; or the  |
 * |             | chain is whole but the head or checkpoint records more lines; or a      |
 * |             | segment file is missing                                                 |
 * | reordered   | line k's `prev` is the hash of a line further down                      |
 * | inserted    | line k's `prev` is the hash of a line before k-1 (line k-1 is extra),   |
 * |             | or lines follow the one the head records                                |
 * | forged      | a sealed line's MAC does not hold: it, or the chain before it, was      |
 * |             | rewritten by someone without the key                                    |
 * | unsealed    | an unsealed line follows a sealed one (written or rewritten without     |
 * |             | the key)                                                                |
 * | key         | a sealed line's key, or the checkpoint, cannot be read: seals unchecked |
 *
 * What this detects, exactly (the text `--verify` prints: `DETECTED`,
 * `NOT_DETECTED`). The MAC of a sealed line covers its `prev`, hence the
 * whole chain before it, unsealed lines from before sealing included; the
 * checkpoint beside the key (rewritten at every append) fixes the line
 * count and the last line's hash where the project's writers cannot reach.
 * Anyone without the key therefore cannot edit, drop, insert or reorder a
 * line up to the last sealed one, add a line, strip the seals, or cut the
 * newest lines (or the whole history) back past the checkpoint. Not
 * detected: anything done by someone who can read the key and write the
 * checkpoint; removal of sealed lines appended after the checkpoint's last
 * write (possible only after an interrupted append); where no checkpoint is
 * at hand (a copy verified elsewhere with the key alone), removal of the
 * newest lines together with a rewritten head. A history no append has
 * sealed yet is protected against accidents only.
 *
 * Memory stays bounded: one pass over the lines, a second only to name a
 * break; no line is kept beyond the one ahead.
 */

import { type HeadState, readHead } from "./_head.ts";
import { sha256Hex } from "../digest/mod.ts";
import { type ParsedLine, parseLine, ZERO_HASH } from "./_line.ts";
import type { SealKey } from "./_mac.ts";
import {
  type CheckpointState,
  keyDir as defaultKeyDir,
  keyIdFor,
  keyLocation,
  readCheckpoint,
  readKey,
} from "./_seal.ts";
import { historyFiles, type RawLine, readLines, segmentNumbers, segmentPath } from "./_segments.ts";

export type HistoryProblem =
  | "malformed"
  | "truncated"
  | "edited"
  | "removed"
  | "reordered"
  | "inserted"
  | "forged"
  | "unsealed"
  | "key";

/**
 * How the head file compared: "match"; "behind" (one line behind: a crash
 * between the append and the head update, repaired by the next append);
 * "missing" or "invalid" (removal of the last lines cannot be detected by it).
 */
export type HeadStatus = "match" | "behind" | "missing" | "invalid";

/** What the seals and the checkpoint showed. */
export interface SealStatus {
  /** Lines whose MAC held. */
  sealed: number;
  /** Lines written before sealing (all before the first sealed line, covered by its MAC). */
  unsealed: number;
  /**
   * The checkpoint beside this history's key: "match" (records the last
   * line), "behind" (records an earlier line; the lines after it are sealed,
   * as after an interrupted append), "missing" (none: no append has sealed
   * this history at this path yet, or no key folder).
   */
  checkpoint: "match" | "behind" | "missing";
  /** The key folder consulted; undefined when none could be named. */
  keyDir?: string;
}

export type VerifyResult =
  | {
    ok: true;
    lines: number;
    head: HeadStatus;
    /** Files read: archived segments and the active file. */
    files: number;
    seals: SealStatus;
  }
  | {
    ok: false;
    /** 1-based number of the first bad line (for "removed", where the missing line was). */
    line: number;
    problem: HistoryProblem;
    /** Sentence-case explanation naming the line. */
    message: string;
    /** Lines in the history as found. */
    lines: number;
  };

/** One line for `--verify`: what the seals detect. */
export const DETECTED = "by anyone without the key: edits, drops, insertions and reorders of " +
  "any line up to the last sealed one (older unsealed lines included), forged or unsealed " +
  "lines after it, stripped seals, and removal of the newest lines (or of the whole history) " +
  "back past the checkpoint kept beside the key";

/** One line for `--verify`: what they do not. */
export const NOT_DETECTED = "anything done by someone who can read the key and write its " +
  "checkpoint; removal of lines appended after the checkpoint's last write (only after an " +
  "interrupted append); where the checkpoint is not at hand (a copy verified with the key " +
  "alone), removal of the newest lines together with a rewritten head";

const decoder = new TextDecoder();

interface Parsed {
  raw: RawLine;
  parsed: ParsedLine;
  hash: string;
}

function parse(raw: RawLine): Parsed {
  return { raw, parsed: parseLine(decoder.decode(raw.bytes)), hash: sha256Hex(raw.bytes) };
}

/** The last line number whose hash is `hash`, streamed; undefined when none. */
async function positionOf(files: readonly string[], hash: string): Promise<number | undefined> {
  let found: number | undefined;
  for await (const raw of readLines(files)) if (sha256Hex(raw.bytes) === hash) found = raw.number;
  return found;
}

export interface VerifyOptions {
  /** Folder of the sealing keys (default `keyDir()` from the environment). */
  keyDir?: string | undefined;
}

/**
 * Reads the history at `file` (segments, active file, `<file>.head`) and the
 * key folder, and verifies them as the module doc says. A missing history is
 * an empty one. Never throws for a bad history; throws only on I/O errors
 * other than missing files.
 */
export async function verifyHistory(
  file: string,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const numbers = await segmentNumbers(file);
  const files = await historyFiles(file);
  const headState: HeadState = await readHead(file);
  const head = headState.status === "ok" ? headState.head : null;
  const dir = "keyDir" in options ? options.keyDir : defaultKeyDir();
  const ownLoc = dir === undefined ? undefined : keyLocation(dir, await keyIdFor(file));
  const cpState: CheckpointState = ownLoc ? await readCheckpoint(ownLoc) : { status: "missing" };
  const cp = cpState.status === "ok" ? cpState.checkpoint : null;

  let n = 0;
  const fail = (line: number, problem: HistoryProblem, message: string): VerifyResult => ({
    ok: false,
    line,
    problem,
    message,
    lines: n,
  });

  if (cpState.status === "invalid" && ownLoc) {
    return fail(
      1,
      "key",
      `The checkpoint "${ownLoc.checkpointFile}" cannot be read (${cpState.problem}): the end of the history cannot be checked`,
    );
  }

  // Archived segments are numbered 1, 2, … without gaps.
  for (let i = 0; i < numbers.length; i++) {
    if (numbers[i] !== i + 1) {
      return fail(
        1,
        "removed",
        `Segment "${segmentPath(file, i + 1)}" is missing: the history's segments are ${
          numbers.join(", ")
        }`,
      );
    }
  }

  const keys = new Map<string, SealKey | undefined>();
  const keyFor = async (id: string): Promise<SealKey | undefined> => {
    if (!keys.has(id)) {
      keys.set(id, dir === undefined ? undefined : await readKey(keyLocation(dir, id)));
    }
    return keys.get(id);
  };

  let prevHash = ZERO_HASH; // hash of line n-1 while line n is checked
  let prevPrevHash = ZERO_HASH;
  let sealed = 0;
  let unsealed = 0;
  let firstSealed: number | undefined;
  let keyMissing: { line: number; id: string } | undefined;
  let badSeal: number | undefined; // a line whose MAC did not hold
  const forged = (k: number): VerifyResult =>
    fail(
      k,
      "forged",
      `Line ${k} does not match its seal: it, or lines before it, were removed, inserted or changed and the chain recomputed by someone without the key`,
    );
  let cpHash: string | undefined; // hash of line cp.lines
  let headLastAt: number | undefined; // last line whose hash is head.last
  let lastComplete = true;
  let lastFile = file;

  const lines = readLines(files)[Symbol.asyncIterator]();
  const nextParsed = async (): Promise<Parsed | undefined> => {
    const r = await lines.next();
    return r.done ? undefined : parse(r.value);
  };
  let current = await nextParsed();
  while (current) {
    const ahead = await nextParsed();
    const k = current.raw.number;
    n = k;
    const line = current.parsed;
    lastComplete = current.raw.complete;
    lastFile = current.raw.file;
    if (!line.ok) {
      if (!current.raw.complete) {
        return fail(
          k,
          "truncated",
          `Line ${k} is truncated: "${current.raw.file}" ends inside it (${line.problem})`,
        );
      }
      return fail(k, "malformed", `Line ${k} is malformed: ${line.problem}`);
    }
    if (!current.raw.complete && ahead) {
      return fail(
        k,
        "truncated",
        `Line ${k} is truncated: segment "${current.raw.file}" does not end with a newline`,
      );
    }

    const prev = line.event.prev;
    const expected = k === 1 ? ZERO_HASH : prevHash;
    if (prev !== expected) {
      n = k + (ahead ? 1 : 0); // at least; the count matters only to the messages below
      return await diagnoseBreak(k, prev, ahead, current.hash);
    }
    // The line before had a bad seal but this link holds: the chain was recomputed.
    if (badSeal !== undefined) return forged(badSeal);

    if (line.seal) {
      const key = await keyFor(line.seal.key);
      if (!key) keyMissing ??= { line: k, id: line.seal.key };
      else if (!key.check(line.seal.body, line.seal.mac)) {
        // Named at the next line: a broken next link says "edited" or "inserted".
        badSeal = k;
      }
      sealed++;
      firstSealed ??= k;
    } else if (firstSealed !== undefined) {
      return fail(
        k,
        "unsealed",
        `Line ${k} is not sealed though line ${firstSealed} before it is: it was written or rewritten without the key`,
      );
    } else unsealed++;

    if (cp && k === cp.lines) cpHash = current.hash;
    if (head && current.hash === head.last) headLastAt = k;
    prevPrevHash = prevHash;
    prevHash = current.hash;
    current = ahead;
  }

  if (!lastComplete) {
    return fail(
      n,
      "truncated",
      `Line ${n} is truncated: "${lastFile}" does not end with a newline`,
    );
  }
  if (badSeal !== undefined) {
    if (head && head.lines === n && head.last !== prevHash) {
      return fail(
        n,
        "edited",
        `Line ${n} was edited: its seal does not match, nor does the head's hash of the last line`,
      );
    }
    return forged(badSeal);
  }

  const headResult = checkHead();
  if (headResult !== undefined) return headResult;

  let checkpoint: SealStatus["checkpoint"] = "missing";
  if (cp) {
    if (n < cp.lines) {
      return fail(
        n + 1,
        "removed",
        `Line ${
          n + 1
        } was removed: the checkpoint beside the key records ${cp.lines} lines, the history ends after ${n}`,
      );
    }
    if (cpHash !== cp.last) {
      return fail(
        cp.lines,
        "edited",
        `Line ${cp.lines} was edited: it no longer matches the checkpoint beside the key (the history was rewritten up to there)`,
      );
    }
    checkpoint = n === cp.lines ? "match" : "behind";
  }
  if (keyMissing) {
    const where = dir === undefined
      ? "no key folder is set (SWIFTDEPLOY_KEY_DIR, XDG_STATE_HOME or HOME)"
      : `"${keyLocation(dir, keyMissing.id).keyFile}" does not exist`;
    return fail(
      keyMissing.line,
      "key",
      `Line ${keyMissing.line} is sealed with key ${keyMissing.id}, which cannot be found: ${where}; the seals cannot be checked`,
    );
  }
  return {
    ok: true,
    lines: n,
    head: head
      ? headResult === undefined && head.lines === n ? "match" : "behind"
      : headState.status === "invalid"
      ? "invalid"
      : "missing",
    files: files.length,
    seals: { sealed, unsealed, checkpoint, ...(dir === undefined ? {} : { keyDir: dir }) },
  };

  /** The head check after a whole chain; undefined when it passes ("match" or "behind"). */
  function checkHead(): VerifyResult | undefined {
    if (head === null) return undefined;
    const lastHash = n === 0 ? ZERO_HASH : prevHash;
    if (head.lines === n && head.last === lastHash) return undefined;
    if (head.lines === n - 1 && head.last === (n >= 2 ? prevPrevHash : ZERO_HASH)) {
      return undefined;
    }
    if (head.lines > n) {
      if (n === 0) {
        return fail(
          1,
          "removed",
          `Line 1 was removed: the history is empty but the head records ${head.lines} lines`,
        );
      }
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
    if (headLastAt === head.lines) {
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
      `Line ${
        Math.min(head.lines, n)
      } was edited: it does not match the head (${head.lines} lines)`,
    );
  }

  /** Names what broke the chain at line k, whose `prev` is not the hash of line k-1. */
  async function diagnoseBreak(
    k: number,
    prev: string,
    ahead: Parsed | undefined,
    ownHash: string,
  ): Promise<VerifyResult> {
    // The full count for the messages: the rest of the lines, streamed.
    if (ahead) {
      for (let r = await lines.next(); !r.done; r = await lines.next()) n = r.value.number;
    }
    const p = await positionOf(files, prev);
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
    const next = ahead?.parsed.ok ? ahead.parsed.event.prev : undefined;
    const selfChanged = ahead
      ? next !== undefined && next !== ownHash
      : head !== null && head.lines === n && head.last !== ownHash;
    if (badSeal === k - 1) {
      return fail(
        k - 1,
        "edited",
        `Line ${k - 1} was edited: its seal does not match, nor does the next line's link`,
      );
    }
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
}
