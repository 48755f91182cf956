/** Decoding of the Engine API's streamed bodies (pure, apart from reading the stream). */

/**
 * Yields each JSON value of a newline-delimited JSON stream (build output,
 * events). A stream that breaks off (connection reset, truncated chunk)
 * throws, as does a line that is not JSON (a truncated last line included):
 * only a stream the caller cancelled through `signal` ends quietly.
 */
export async function* readJsonLines(
  body: ReadableStream<Uint8Array> | null,
  signal?: AbortSignal,
): AsyncGenerator<unknown> {
  if (!body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) yield JSON.parse(line);
      }
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  }
  const rest = (buffer + decoder.decode()).trim();
  if (rest) yield JSON.parse(rest);
}

/**
 * Demultiplexes a non-TTY log stream: frames of an 8-byte header
 * (stream type, 3 zero bytes, big-endian uint32 length) then the payload.
 * Input that is not framed (a TTY container) is returned as text.
 */
export function demuxLogs(bytes: Uint8Array): string {
  const decoder = new TextDecoder();
  const looksFramed = bytes.length >= 8 && bytes[0]! <= 2 && bytes[1] === 0 && bytes[2] === 0 &&
    bytes[3] === 0;
  if (!looksFramed) return decoder.decode(bytes);
  let out = "";
  let offset = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (offset + 8 <= bytes.length) {
    const size = view.getUint32(offset + 4);
    out += decoder.decode(bytes.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return out;
}
