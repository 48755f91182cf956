/**
 * The live side of the server: the newest status document (refreshed by a
 * ticker that runs `status --once --json` as a child of this CLI) and the
 * history's new lines (a poller), fanned out to every SSE subscriber.
 *
 * The status document is cached: `GET /v1/status` answers from the cache
 * (its `timestamp` says how old it is), so a thousand readers cost one
 * status run per tick, not one each.
 *
 * @module
 */
import { readHistoryLines } from "../history/mod.ts";
import { SSE_HEARTBEAT, sseFrame } from "./_sse.ts";

/** One history line as the API shows it: its line number and the event as recorded. */
export interface HistoryItem {
  line: number;
  record: unknown;
}

/** Runs one status refresh; resolves to the JSON document `status --once --json` prints. */
export type StatusRunner = () => Promise<unknown>;

/** One SSE subscriber: receives framed text; `close()` ends its stream. */
interface Subscriber {
  send(text: string): boolean;
  close(): void;
}

/** Subscribers whose queue grows past this many bytes are dropped (a stalled reader). */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

export interface HubOptions {
  historyFile: string;
  runStatus: StatusRunner;
  /** Seconds between status ticks. */
  statusIntervalSeconds: number;
  /** Milliseconds between looks at the history file (default 250). */
  historyPollMs?: number;
  /** Reports a status run that failed (the request log's stream). */
  onError?: (what: string, error: unknown) => void;
}

export class EventHub {
  #opts: HubOptions;
  #subs = new Set<Subscriber>();
  #status: unknown = undefined;
  #statusWaiters: ((v: unknown) => void)[] = [];
  #lastLine = 0;
  #tick = 0;
  #historyKey = "";
  #timers: ReturnType<typeof setInterval>[] = [];
  #stopped = false;
  #statusRunning: Promise<void> | undefined;
  #statusAt = 0;
  #lastDemand = 0;
  #polling = false;

  constructor(opts: HubOptions) {
    this.#opts = opts;
  }

  /** Reads the history's current end (no replay of old lines to live subscribers), starts the ticker and the poller. */
  async start(): Promise<void> {
    for await (const l of readHistoryLines(this.#opts.historyFile)) this.#lastLine = l.line;
    this.#historyKey = await this.#statKey();
    void this.#refreshStatus();
    this.#timers.push(
      setInterval(() => {
        // Idle (no stream, no reader lately): no refresh, so an unwatched
        // server does not add a status_scrape to the history every tick.
        const idleMs = Date.now() - this.#lastDemand;
        if (this.#subs.size > 0 || idleMs < 3 * this.#intervalMs) void this.#refreshStatus();
      }, this.#intervalMs),
      setInterval(() => void this.#pollHistory(), this.#opts.historyPollMs ?? 250),
      setInterval(() => this.#broadcast(SSE_HEARTBEAT), 15_000),
    );
  }

  /** Stops the timers and ends every subscriber's stream (after a final `shutdown` event). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#statusRunning;
    this.#broadcast(sseFrame({ event: "shutdown", data: "{}" }));
    for (const s of this.#subs) s.close();
    this.#subs.clear();
    for (const w of this.#statusWaiters) w(this.#status);
  }

  /**
   * The newest status document. Waits for a refresh when there is none yet,
   * or when the cached one is older than two intervals (the server was idle).
   */
  status(): Promise<unknown> {
    this.#lastDemand = Date.now();
    const fresh = Date.now() - this.#statusAt < 2 * this.#intervalMs;
    if (this.#stopped || (this.#status !== undefined && fresh)) {
      return Promise.resolve(this.#status);
    }
    const waiting = new Promise<unknown>((resolve) => this.#statusWaiters.push(resolve));
    void this.#refreshStatus();
    return waiting;
  }

  get #intervalMs(): number {
    return this.#opts.statusIntervalSeconds * 1000;
  }

  /** The history line last published to subscribers. */
  get lastLine(): number {
    return this.#lastLine;
  }

  get subscribers(): number {
    return this.#subs.size;
  }

  /**
   * An SSE response body: replays history lines after `afterLine` (when
   * given), then the current status, then everything live.
   *
   * The status sent on connect is current: the ticker runs only while
   * someone watches, so a cached document older than one interval (or none
   * yet) is refreshed first, and the stream opens once that run ends. A
   * refresh that fails sends the older document (its `timestamp` says its
   * age); none at all sends no status until the next tick.
   */
  async subscribe(
    afterLine: number | undefined,
  ): Promise<ReadableStream<Uint8Array>> {
    if (!this.#stopped && Date.now() - this.#statusAt >= this.#intervalMs) {
      await this.#refreshStatus();
    }
    const encoder = new TextEncoder();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let closed = false;
    const sub: Subscriber = {
      send: (text) => {
        if (closed) return false;
        const bytes = encoder.encode(text);
        const queued = controller.desiredSize === null
          ? 0
          : MAX_QUEUED_BYTES - controller.desiredSize;
        if (queued + bytes.length > MAX_QUEUED_BYTES) {
          sub.close();
          return false;
        }
        controller.enqueue(bytes);
        return true;
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.#subs.delete(sub);
        try {
          controller.close();
        } catch { /* already closed by the reader */ }
      },
    };
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      cancel: () => {
        closed = true;
        this.#subs.delete(sub);
      },
    }, { highWaterMark: MAX_QUEUED_BYTES, size: (chunk) => chunk.byteLength });
    sub.send("retry: 2000\n\n");
    if (afterLine !== undefined) {
      // Replay up to the line last published; lines the poller publishes
      // meanwhile are replayed by the next round. The last check and `add`
      // below run with no await between them, so no line falls in between.
      let sent = afterLine;
      while (sent < this.#lastLine) {
        const upTo = this.#lastLine;
        for await (const l of readHistoryLines(this.#opts.historyFile)) {
          if (l.line <= sent || l.line > upTo || !l.ok) continue;
          sub.send(this.#historyFrame({ line: l.line, record: l.event }));
        }
        sent = upTo;
      }
    }
    if (this.#status !== undefined) sub.send(this.#statusFrame());
    if (this.#stopped) sub.close();
    else this.#subs.add(sub);
    return stream;
  }

  #historyFrame(item: HistoryItem): string {
    return sseFrame({ id: String(item.line), event: "history", data: JSON.stringify(item) });
  }

  #statusFrame(): string {
    return sseFrame({
      id: `${this.#lastLine}.${this.#tick}`,
      event: "status",
      data: JSON.stringify(this.#status),
    });
  }

  #broadcast(text: string): void {
    for (const s of [...this.#subs]) s.send(text);
  }

  async #statKey(): Promise<string> {
    try {
      const st = await Deno.stat(this.#opts.historyFile);
      return `${st.ino}:${st.size}:${st.mtime?.getTime()}`;
    } catch {
      return "missing";
    }
  }

  async #pollHistory(): Promise<void> {
    if (this.#polling || this.#stopped) return;
    this.#polling = true;
    try {
      const key = await this.#statKey();
      if (key === this.#historyKey) return;
      this.#historyKey = key;
      const from = this.#lastLine;
      for await (const l of readHistoryLines(this.#opts.historyFile)) {
        if (l.line <= from) continue;
        this.#lastLine = l.line;
        if (l.ok) this.#broadcast(this.#historyFrame({ line: l.line, record: l.event }));
      }
    } catch (error) {
      this.#opts.onError?.("history poll", error);
    } finally {
      this.#polling = false;
    }
  }

  #refreshStatus(): Promise<void> {
    if (this.#statusRunning || this.#stopped) return this.#statusRunning ?? Promise.resolve();
    this.#statusRunning = (async () => {
      try {
        const doc = await this.#opts.runStatus();
        this.#status = doc;
        this.#statusAt = Date.now();
        this.#tick++;
        for (const w of this.#statusWaiters.splice(0)) w(doc);
        this.#broadcast(this.#statusFrame());
      } catch (error) {
        this.#opts.onError?.("status", error);
        // Readers get the older document rather than nothing (its timestamp says its age).
        if (this.#status !== undefined) {
          for (const w of this.#statusWaiters.splice(0)) w(this.#status);
        }
      } finally {
        this.#statusRunning = undefined;
      }
    })();
    return this.#statusRunning;
  }
}
