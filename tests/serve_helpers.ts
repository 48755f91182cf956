/**
 * Helpers of the `swiftdeploy serve` tests and bench: start the real CLI's
 * server on a test stack, call it over the unix socket or loopback HTTP,
 * read Server-Sent Events frame by frame.
 */
import { unixHttpClient } from "../cli/net/mod.ts";
import { spawnCli, type TestStack } from "./_harness.ts";

/** A running `serve` with its two listeners and the log it wrote. */
export interface ServeHandle {
  child: Deno.ChildProcess;
  socketPath: string;
  httpPort: number;
  /** Everything the server wrote to stderr so far (the request log). */
  log(): string;
  /** stdout after the "serving" line. */
  rest(): Promise<string>;
}

/** Starts `swiftdeploy serve --http 127.0.0.1:0` on the stack's manifest; resolves once it listens. */
export async function startServe(stack: TestStack, extra: string[] = []): Promise<ServeHandle> {
  const child = spawnCli([
    "-f",
    stack.manifestPath,
    "serve",
    "--http",
    "127.0.0.1:0",
    "--status-interval",
    "2",
    ...extra,
  ]);
  let err = "";
  void (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) err += c;
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const deadline = Date.now() + 30_000;
  while (!/serving .* on unix:(\S+) and http:\/\/127\.0\.0\.1:(\d+)/.test(out)) {
    if (Date.now() > deadline) throw new Error(`serve did not start: ${out}\n${err}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited: ${out}\n${err}`);
    out += value;
  }
  const m = /serving .* on unix:(\S+) and http:\/\/127\.0\.0\.1:(\d+)/.exec(out)!;
  return {
    child,
    socketPath: m[1]!,
    httpPort: Number(m[2]),
    log: () => err,
    rest: async () => {
      let rest = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
      return rest;
    },
  };
}

export type Transport = "unix" | "http";

/** One request to the server over `transport`. */
export function call(
  s: ServeHandle,
  transport: Transport,
  method: string,
  path: string,
  opts: { token?: string; body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const init: RequestInit & { client?: Deno.HttpClient } = { method, headers };
  if (opts.body !== undefined) init.body = opts.body;
  if (transport === "unix") {
    init.client = unixHttpClient(s.socketPath);
    return fetch(`http://localhost${path}`, init);
  }
  return fetch(`http://127.0.0.1:${s.httpPort}${path}`, init);
}

/** Reads SSE frames from a response as they come. */
export function sseFrames(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return {
    async next(timeoutMs = 10_000): Promise<{ id?: string; event?: string; data: string }> {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const cut = buf.indexOf("\n\n");
        if (cut >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const f: { id?: string; event?: string; data: string } = { data: "" };
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) f.id = line.slice(4);
            else if (line.startsWith("event: ")) f.event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          f.data = data.join("\n");
          if (f.event === undefined && data.length === 0) continue; // retry:, comments
          return f;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error("no SSE frame in time");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const r = await Promise.race([
          reader.read(),
          new Promise<never>((_, rej) => {
            timer = setTimeout(() => rej(new Error("no SSE frame in time")), left);
          }),
        ]);
        clearTimeout(timer);
        if (r.done) throw new Error("SSE stream ended");
        buf += r.value;
      }
    },
    /** The next frame of `event` (others skipped). */
    async nextOf(event: string, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const f = await this.next(Math.max(1, deadline - Date.now()));
        if (f.event === event) return f;
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

/**
 * An operation's event stream (`GET /v1/operations/:id/events`) read to its
 * `end` frame: the `output` lines' text in the order they streamed, and the
 * end frame's document (state, exit_code, id…). Each frame may take up to
 * `frameTimeoutMs`; throws when one does not come in time or the stream ends
 * first.
 */
export async function followOperation(
  frames: ReturnType<typeof sseFrames>,
  frameTimeoutMs: number,
): Promise<{ output: string[]; end: Record<string, unknown> }> {
  const output: string[] = [];
  while (true) {
    const f = await frames.next(frameTimeoutMs);
    if (f.event === "output") output.push(JSON.parse(f.data).text);
    if (f.event === "end") return { output, end: JSON.parse(f.data) };
  }
}
