/**
 * Runs testing/keepalive_load.py (Python's http.client, one kept-alive
 * connection per worker, never a resend) against a port until `stop()`.
 */
import { join } from "node:path";

/** What the client counted: every request it sent, by answer; `lost` had no answer. */
export interface LoadCounts {
  total: number;
  /** HTTP status → requests. */
  statuses: Record<string, number>;
  /** `X-SwiftDeploy-Variant` header value → requests ("-" without one). */
  variants: Record<string, number>;
  /** `version` of the JSON body → requests. */
  versions: Record<string, number>;
  lost: number;
  lost_samples: string[];
}

export interface RunningLoad {
  /** Stops the workers and returns the counts. */
  stop(): Promise<LoadCounts>;
}

const SCRIPT = new URL("./keepalive_load.py", import.meta.url).pathname;

/**
 * Starts `workers` keep-alive workers sending GET `path` to `host`:`port`
 * (127.0.0.1 unless given: a swarm lab's manager is reached at its address).
 *
 * @throws Error from `stop()` when python3 fails or prints no counts
 */
export async function startLoad(
  port: number,
  workers = 4,
  path = "/",
  host = "127.0.0.1",
): Promise<RunningLoad> {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-load-" });
  const stopFile = join(dir, "stop");
  const child = new Deno.Command("python3", {
    args: [SCRIPT, String(port), String(workers), stopFile, path, host],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return {
    stop: async () => {
      await Deno.writeTextFile(stopFile, "");
      const out = await child.output();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      const text = new TextDecoder().decode(out.stdout).trim();
      if (out.code !== 0 || !text) {
        throw new Error(
          `the load client failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr)}`,
        );
      }
      return JSON.parse(text) as LoadCounts;
    },
  };
}

/** Requests that did not get a 200: lost ones and every other status. */
export function failedRequests(c: LoadCounts): number {
  return c.lost + Object.entries(c.statuses)
    .filter(([status]) => status !== "200")
    .reduce((n, [, k]) => n + k, 0);
}
