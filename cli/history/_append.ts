/**
 * Appending one event to history.jsonl: the only writer of the history.
 *
 * 1. Take an exclusive lock on `<file>.lock` (flock; waits for other
 *    appenders, in this or any other process; released by the kernel when
 *    the holder dies).
 * 2. Read only the tail of the active file (or, when it is empty, of the
 *    last archived segment) to get the last line and hash it.
 * 3. Check the last line against `<file>.head`; refuse to extend a history
 *    whose end was cut, edited or left incomplete (HISTORY_TAMPERED).
 * 4. When the active file has reached the segment size, rename it to the
 *    next segment (`history.<n>.jsonl`, see `_segments.ts`); the new line
 *    then starts a new active file, chained to the segment's last line.
 * 5. Seal the new line with the history's key (created on first use, kept
 *    outside the project; see `_seal.ts`), write it with one write call
 *    (O_APPEND), fsync.
 * 6. Rewrite `<file>.head` (temp file, fsync, rename), then the checkpoint
 *    beside the key; release the lock.
 *
 * A crash between 5 and 6 leaves the head (and the checkpoint) one line
 * behind; that state is recognised (the head's hash is the last line's
 * `prev`) and repaired by the next append.
 */

import { dirname } from "node:path";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import type { Actor, EventDataMap, EventName, HistoryRecord } from "./_events.ts";
import { type HistoryHead, readHead, writeHead } from "./_head.ts";
import { sha256Hex } from "../digest/mod.ts";
import { formatSealedLine, parseLine, ZERO_HASH } from "./_line.ts";
import { redact } from "./_redact.ts";
import { syncDirectory, withFileLock } from "../fs/mod.ts";
import { keyDir, keyLocation, loadOrCreateKey, writeCheckpoint } from "./_seal.ts";
import { readLines, SEGMENT_BYTES, segmentNumbers, segmentPath } from "./_segments.ts";

export interface AppendOptions {
  /** Clock for `ts` (tests pin it). */
  now?: () => Date;
  /** Who is appending; defaults to $USER, the host name and this pid. */
  actor?: Actor;
  /** Size in bytes from which the active file is archived as a segment (default `SEGMENT_BYTES`, 8 MiB). */
  segmentBytes?: number;
  /** Folder of the sealing key (default: `keyDir()` from the environment; undefined: none). */
  keyDir?: string | undefined;
  /**
   * The project folder (the manifest's); the key folder must lie outside it
   * as well as outside the history's own folder.
   */
  projectDir?: string;
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

/**
 * Who is appending: `SWIFTDEPLOY_ACTOR` when set to a plain name (`swiftdeploy
 * serve` sets `token:<name>` for the changes it runs), else $USER (or the
 * uid); with the host name and this pid.
 */
export function defaultActor(): Actor {
  let user: string | undefined;
  let host = "unknown";
  try {
    const named = Deno.env.get("SWIFTDEPLOY_ACTOR");
    user = named && /^[A-Za-z0-9:._@-]{1,100}$/.test(named) ? named : undefined;
    user ??= Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? Deno.env.get("USERNAME");
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

/** Counts the lines of every file of the history, streamed: only when the head file is missing. */
async function countLines(files: string[]): Promise<number> {
  let n = 0;
  for await (const _line of readLines(files)) n++;
  return n;
}

/** The line count before this append, cross-checked with the head file. */
async function linesBefore(
  file: string,
  files: string[],
  tail: Tail,
  lastHash: string,
): Promise<number> {
  const state = await readHead(file);
  if (state.status === "invalid") {
    throw tampered(file, `"${file}.head" is not valid: ${state.problem}`);
  }
  if (state.status === "missing") return tail.last === null ? 0 : await countLines(files);
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
    const segments = await segmentNumbers(file);
    const files = [...segments.map((n) => segmentPath(file, n)), file];
    let f: Deno.FsFile | null = await Deno.open(file, { read: true, append: true, create: true });
    try {
      const size = (await f.stat()).size;
      let tail = await readTail(f, size);
      if (!tail.complete) {
        throw tampered(file, "its last line is incomplete (no newline at the end)");
      }
      const lastSegment = segments.at(-1);
      if (tail.last === null && lastSegment !== undefined) {
        // Just rotated (or a crash right after): the chain goes on from the last segment.
        const seg = segmentPath(file, lastSegment);
        const g = await Deno.open(seg, { read: true });
        try {
          tail = await readTail(g, (await g.stat()).size);
        } finally {
          g.close();
        }
        if (!tail.complete || tail.last === null) {
          throw tampered(file, `its segment "${seg}" is empty or ends inside a line`);
        }
      }
      const prev = tail.last === null ? ZERO_HASH : sha256Hex(tail.last);
      const before = await linesBefore(file, files, tail, prev);
      const lastParsed = tail.last === null ? undefined : parseLine(decoder.decode(tail.last));
      const dir = "keyDir" in options ? options.keyDir : keyDir();
      const key = await loadOrCreateKey(file, dir, {
        ...(options.projectDir ? { projectDir: options.projectDir } : {}),
        lastKeyId: lastParsed?.ok ? lastParsed.seal?.key : undefined,
      });

      if (size > 0 && size >= (options.segmentBytes ?? SEGMENT_BYTES)) {
        const old = f;
        f = null;
        old.close();
        await Deno.rename(file, segmentPath(file, (lastSegment ?? 0) + 1));
        await syncDirectory(dirname(file));
        f = await Deno.open(file, { read: true, append: true, create: true });
      }

      const record: HistoryRecord<E> = {
        v: 2,
        ts: now().toISOString(),
        event,
        actor: { user: actor.user, host: actor.host, pid: actor.pid },
        data: safeData,
        prev,
      };
      const line = formatSealedLine(record, key);
      const bytes = encoder.encode(line + "\n");
      // One write call; a regular file takes it whole. Should the kernel take
      // less (disk full), finish it rather than leave half a line.
      let written = await f.write(bytes);
      while (written < bytes.length) written += await f.write(bytes.subarray(written));
      await f.sync();
      f.close();
      f = null;

      const hash = sha256Hex(line);
      await writeHead(file, { v: 1, lines: before + 1, last: hash });
      await writeCheckpoint(keyLocation(dir!, key.id), { v: 1, lines: before + 1, last: hash });
      return { line: before + 1, hash, record: record as HistoryRecord };
    } finally {
      f?.close();
    }
  });
}
