/**
 * Reading a request body within a size cap and a time limit, for the API's
 * change requests (cli/serve/mod.ts) and the git push webhook
 * (cli/serve/_webhook.ts): a client that sends too much, or too slowly,
 * holds no more than `limit` bytes and `timeoutMs` of the server.
 */

/** Why a body was refused: the HTTP status, the API's error word and its message. */
export interface BodyRefusal {
  ok: false;
  status: 413 | 408 | 400;
  error: "too_large" | "timeout" | "bad_body";
  message: string;
}

/**
 * The whole body of `req`, at most `limit` bytes, arrived within `timeoutMs`
 * milliseconds of the call; no body is an empty one.
 *
 * Refused (never thrown): 413 `too_large` when Content-Length says more than
 * `limit` (nothing is read) or the stream passes it (reading stops there),
 * 408 `timeout` when the body is not complete in time, 400 `bad_body` when
 * the stream fails. Reading stops by cancelling the stream; the caller
 * answers a refusal with `connection: close`, since the rest of the body is
 * never read.
 */
export async function readCappedBody(
  req: Request,
  limit: number,
  timeoutMs: number,
): Promise<{ ok: true; body: Uint8Array } | BodyRefusal> {
  const tooLarge: BodyRefusal = {
    ok: false,
    status: 413,
    error: "too_large",
    message: `The body is over ${limit} bytes`,
  };
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) return tooLarge;
  if (!req.body) return { ok: true, body: new Uint8Array() };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), timeoutMs);
  });
  try {
    while (true) {
      const next = await Promise.race([reader.read(), timeout]);
      if (next === "timeout") {
        reader.cancel().catch(() => {});
        return {
          ok: false,
          status: 408,
          error: "timeout",
          message: `The body took over ${timeoutMs} ms to arrive`,
        };
      }
      if (next.done) break;
      size += next.value.byteLength;
      if (size > limit) {
        reader.cancel().catch(() => {});
        return tooLarge;
      }
      chunks.push(next.value);
    }
  } catch {
    return { ok: false, status: 400, error: "bad_body", message: "The body could not be read" };
  } finally {
    clearTimeout(timer);
  }
  const body = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    body.set(c, off);
    off += c.byteLength;
  }
  return { ok: true, body };
}
