/**
 * A history is a chain of files: the archived segments `history.1.jsonl`,
 * `history.2.jsonl`, … (oldest first) and the active file `history.jsonl`,
 * which takes the appends. When the active file reaches the segment size,
 * the next append renames it to the next segment number and starts a new
 * active file whose first line's `prev` is the hash of the segment's last
 * line: one hash chain runs through every file, in that order.
 *
 * A history written before segments existed is one active file and no
 * segment, and reads exactly as before. Reading is streamed (fixed-size
 * chunks, one line at a time), so memory does not grow with the history.
 */

import { basename, dirname, extname, join } from "node:path";

/** Default size at which the active file is archived as a segment: 8 MiB (about 16,000 status checks). */
export const SEGMENT_BYTES = 8 * 1024 * 1024;

const NEWLINE = 0x0a;
const CHUNK = 1024 * 1024;

function parts(file: string): { dir: string; stem: string; ext: string } {
  const name = basename(file);
  const ext = extname(name);
  return { dir: dirname(file), stem: ext ? name.slice(0, -ext.length) : name, ext };
}

/** Path of archived segment `n` (1-based): `history.jsonl` → `history.<n>.jsonl`. */
export function segmentPath(file: string, n: number): string {
  const { dir, stem, ext } = parts(file);
  return join(dir, `${stem}.${n}${ext}`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Numbers of the archived segments of `file` that exist, ascending. Gaps are
 * kept as found (verification reports them); a missing folder is no segment.
 */
export async function segmentNumbers(file: string): Promise<number[]> {
  const { dir, stem, ext } = parts(file);
  const pattern = new RegExp(`^${escapeRegExp(stem)}\\.([1-9][0-9]{0,8})${escapeRegExp(ext)}$`);
  const numbers: number[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const m = entry.isFile ? pattern.exec(entry.name) : null;
      if (m) numbers.push(Number(m[1]));
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return numbers.sort((a, b) => a - b);
}

/** The files of a history in chain order: its segments, then the active file. */
export async function historyFiles(file: string): Promise<string[]> {
  return [...(await segmentNumbers(file)).map((n) => segmentPath(file, n)), file];
}

/** One line as read: its bytes without the newline. */
export interface RawLine {
  /** 1-based number across all files of the history. */
  number: number;
  bytes: Uint8Array;
  /** False for a last line without a newline (a cut file or an interrupted write). */
  complete: boolean;
  /** The file holding the line. */
  file: string;
}

/**
 * Streams the lines of `files` in order, in 1 MiB chunks; a missing file is
 * empty. Each yielded `bytes` stays valid after the next line is read.
 */
export async function* readLines(files: readonly string[]): AsyncGenerator<RawLine> {
  let number = 0;
  for (const file of files) {
    let f: Deno.FsFile;
    try {
      f = await Deno.open(file, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    try {
      let carry: Uint8Array | null = null as Uint8Array | null;
      while (true) {
        const chunk = new Uint8Array(CHUNK);
        const n = await f.read(chunk);
        if (n === null) break;
        const data = chunk.subarray(0, n);
        let start = 0;
        let nl = data.indexOf(NEWLINE);
        while (nl >= 0) {
          let bytes: Uint8Array = data.subarray(start, nl);
          if (carry) {
            const joined = new Uint8Array(carry.length + bytes.length);
            joined.set(carry);
            joined.set(bytes, carry.length);
            bytes = joined;
            carry = null;
          }
          yield { number: ++number, bytes, complete: true, file };
          start = nl + 1;
          nl = data.indexOf(NEWLINE, start);
        }
        if (start < data.length) {
          const rest = data.subarray(start);
          if (carry) {
            const joined = new Uint8Array(carry.length + rest.length);
            joined.set(carry);
            joined.set(rest, carry.length);
            carry = joined;
          } else carry = rest.slice();
        }
      }
      if (carry) yield { number: ++number, bytes: carry, complete: false, file };
    } finally {
      f.close();
    }
  }
}
