/** Helpers shared by the service's tests (not part of the service). */

import { fileURLToPath as fromFileUrl } from "node:url";
import { freePort } from "../testing/free_port.ts";

export { freePort };

/** A seeded PRNG uniform in [0, 1): the same seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A promise with its resolver, for sleeps the test releases by hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The repository root (service/..), where deno.json lives. */
export const REPO_ROOT = fromFileUrl(new URL("..", import.meta.url));
export const MAIN_TS = fromFileUrl(new URL("./main.ts", import.meta.url));

/** Collects a child's stream as text and resolves `waitFor` once a pattern shows up. */
export class StreamText {
  text = "";
  readonly done: Promise<void>;
  #waiters: { pattern: RegExp; resolve: () => void }[] = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        this.text += chunk;
        this.#waiters = this.#waiters.filter((w) =>
          !(w.pattern.test(this.text) && (w.resolve(), true))
        );
      }
    })();
  }

  /** Resolves when the text matches, rejects after `ms` with what was seen. */
  waitFor(pattern: RegExp, ms = 10_000): Promise<void> {
    if (pattern.test(this.text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`Timed out waiting for ${pattern}: got ${JSON.stringify(this.text)}`)),
        ms,
      );
      this.#waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of one metric (exact name, e.g. `http_requests_total`) in exposition text. */
export function samples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    out.push({ labels, value: Number(match[3]) });
  }
  return out;
}

/** The value of the one sample whose labels include `labels`, or undefined. */
export function sampleValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples(text, name).filter((s) =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  if (found.length > 1) {
    throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  }
  return found[0]?.value;
}

/** A clean environment for a child deno: only what deno itself needs plus `vars`. */
export function childEnv(vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...vars };
}

/** Runs a deno subcommand to completion in the repository root. */
export async function runDeno(
  args: string[],
  vars: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    env: childEnv(vars),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A running child deno whose stdout and stderr are collected as they come. */
export interface RunningDeno {
  child: Deno.ChildProcess;
  stdout: StreamText;
  stderr: StreamText;
  /** Waits for exit and for both streams to end. */
  finished(): Promise<Deno.CommandStatus>;
}

export function spawnDeno(args: string[], vars: Record<string, string>): RunningDeno {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    env: childEnv(vars),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new StreamText(child.stdout);
  const stderr = new StreamText(child.stderr);
  return {
    child,
    stdout,
    stderr,
    async finished() {
      const status = await child.status;
      await Promise.all([stdout.done, stderr.done]);
      return status;
    },
  };
}

/** True when a new TCP connection to the port is refused. */
export async function connectionRefused(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return true;
    // A connection caught in the backlog while the listener closes is reset.
    if (error instanceof Deno.errors.ConnectionReset) return false;
    throw error;
  }
}

/** Polls until a new connection to the port is refused; the milliseconds it took, or undefined. */
export async function waitUntilRefused(port: number, ms = 1000): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    if (await connectionRefused(port)) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return undefined;
}
