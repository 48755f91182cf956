/**
 * Reading archives (pure, apart from gunzip's stream): the policy bundle
 * `opa build` writes, and archives the engine returns. ustar, GNU and PAX
 * long names (PAX `path` records, GNU `L` entries, the ustar prefix).
 * Every header's checksum is verified (POSIX.1-2017, pax "Header Block"):
 * a corrupted or truncated archive is refused instead of read as garbage.
 */

const BLOCK = 512;
const decoder = new TextDecoder();

export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function field(block: Uint8Array, offset: number, size: number): string {
  const raw = block.subarray(offset, offset + size);
  const end = raw.indexOf(0);
  return decoder.decode(end === -1 ? raw : raw.subarray(0, end));
}

function octal(block: Uint8Array, offset: number, size: number, name: string): number {
  const text = field(block, offset, size).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new Error(`Invalid tar header: ${name} field "${text}" is not octal`);
  }
  return parseInt(text, 8);
}

/** Where the checksum field is in a header (offset, length). */
const CHKSUM = [148, 8] as const;

/**
 * The checksums of a header as POSIX defines it: the sum of its 512 bytes
 * with the 8 checksum bytes counted as spaces, unsigned, and the same with
 * bytes read as signed, which some old writers used (GNU tar accepts both).
 */
export function headerChecksums(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const inField = i >= CHKSUM[0] && i < CHKSUM[0] + CHKSUM[1];
    const byte = inField ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return { unsigned, signed };
}

function verifyChecksum(block: Uint8Array, offset: number): void {
  const stored = octal(block, CHKSUM[0], CHKSUM[1], "checksum");
  const { unsigned, signed } = headerChecksums(block);
  if (stored !== unsigned && stored !== signed) {
    throw new Error(
      `Invalid tar archive: the header at byte ${offset} has checksum ${stored.toString(8)}, ` +
        `its bytes sum to ${unsigned.toString(8)} (corrupted or not a tar archive)`,
    );
  }
}

function paxPath(data: Uint8Array): string | undefined {
  // Records are "<length> <key>=<value>\n".
  let offset = 0;
  let path: string | undefined;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = parseInt(decoder.decode(data.subarray(offset, space)), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = decoder.decode(data.subarray(space + 1, offset + length - 1));
    const eq = record.indexOf("=");
    if (record.slice(0, eq) === "path") path = record.slice(eq + 1);
    offset += length;
  }
  return path;
}

export interface TarReadEntry {
  /** The name as stored (a leading "/" and a directory's trailing "/" kept). */
  name: string;
  type: "file" | "dir" | "symlink" | "other";
  data: Uint8Array;
  uid: number;
  mode: number;
}

const TYPES: Record<string, TarReadEntry["type"]> = {
  "0": "file",
  "\0": "file",
  "5": "dir",
  "2": "symlink",
};

/**
 * Every entry of an uncompressed tar archive, in order, up to the first
 * all-zero block. Throws an Error when a header's checksum does not match,
 * a numeric field is not octal, or an entry runs past the end.
 */
export function readTar(tar: Uint8Array): TarReadEntry[] {
  const entries: TarReadEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const block = tar.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    verifyChecksum(block, offset);
    const size = octal(block, 124, 12, "size");
    const type = String.fromCharCode(block[156] ?? 0);
    const dataStart = offset + BLOCK;
    if (dataStart + size > tar.length) {
      throw new Error("Invalid tar archive: an entry runs past the end");
    }
    const data = tar.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x") {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (type === "L") {
      longName = field(data, 0, data.length);
      continue;
    }
    const prefix = field(block, 345, 155);
    const shortName = prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100);
    entries.push({
      name: longName ?? shortName,
      type: TYPES[type] ?? "other",
      data: data.slice(),
      uid: octal(block, 108, 8, "uid"),
      mode: octal(block, 100, 8, "mode"),
    });
    longName = undefined;
  }
  return entries;
}

/** Regular files of an uncompressed tar archive, by name without a leading "/". */
export function readTarFiles(tar: Uint8Array): Map<string, Uint8Array> {
  return new Map(
    readTar(tar).filter((e) => e.type === "file").map((e) => [e.name.replace(/^\/+/, ""), e.data]),
  );
}
