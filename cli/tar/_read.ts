/**
 * Reading archives (pure, apart from gunzip's stream): the policy bundle
 * `opa build` writes, and archives the engine returns. ustar, GNU and PAX
 * long names (PAX `path` records, GNU `L` entries, the ustar prefix).
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

function octal(block: Uint8Array, offset: number, size: number): number {
  const text = field(block, offset, size).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new Error(`Invalid tar header: size field "${text}" is not octal`);
  }
  return parseInt(text, 8);
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

/** Every entry of an uncompressed tar archive, in order. */
export function readTar(tar: Uint8Array): TarReadEntry[] {
  const entries: TarReadEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const block = tar.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    const size = octal(block, 124, 12);
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
      uid: octal(block, 108, 8),
      mode: octal(block, 100, 8),
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
