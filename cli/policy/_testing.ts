/**
 * Test and bench helpers: the real opa binary, a bundle built once per
 * process into a temp dir, and a real `opa run --server` on a free
 * 127.0.0.1 port.
 */
import { join } from "node:path";
import { buildPolicyBundle, type BuiltPolicyBundle } from "./build_policy_bundle.ts";
import { DEFAULT_POLICIES_DIR, defaultOpaBin } from "./_opa.ts";
import { DEFAULT_PROMOTION_LIMITS } from "./parity.ts";
import { freePort } from "../../testing/free_port.ts";

export { freePort };

export const OPA_BIN = defaultOpaBin();
export const POLICIES_DIR = DEFAULT_POLICIES_DIR;

/** The data document `init` renders from the shipped manifest. */
export const TEST_DATA = {
  limits: {
    infrastructure: { min_disk_free_gb: 10, max_cpu_load: 8.0, min_mem_free_percent: 10 },
    canary: {
      max_error_rate_percent: 1.0,
      max_p99_latency_ms: 500,
      window_seconds: 30,
      min_requests: 20,
    },
    rollout: {
      min_requests: 20,
      max_error_rate_percent: 5,
      max_error_rate_increase_points: 1.0,
      max_p99_latency_ms: 1000,
      max_p99_ratio: 2.0,
      p99_ratio_floor_ms: 50,
      failure_limit: 0,
      inconclusive_limit: 2,
    },
    promotion: DEFAULT_PROMOTION_LIMITS,
  },
  _generated: { by: "swiftdeploy init", note: "test fixture" },
};

let shared: Promise<{ bundleDir: string } & BuiltPolicyBundle> | undefined;

/** Builds policies/ once per test process into a temp dir. */
export function sharedBundle(): Promise<{ bundleDir: string } & BuiltPolicyBundle> {
  shared ??= (async () => {
    const bundleDir = await Deno.makeTempDir({ prefix: "swiftdeploy-policy-test-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(bundleDir, { recursive: true }));
    const built = await buildPolicyBundle({
      policiesDir: POLICIES_DIR,
      outDir: bundleDir,
      opaBin: OPA_BIN,
    });
    return { bundleDir, ...built };
  })();
  return shared;
}

/** Copies the real policy sources (not their tests) into a temp dir to edit. */
export async function copyPolicies(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-policies-" });
  for await (const entry of Deno.readDir(POLICIES_DIR)) {
    if (entry.isFile && entry.name.endsWith(".rego") && !entry.name.endsWith("_test.rego")) {
      await Deno.copyFile(join(POLICIES_DIR, entry.name), join(dir, entry.name));
    }
  }
  return dir;
}

/** Minimal infrastructure, rollout and promotion packages, and a canary package made of `canaryBody`. */
export async function fixturePolicies(canaryBody: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-fixture-" });
  await Deno.writeTextFile(
    join(dir, "infrastructure.rego"),
    'package swiftdeploy.infrastructure\n\ndecision := {"allow": true, "reasons": [], "domain": "infrastructure", "checked": {}}\n',
  );
  await Deno.writeTextFile(
    join(dir, "rollout.rego"),
    'package swiftdeploy.rollout\n\ndecision := {"allow": true, "reasons": ["continue"], "domain": "rollout", "checked": {"outcome": "continue"}}\n',
  );
  await Deno.writeTextFile(
    join(dir, "promotion.rego"),
    'package swiftdeploy.promotion\n\ndecision := {"allow": true, "reasons": [], "domain": "promotion", "checked": {}}\n',
  );
  await Deno.writeTextFile(
    join(dir, "canary.rego"),
    `package swiftdeploy.canary\n\n${canaryBody}\n`,
  );
  return dir;
}

export interface OpaServer {
  url: string;
  close(): Promise<void>;
  /** For unload handlers, which cannot wait. */
  closeSync(): void;
}

/** Starts the real OPA server on `policiesDir` with `data` at the root; waits for /health. */
export async function startOpaServer(policiesDir: string, data: unknown): Promise<OpaServer> {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-opa-" });
  const dataPath = join(dir, "data.json");
  await Deno.writeTextFile(dataPath, JSON.stringify(data, null, 2));
  const port = freePort();
  const child = new Deno.Command(OPA_BIN, {
    args: [
      "run",
      "--server",
      "--addr",
      `127.0.0.1:${port}`,
      "--log-level",
      "error",
      "--ignore",
      "*_test.rego",
      policiesDir,
      dataPath,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
    await stderr;
    await Deno.remove(dir, { recursive: true });
  };
  const closeSync = () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    Deno.removeSync(dir, { recursive: true });
  };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.ok) return { url, close, closeSync };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await close();
  throw new Error(`OPA server on ${url} did not become healthy: ${await stderr}`);
}
