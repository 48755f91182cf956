/**
 * Appending one event to history.jsonl: the only writer of the file.
 *
 * 1. Take an exclusive lock on `<file>.lock` (flock; waits for other
 *    appenders, in this or any other process).
 * 2. Read only the tail of the file to get the last line and hash it.
 * 3. Check the last line against `<file>.head`; refuse to extend a history
 *    whose end was cut, edited or left incomplete (HISTORY_TAMPERED).
 * 4. Write the whole new line with one write call (O_APPEND), fsync.
 * 5. Rewrite `<file>.head` (temp file, fsync, rename), release the lock.
 *
 * A crash between 4 and 5 leaves the head one line behind; that state is
 * recognised (the head's hash is the last line's `prev`) and repaired by the
 * next append.
 */

import { ExitCode, SwiftDeployError } from "../errors.ts";
import type { Actor, EventDataMap, EventName, HistoryRecord } from "./_events.ts";
import { type HistoryHead, readHead, writeHead } from "./_head.ts";
import { formatLine, parseLine, sha256Hex, ZERO_HASH } from "./_line.ts";
import { redact } from "./_redact.ts";

export interface AppendOptions {
  /** Clock for `ts` (tests pin it). */
  now?: () => Date;
  /** Who is appending; defaults to $USER, the host name and this pid. */
  actor?: Actor;
}

export interface AppendResult {
  /** 1-based line number of the new line. */
  line: number;
  /** sha256 hex of the new line (the next line's `prev`). */
  hash: string;
  record: HistoryRecord;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEWLINE = 0x0a;
const TAIL_CHUNK = 8192;

export function defaultActor(): Actor {
  let user: string | undefined;
  let host = "unknown";
  try {
    user = Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? Deno.env.get("USERNAME");
  } catch {
    // no env permission
  }
  if (!user) {
    try {
      const uid = Deno.uid();
      user = uid === 0 ? "root" : uid === null ? "unknown" : `uid ${uid}`;
    } catch {
      user = "unknown";
    }
  }
  try {
    host = Deno.hostname();
  } catch {
    // no sys permission
  }
  return { user, host, pid: Deno.pid };
}

function tampered(file: string, detail: string, cause?: unknown): SwiftDeployError {
  return new SwiftDeployError("HISTORY_TAMPERED", `Cannot append to history "${file}": ${detail}`, {
    exitCode: ExitCode.failure,
    hint:
      `run "swiftdeploy audit" to see which line is wrong; restore "${file}" and "${file}.head" ` +
      "from a backup, or move both aside to start a new history",
    ...(cause === undefined ? {} : { cause }),
  });
}

async function readFully(f: Deno.FsFile, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const n = await f.read(buf.subarray(off));
    if (n === null) throw new Error(`unexpected end of file after ${off} of ${buf.length} bytes`);
    off += n;
  }
}

interface Tail {
  /** Bytes of the last line without its newline; null for an empty file. */
  last: Uint8Array | null;
  /** The file ends with a newline (or is empty). */
  complete: boolean;
}

/** Reads the last line by walking back from the end in chunks (never the whole file). */
async function readTail(f: Deno.FsFile, size: number): Promise<Tail> {
  if (size === 0) return { last: null, complete: true };
  const parts: Uint8Array[] = [];
  let pos = size;
  let complete = true;
  let first = true;
  while (pos > 0) {
    const start = Math.max(0, pos - TAIL_CHUNK);
    const buf = new Uint8Array(pos - start);
    await f.seek(start, Deno.SeekMode.Start);
    await readFully(f, buf);
    let end = buf.length;
    if (first) {
      first = false;
      complete = buf[end - 1] === NEWLINE;
      if (complete) end--;
    }
    const nl = end > 0 ? buf.lastIndexOf(NEWLINE, end - 1) : -1;
    if (nl >= 0) {
      parts.unshift(buf.subarray(nl + 1, end));
      break;
    }
    parts.unshift(buf.subarray(0, end));
    pos = start;
  }
  const length = parts.reduce((n, p) => n + p.length, 0);
  const last = new Uint8Array(length);
  let off = 0;
  for (const p of parts) {
    last.set(p, off);
    off += p.length;
  }
  return { last, complete };
}

/** Counts lines of the whole file: only when the head file is missing. */
async function countLines(file: string): Promise<number> {
  const bytes = await Deno.readFile(file);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === NEWLINE) n++;
  return n;
}

/** The line count before this append, cross-checked with the head file. */
async function linesBefore(
  file: string,
  size: number,
  tail: Tail,
  lastHash: string,
): Promise<number> {
  const state = await readHead(file);
  if (state.status === "invalid") {
    throw tampered(file, `"${file}.head" is not valid: ${state.problem}`);
  }
  if (state.status === "missing") return size === 0 ? 0 : await countLines(file);
  const head: HistoryHead = state.head;
  if (tail.last === null) {
    if (head.lines === 0) return 0;
    throw tampered(file, `the file is empty but "${file}.head" records ${head.lines} lines`);
  }
  if (head.last === lastHash) return head.lines;
  // A crash after the line was written and before the head was: one behind.
  const parsed = parseLine(decoder.decode(tail.last));
  if (parsed.ok && parsed.event.prev === head.last) return head.lines + 1;
  throw tampered(
    file,
    `its last line does not match "${file}.head" (${head.lines} lines): lines were removed or edited`,
  );
}

async function withFileLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  const lock = await Deno.open(lockFile, { read: true, write: true, create: true });
  try {
    await lock.lock(true);
    return await fn();
  } finally {
    lock.close(); // closing releases the lock
  }
}

/**
 * Appends one event (data passed through `redact`) and returns its line
 * number and hash. Creates the file when missing. Throws HISTORY_TAMPERED
 * when the file's end does not match its head or its last line is
 * incomplete; the file is then left untouched.
 */
export async function appendEvent<E extends EventName>(
  file: string,
  event: E,
  data: EventDataMap[E],
  options: AppendOptions = {},
): Promise<AppendResult> {
  const now = options.now ?? (() => new Date());
  const actor = options.actor ?? defaultActor();
  const safeData = redact(data);

  return await withFileLock(`${file}.lock`, async () => {
    const f = await Deno.open(file, { read: true, append: true, create: true });
    try {
      const size = (await f.stat()).size;
      const tail = await readTail(f, size);
      if (!tail.complete) {
        throw tampered(file, "its last line is incomplete (no newline at the end)");
      }
      const prev = tail.last === null ? ZERO_HASH : sha256Hex(tail.last);
      const before = await linesBefore(file, size, tail, prev);

      const record: HistoryRecord<E> = {
        v: 1,
        ts: now().toISOString(),
        event,
        actor: { user: actor.user, host: actor.host, pid: actor.pid },
        data: safeData,
        prev,
      };
      const line = formatLine(record);
      const bytes = encoder.encode(line + "\n");
      // One write call; a regular file takes it whole. Should the kernel take
      // less (disk full), finish it rather than leave half a line.
      let written = await f.write(bytes);
      while (written < bytes.length) written += await f.write(bytes.subarray(written));
      await f.sync();

      const hash = sha256Hex(line);
      await writeHead(file, { v: 1, lines: before + 1, last: hash });
      return { line: before + 1, hash, record: record as HistoryRecord };
    } finally {
      f.close();
    }
  });
}
