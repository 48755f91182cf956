/**
 * Changes requested through the API run as operations: each is one run of
 * this CLI as a child process (`swiftdeploy -f <manifest> <verb> …` with
 * `SWIFTDEPLOY_ACTOR=token:<name>`), so the server shares the CLI's code
 * paths exactly (lock, gates, rollout driver, history) and records every
 * change with the token's name.
 *
 * An operation's output lines are kept in memory while it runs (at most
 * `MAX_LINES`) and stream to followers; when it ends its final state is
 * written to `.swiftdeploy/operations/<id>.json` (0600) and kept there.
 *
 * @module
 */
import { join } from "node:path";
import { atomicWrite, ensureDir, readIfExists } from "../fs/mod.ts";
import { sseFrame } from "./_sse.ts";

/** Starts this CLI with `argv` (after `-f <manifest>`), as `actor`. */
export type CliSpawner = (argv: string[], env: Record<string, string>) => Deno.ChildProcess;

export type OperationState = "running" | "succeeded" | "failed";

/** One output line of an operation; `seq` counts from 1 (its SSE id). */
export interface OutputLine {
  seq: number;
  stream: "stdout" | "stderr";
  /** ISO 8601 UTC with milliseconds. */
  at: string;
  text: string;
}

/** An operation as `GET /v1/operations/{id}` shows it. */
export interface OperationDoc {
  id: string;
  /** `deploy`, `promote`, `rollout pause`, `rollback`, … */
  kind: string;
  argv: string[];
  /** `token:<name>` or `webhook:<…>`. */
  actor: string;
  state: OperationState;
  /** The CLI's exit code (see `swiftdeploy --help`), null while running. */
  exit_code: number | null;
  started_at: string;
  ended_at: string | null;
  /** Output lines dropped from the front when there were more than MAX_LINES. */
  dropped_lines: number;
  output: OutputLine[];
}

const MAX_LINES = 5000;
/** Finished operations kept in memory (older ones are read back from their files). */
const KEEP_IN_MEMORY = 100;

type Follower = (frame: string, end: boolean) => void;

interface Live {
  doc: OperationDoc;
  child: Deno.ChildProcess;
  followers: Set<Follower>;
  done: Promise<void>;
}

/** An operation id: its start time and 8 random hex digits, URL-safe. */
function newId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `op-${t}-${crypto.randomUUID().slice(0, 8)}`;
}

export class Operations {
  #dir: string;
  #spawn: CliSpawner;
  #live = new Map<string, Live>();
  #ended = new Map<string, OperationDoc>();

  constructor(stateDir: string, spawn: CliSpawner) {
    this.#dir = join(stateDir, "operations");
    this.#spawn = spawn;
  }

  /** Operations still running. */
  running(): OperationDoc[] {
    return [...this.#live.values()].map((l) => l.doc);
  }

  /**
   * Starts `argv` as a child of this CLI recorded as `actor`.
   *
   * @returns its document (state `running`)
   */
  start(kind: string, argv: string[], actor: string): OperationDoc {
    const doc: OperationDoc = {
      id: newId(),
      kind,
      argv,
      actor,
      state: "running",
      exit_code: null,
      started_at: new Date().toISOString(),
      ended_at: null,
      dropped_lines: 0,
      output: [],
    };
    const child = this.#spawn(argv, { SWIFTDEPLOY_ACTOR: actor, NO_COLOR: "1" });
    const followers = new Set<Follower>();
    let seq = 0;
    const push = (stream: OutputLine["stream"], text: string) => {
      const line: OutputLine = { seq: ++seq, stream, at: new Date().toISOString(), text };
      doc.output.push(line);
      if (doc.output.length > MAX_LINES) {
        doc.output.shift();
        doc.dropped_lines++;
      }
      const frame = sseFrame({ id: String(line.seq), event: "output", data: JSON.stringify(line) });
      for (const f of followers) f(frame, false);
    };
    const pump = async (stream: ReadableStream<Uint8Array>, name: OutputLine["stream"]) => {
      let rest = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        for (const p of parts) push(name, p);
      }
      if (rest !== "") push(name, rest);
    };
    const done = (async () => {
      const [status] = await Promise.all([
        child.status,
        pump(child.stdout, "stdout"),
        pump(child.stderr, "stderr"),
      ]);
      doc.exit_code = status.code;
      doc.state = status.success ? "succeeded" : "failed";
      doc.ended_at = new Date().toISOString();
      try {
        await this.#persist(doc);
      } catch { /* the document stays in memory; the request log says nothing about files */ }
      this.#live.delete(doc.id);
      this.#ended.set(doc.id, doc);
      if (this.#ended.size > KEEP_IN_MEMORY) {
        this.#ended.delete(this.#ended.keys().next().value!);
      }
      const frame = sseFrame({ event: "end", data: JSON.stringify(summary(doc)) });
      for (const f of followers) f(frame, true);
      followers.clear();
    })();
    this.#live.set(doc.id, { doc, child, followers, done });
    return doc;
  }

  async #persist(doc: OperationDoc): Promise<void> {
    await ensureDir(this.#dir, 0o700);
    await atomicWrite(join(this.#dir, `${doc.id}.json`), JSON.stringify(doc) + "\n", {
      mode: 0o600,
    });
  }

  /** The operation `id` (running, or ended: from memory or its file); undefined when unknown. */
  async get(id: string): Promise<OperationDoc | undefined> {
    const live = this.#live.get(id) ?? undefined;
    if (live) return live.doc;
    const ended = this.#ended.get(id);
    if (ended) return ended;
    if (!/^op-[0-9TZ]+-[0-9a-f]{8}$/.test(id)) return undefined;
    const text = await readIfExists(join(this.#dir, `${id}.json`));
    return text === undefined ? undefined : JSON.parse(text) as OperationDoc;
  }

  /** The ids of kept operations, newest first (running ones included). */
  async list(limit: number): Promise<ReturnType<typeof summary>[]> {
    const docs = new Map<string, ReturnType<typeof summary>>();
    for (const l of this.#live.values()) docs.set(l.doc.id, summary(l.doc));
    for (const d of this.#ended.values()) docs.set(d.id, summary(d));
    try {
      for await (const e of Deno.readDir(this.#dir)) {
        const id = e.name.replace(/\.json$/, "");
        if (docs.has(id) || !e.name.endsWith(".json")) continue;
        const doc = await this.get(id).catch(() => undefined);
        if (doc) docs.set(id, summary(doc));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return [...docs.values()].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, limit);
  }

  /**
   * An SSE body following operation `id`: its output lines after `afterSeq`
   * (all when undefined), then live lines, then an `end` event with the
   * final state, after which the stream closes.
   */
  follow(
    doc: OperationDoc,
    afterSeq: number | undefined,
  ): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    const live = this.#live.get(doc.id);
    let follower: Follower | undefined;
    return new ReadableStream<Uint8Array>({
      start: (c) => {
        const send = (frame: string) => c.enqueue(encoder.encode(frame));
        for (const line of doc.output) {
          if (afterSeq === undefined || line.seq > afterSeq) {
            send(sseFrame({ id: String(line.seq), event: "output", data: JSON.stringify(line) }));
          }
        }
        if (!live) {
          send(sseFrame({ event: "end", data: JSON.stringify(summary(doc)) }));
          c.close();
          return;
        }
        follower = (frame, end) => {
          try {
            send(frame);
            if (end) c.close();
          } catch { /* the reader went away */ }
        };
        live.followers.add(follower);
      },
      cancel: () => {
        if (follower) live?.followers.delete(follower);
      },
    });
  }

  /**
   * Waits for running operations to end; after `graceMs`, sends them SIGTERM
   * (the CLI stops cleanly: a rollout keeps its persisted state and
   * `rollout resume` continues it) and waits for that.
   */
  async drain(graceMs: number): Promise<void> {
    const all = () => Promise.all([...this.#live.values()].map((l) => l.done));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      all().then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      for (const l of this.#live.values()) {
        try {
          l.child.kill("SIGTERM");
        } catch { /* already gone */ }
      }
      await all();
    }
  }
}

/** An operation without its output (lists, `end` events, 202 bodies). */
export function summary(doc: OperationDoc) {
  return {
    id: doc.id,
    kind: doc.kind,
    actor: doc.actor,
    state: doc.state,
    exit_code: doc.exit_code,
    started_at: doc.started_at,
    ended_at: doc.ended_at,
    url: `/v1/operations/${doc.id}`,
  };
}
