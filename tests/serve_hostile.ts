/**
 * Malformed and hostile requests against `swiftdeploy serve`, written as raw
 * bytes on fresh connections (unix socket and loopback TCP only): bad JSON
 * with a valid deploy token, huge headers, path traversal, garbage request
 * lines, oversized and slow bodies, bad tokens and methods. Used by
 * tests/serve_hostile_test.ts (a few hundred) and tests/serve_bench.ts
 * (10,000). Every loop is bounded in count and time.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { ServeHandle } from "./serve_helpers.ts";

/** One kind of hostile request: its bytes, and whether it stalls (a slow body). */
interface Attack {
  kind: string;
  bytes: (n: number) => Uint8Array;
  /** Send the bytes, then hold the connection open without finishing the body. */
  stall?: boolean;
}

const enc = new TextEncoder();

export function attacks(deployToken: string): Attack[] {
  const auth = `Authorization: Bearer ${deployToken}\r\n`;
  const req = (head: string, body = "") =>
    enc.encode(`${head}\r\nHost: x\r\nConnection: close\r\n${body}`);
  return [
    {
      kind: "bad-json",
      bytes: (n) => {
        const bodies = [
          "{mode:",
          '{"mode":"canary"',
          "\u0000\u0001",
          "[1,2",
          '{"mode":{"$gt":1}}',
          "null",
          "1e999999",
        ];
        const b = bodies[n % bodies.length]!;
        return req(
          "POST /v1/promote HTTP/1.1",
          `${auth}Content-Type: application/json\r\nContent-Length: ${
            enc.encode(b).length
          }\r\n\r\n${b}`,
        );
      },
    },
    {
      kind: "huge-header",
      bytes: (n) =>
        req(
          "GET /v1/status HTTP/1.1",
          `X-Pad: ${"a".repeat(16_384 * (1 + (n % 8)))}\r\n${auth}\r\n`,
        ),
    },
    {
      kind: "many-headers",
      bytes: () =>
        req(
          "GET /v1/status HTTP/1.1",
          `${Array.from({ length: 500 }, (_, i) => `X-H${i}: v`).join("\r\n")}\r\n\r\n`,
        ),
    },
    {
      kind: "traversal",
      bytes: (n) => {
        const paths = [
          "/../../../../etc/passwd",
          "/v1/operations/..%2F..%2Ftokens.json",
          "/v1/releases/..%2F..%2Ftokens.json",
          "/assets/../../.swiftdeploy/tokens.json",
          "/assets/%2e%2e/%2e%2e/history.jsonl",
          "//v1//status",
          "/v1/status/../../tokens.json",
          "/v1/operations/%00",
          "/%2e%2e/%2e%2e/",
          "/v1/history?cursor=../../../etc/passwd",
        ];
        return req(`GET ${paths[n % paths.length]} HTTP/1.1`, `${auth}\r\n`);
      },
    },
    {
      kind: "garbage",
      bytes: (n) => {
        const lines = [
          "GARBAGE\r\n\r\n",
          "GET\r\n\r\n",
          "GET / HTTP/9.9\r\n\r\n",
          "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003",
          "POST /v1/deploy HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
          "POST /v1/deploy HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nzz\r\n",
          `GET /v1/status HTTP/1.1\r\nAuthorization: Bearer ${"\u00ff".repeat(50)}\r\n\r\n`,
        ];
        return enc.encode(lines[n % lines.length]!);
      },
    },
    {
      kind: "big-body",
      bytes: () =>
        req(
          "POST /v1/deploy HTTP/1.1",
          `${auth}Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n{"retry":true,"pad":"${
            "x".repeat(1000)
          }`,
        ),
    },
    {
      kind: "bad-token",
      bytes: (n) =>
        req(
          n % 2 ? "POST /v1/deploy HTTP/1.1" : "GET /v1/status HTTP/1.1",
          `Authorization: Bearer ${
            n % 3 ? deployToken.slice(0, -2) + "zz" : "sdt_" + "A".repeat(43)
          }\r\nContent-Length: 2\r\n\r\n{}`,
        ),
    },
    {
      kind: "bad-method",
      bytes: (n) =>
        req(
          `${["DELETE", "PUT", "PATCH", "TRACE", "OPTIONS"][n % 5]} /v1/deploy HTTP/1.1`,
          `${auth}\r\n`,
        ),
    },
    {
      kind: "slow-body",
      stall: true,
      bytes: () =>
        req(
          "POST /v1/rollout/abort HTTP/1.1",
          `${auth}Content-Type: application/json\r\nContent-Length: 64\r\n\r\n{"fo`,
        ),
    },
  ];
}

export interface HostileResult {
  sent: number;
  /** Count per `kind status` (status "none": the server closed without an answer). */
  outcomes: Record<string, number>;
  seconds: number;
}

async function connect(s: ServeHandle, n: number): Promise<Deno.Conn> {
  return n % 2
    ? await Deno.connect({ transport: "unix", path: s.socketPath })
    : await Deno.connect({ hostname: "127.0.0.1", port: s.httpPort });
}

async function one(s: ServeHandle, a: Attack, n: number, stallMs: number): Promise<string> {
  const conn = await connect(s, n);
  try {
    try {
      await conn.write(a.bytes(n));
    } catch {
      return "reset";
    }
    const buf = new Uint8Array(256);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const got = await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), a.stall ? stallMs : 5_000);
      }),
    ]);
    clearTimeout(timer);
    if (got === "timeout") return "timeout";
    if (got === null) return "none";
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(new TextDecoder().decode(buf.subarray(0, got)));
    return m ? m[1]! : "other";
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/**
 * Sends `count` hostile requests over `concurrency` workers (alternating
 * unix socket and TCP), at most `slowEvery`-th of them a stalled body held
 * up to `stallMs` (the server's 10 s body timeout answers 408 first).
 */
export async function sendHostile(
  s: ServeHandle,
  deployToken: string,
  opts: { count: number; concurrency: number; stallMs?: number; deadlineMs?: number },
): Promise<HostileResult> {
  const list = attacks(deployToken);
  const fast = list.filter((a) => !a.stall);
  const slow = list.filter((a) => a.stall);
  const outcomes: Record<string, number> = {};
  let next = 0;
  const started = performance.now();
  const deadline = Date.now() + (opts.deadlineMs ?? 300_000);
  const worker = async () => {
    while (next < opts.count && Date.now() < deadline) {
      const n = next++;
      // One request in 50 is a slow body; the rest cycle through the fast kinds.
      const a = n % 50 === 7 && slow.length ? slow[0]! : fast[n % fast.length]!;
      const status = await one(s, a, n, opts.stallMs ?? 15_000).catch((e) =>
        `error:${(e as Error).name}`
      );
      const key = `${a.kind} ${status}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return { sent: next, outcomes, seconds: (performance.now() - started) / 1000 };
}

/**
 * The history events added since `before` (its text then), or throws when
 * a line that was there changed.
 */
export async function historyAdded(file: string, before: string): Promise<string[]> {
  const now = await Deno.readTextFile(file);
  if (!now.startsWith(before)) throw new Error("history lines that were there changed");
  return now.slice(before.length).split("\n").filter((l) => l !== "").map((l) =>
    (JSON.parse(l) as { event: string }).event
  );
}

/** Files and folders of `.swiftdeploy/` that every status refresh rewrites. */
const STATUS_KEEPS = ["scrapes", "edge", "last_chaos", "status_variant_sample.json"];

/**
 * One line per file of the deployment's folder (tokens, operations,
 * releases, lock, generated files, rollout state…) but the history and what
 * the status refreshes keep: its path and sha256, to compare before and after.
 */
export async function stateDigest(dir: string): Promise<string> {
  const out: string[] = [];
  const walk = async (p: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(p));
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(p, e.name);
      if (e.name === "serve.sock" || e.name === "serve.lock") continue;
      // The history grows by the status ticks' status_scrape lines: see historyAdded.
      if (/^history\.jsonl(\.head)?$/.test(e.name)) continue;
      // What each status refresh keeps for the next one's window (as `status` does).
      if (STATUS_KEEPS.includes(e.name)) continue;
      if (e.isDirectory) await walk(full);
      else if (e.isFile) {
        out.push(`${full} ${createHash("sha256").update(await Deno.readFile(full)).digest("hex")}`);
      }
    }
  };
  await walk(dir);
  return out.join("\n");
}
