/**
 * A deterministic ustar writer (pure): entries are written in the order
 * given, with mtime 0, so the same inputs always give the same bytes and
 * therefore the same content hash.
 */

export type TarEntry =
  | { type: "file"; name: string; data: Uint8Array; mode?: number; uid?: number; gid?: number }
  | { type: "dir"; name: string; mode?: number; uid?: number; gid?: number }
  | { type: "symlink"; name: string; target: string; uid?: number; gid?: number };

const BLOCK = 512;
const encoder = new TextEncoder();

function writeString(buf: Uint8Array, offset: number, size: number, value: string): void {
  const bytes = encoder.encode(value);
  if (bytes.length > size) throw new Error(`Tar header field too long: "${value}"`);
  buf.set(bytes, offset);
}

function writeOctal(buf: Uint8Array, offset: number, size: number, value: number): void {
  writeString(buf, offset, size, value.toString(8).padStart(size - 1, "0") + "\0");
}

/** Splits a path into ustar's prefix (≤155) and name (≤100) fields. */
function splitName(path: string): [prefix: string, name: string] {
  if (encoder.encode(path).length <= 100) return ["", path];
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== "/") continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (encoder.encode(prefix).length <= 155 && encoder.encode(name).length <= 100 && name) {
      return [prefix, name];
    }
  }
  throw new Error(`Path too long for a tar entry: "${path}"`);
}

function header(entry: TarEntry, size: number): Uint8Array {
  const buf = new Uint8Array(BLOCK);
  const rawName = entry.name.replace(/^\/+/, "") + (entry.type === "dir" ? "/" : "");
  const [prefix, name] = splitName(rawName);
  const defaultMode = entry.type === "dir" ? 0o755 : entry.type === "symlink" ? 0o777 : 0o644;
  writeString(buf, 0, 100, name);
  writeOctal(buf, 100, 8, ("mode" in entry && entry.mode !== undefined) ? entry.mode : defaultMode);
  writeOctal(buf, 108, 8, entry.uid ?? 0);
  writeOctal(buf, 116, 8, entry.gid ?? 0);
  writeOctal(buf, 124, 12, size);
  writeOctal(buf, 136, 12, 0);
  buf.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  buf[156] = entry.type === "dir" ? 0x35 : entry.type === "symlink" ? 0x32 : 0x30;
  if (entry.type === "symlink") writeString(buf, 157, 100, entry.target);
  writeString(buf, 257, 6, "ustar\0");
  writeString(buf, 263, 2, "00");
  writeString(buf, 265, 32, "root");
  writeString(buf, 297, 32, "root");
  writeString(buf, 345, 155, prefix);
  let sum = 0;
  for (const b of buf) sum += b;
  writeString(buf, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return buf;
}

/** Builds a tar archive from the entries, in order. */
export function createTar(entries: readonly TarEntry[]): Uint8Array {
  let total = BLOCK * 2;
  for (const e of entries) {
    total += BLOCK;
    if (e.type === "file") total += Math.ceil(e.data.length / BLOCK) * BLOCK;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const e of entries) {
    const size = e.type === "file" ? e.data.length : 0;
    out.set(header(e, size), offset);
    offset += BLOCK;
    if (e.type === "file") {
      out.set(e.data, offset);
      offset += Math.ceil(size / BLOCK) * BLOCK;
    }
  }
  return out;
}
