/**
 * The service's own healthcheck, for images without a shell or curl
 * (`main.ts --healthcheck`). It speaks HTTP/1.1 over a plain TCP connection
 * rather than `fetch`, because `fetch` honours HTTP_PROXY even for
 * 127.0.0.1 and a proxy inherited from the environment would make a healthy
 * service look dead.
 */

export interface HealthResult {
  healthy: boolean;
  /** One line for the healthcheck log: what was checked and what was found. */
  detail: string;
}

export interface HealthCheckOptions {
  /** Default 127.0.0.1. */
  hostname?: string;
  /** Whole check: connect, request and response (default 3000). */
  timeoutMs?: number;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/** GET /healthz: healthy when the status is 200 and the JSON body has `status: "ok"`. */
export async function checkHealth(
  port: number,
  options: HealthCheckOptions = {},
): Promise<HealthResult> {
  const hostname = options.hostname ?? "127.0.0.1";
  const timeoutMs = options.timeoutMs ?? 3000;
  const url = `http://${hostname}:${port}/healthz`;
  let conn: Deno.TcpConn | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs}ms`)), timeoutMs);
  });
  try {
    const raw = await Promise.race([
      (async () => {
        conn = await Deno.connect({ hostname, port });
        return await exchange(conn, hostname, port);
      })(),
      timeout,
    ]);
    const { status, body } = parseResponse(raw);
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return {
        healthy: false,
        detail: `Unhealthy: ${url} answered ${status} with a non-JSON body`,
      };
    }
    const reported = (payload as { status?: unknown } | null)?.status;
    if (status === 200 && reported === "ok") {
      return { healthy: true, detail: `Healthy: ${url} answered 200 with status "ok"` };
    }
    return {
      healthy: false,
      detail: `Unhealthy: ${url} answered ${status} with status ${JSON.stringify(reported)}`,
    };
  } catch (error) {
    return {
      healthy: false,
      detail: `Unhealthy: cannot check ${url}: ${(error as Error).message}`,
    };
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // already closed
    }
  }
}

async function exchange(conn: Deno.TcpConn, hostname: string, port: number): Promise<Uint8Array> {
  const request = `GET /healthz HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
    "Accept: application/json\r\nConnection: close\r\n\r\n";
  let bytes = new TextEncoder().encode(request);
  while (bytes.length > 0) bytes = bytes.subarray(await conn.write(bytes));
  const chunks: Uint8Array[] = [];
  let size = 0;
  const buffer = new Uint8Array(8192);
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    size += n;
    if (size > MAX_RESPONSE_BYTES) {
      throw new Error(`response is larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
  }
  return concat(chunks);
}

/** Parses a complete HTTP/1.1 response read until the server closed. */
export function parseResponse(raw: Uint8Array): { status: number; body: string } {
  const end = indexOfCrlf(raw, 0, true);
  if (end < 0) throw new Error("incomplete HTTP response");
  const [statusLine = "", ...headerLines] = new TextDecoder().decode(raw.subarray(0, end))
    .split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (match === null) throw new Error(`not an HTTP response: ${JSON.stringify(statusLine)}`);
  const chunked = headerLines.some((line) => /^transfer-encoding:\s*chunked\s*$/i.test(line));
  const rest = raw.subarray(end + 4);
  return {
    status: Number(match[1]),
    body: new TextDecoder().decode(chunked ? decodeChunked(rest) : rest),
  };
}

/** Index of the next CRLF (or CRLFCRLF when `double`) at or after `from`, or -1. */
function indexOfCrlf(bytes: Uint8Array, from: number, double = false): number {
  const width = double ? 4 : 2;
  for (let i = from; i + width <= bytes.length; i++) {
    if (
      bytes[i] === 13 && bytes[i + 1] === 10 &&
      (!double || (bytes[i + 2] === 13 && bytes[i + 3] === 10))
    ) {
      return i;
    }
  }
  return -1;
}

function decodeChunked(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  while (true) {
    const lineEnd = indexOfCrlf(bytes, at);
    if (lineEnd < 0) throw new Error("truncated chunked body");
    const sizeText = new TextDecoder().decode(bytes.subarray(at, lineEnd)).split(";")[0] ?? "";
    const size = /^[0-9a-fA-F]+$/.test(sizeText.trim()) ? parseInt(sizeText, 16) : NaN;
    if (!Number.isFinite(size)) throw new Error("malformed chunked body");
    if (size === 0) break;
    if (lineEnd + 2 + size > bytes.length) throw new Error("truncated chunked body");
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
