/**
 * The identity of the policies: sha256 over the non-test `.rego` files of
 * policies/, sorted by relative path, each framed as `path\0content\0`. The
 * bundle carries it so a stale bundle is refused instead of evaluated.
 */
import { join, relative, sep } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";

export interface PolicySources {
  hash: string;
  /** Relative paths with "/" separators, sorted. */
  files: string[];
}

export function isTestFile(name: string): boolean {
  return name.endsWith("_test.rego");
}

async function walk(dir: string, out: string[]): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) await walk(path, out);
    else if (entry.isFile && entry.name.endsWith(".rego") && !isTestFile(entry.name)) {
      out.push(path);
    }
  }
}

/** Hashes the policy sources; throws POLICY_BUNDLE_MISSING when there are none. */
export async function hashPolicySources(policiesDir: string): Promise<PolicySources> {
  const paths: string[] = [];
  try {
    await walk(policiesDir, paths);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new SwiftDeployError(
        "POLICY_BUNDLE_MISSING",
        `Cannot read the policies: "${policiesDir}" does not exist`,
        {
          hint: "run the command from the project directory, which holds policies/",
          cause: error,
        },
      );
    }
    throw error;
  }
  if (paths.length === 0) {
    throw new SwiftDeployError(
      "POLICY_BUNDLE_MISSING",
      `Cannot read the policies: no .rego file in "${policiesDir}"`,
      {
        hint:
          "restore policies/infrastructure.rego, policies/canary.rego, policies/rollout.rego, policies/promotion.rego and policies/text.rego",
      },
    );
  }
  const files = paths.map((p) => relative(policiesDir, p).split(sep).join("/")).sort();
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const file of files) {
    chunks.push(
      encoder.encode(file + "\0"),
      await Deno.readFile(join(policiesDir, file)),
      encoder.encode("\0"),
    );
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  const digest = await crypto.subtle.digest("SHA-256", all);
  const hash = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return { hash, files };
}
