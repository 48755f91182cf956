/**
 * `policy eval` answers from the rendered policy_data.json only while the
 * stamp proves it is what the manifest renders to (issue 12 start-up): any
 * edit to the manifest, to the data file or to the renderer's code makes it
 * render again, so stale limits are never used. Real opa-built bundle, no
 * engine, no network.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Context, createContext } from "./context.ts";
import { generate, writeGenerated } from "../generate/mod.ts";
import { loadManifest } from "../manifest/mod.ts";
import { buildPolicyBundle, DEFAULT_POLICIES_DIR, defaultOpaBin } from "../policy/mod.ts";
import type { Terminal } from "../term/mod.ts";
import { freshPolicyData, POLICY_DATA_STAMP, rendererIdentity, runPolicyEval } from "./policy.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const plain = (s: string) => s;

function captureTerminal(lines: string[]): Terminal {
  return {
    color: false,
    out: (line = "") => void lines.push(line),
    err: (line = "") => void lines.push(`stderr: ${line}`),
    green: plain,
    red: plain,
    yellow: plain,
    dim: plain,
    bold: plain,
  };
}

interface Fixture {
  ctx: Context;
  lines: string[];
  input: string;
  cleanup(): Promise<void>;
}

let bundleDir: Promise<string> | undefined;

/** policies/ built once per test process with the real opa, into a temp folder. */
function sharedBundleDir(): Promise<string> {
  bundleDir ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-policy-eval-bundle-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    await buildPolicyBundle({
      policiesDir: DEFAULT_POLICIES_DIR,
      outDir: dir,
      opaBin: defaultOpaBin(),
    });
    return dir;
  })();
  return bundleDir;
}

/** An installation (real bundle, policies, templates) and an init-ed folder with the shipped manifest. */
async function fixture(): Promise<Fixture> {
  const bundle = await sharedBundleDir();
  const home = await Deno.makeTempDir({ prefix: "swiftdeploy-policy-eval-home-" });
  await Deno.mkdir(join(home, "build"));
  await Deno.symlink(bundle, join(home, "build", "policy"));
  await Deno.symlink(DEFAULT_POLICIES_DIR, join(home, "policies"));
  await Deno.symlink(join(REPO, "templates"), join(home, "templates"));
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-policy-eval-" });
  await Deno.copyFile(join(REPO, "manifest.yaml"), join(dir, "manifest.yaml"));
  const input = join(dir, "input.json");
  await Deno.writeTextFile(
    input,
    JSON.stringify({
      current_mode: "canary",
      target_mode: "stable",
      error_rate_percent: 0.42,
      p99_latency_ms: 48.5,
      request_count: 250,
      window_seconds: 30,
    }),
  );
  const lines: string[] = [];
  const ctx: Context = {
    ...createContext({
      manifest: join(dir, "manifest.yaml"),
      verbose: true,
      policyEngine: "wasm",
      term: captureTerminal(lines),
    }),
    home,
  };
  const loaded = await loadManifest(ctx.manifestPath);
  await writeGenerated(dir, (await generate(ctx, loaded)).files);
  return {
    ctx,
    lines,
    input,
    cleanup: async () => {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(home, { recursive: true });
    },
  };
}

async function evalOnce(f: Fixture): Promise<{ code: number; text: string }> {
  f.lines.length = 0;
  const code = await runPolicyEval(f.ctx, "canary", f.input);
  return { code, text: f.lines.join("\n") };
}

async function editFile(path: string, from: string, to: string): Promise<void> {
  const text = await Deno.readTextFile(path);
  assert.ok(text.includes(from), `${path} holds ${from}`);
  await Deno.writeTextFile(path, text.replace(from, to));
}

Deno.test("policy eval renders once, leaves the stamp, then answers the same from the file", async () => {
  const f = await fixture();
  try {
    assert.equal(await freshPolicyData(f.ctx), undefined, "no stamp yet: not proven fresh");
    const first = await evalOnce(f);
    assert.equal(first.code, 0, first.text);
    assert.match(first.text, /"allow": true/);
    const onDisk = await Deno.readTextFile(join(f.ctx.dir, "policy_data.json"));
    assert.equal(await freshPolicyData(f.ctx), onDisk, "the stamp proves the file fresh");
    const stamp = JSON.parse(await Deno.readTextFile(join(f.ctx.stateDir, POLICY_DATA_STAMP)));
    assert.deepEqual(Object.keys(stamp).sort(), ["manifest", "policyData", "renderer"]);
    assert.equal((await Deno.stat(f.ctx.stateDir)).mode! & 0o777, 0o755);
    const second = await evalOnce(f);
    assert.deepEqual(second, first, "the fast path prints exactly what rendering printed");
  } finally {
    await f.cleanup();
  }
});

Deno.test("policy eval never uses stale data: a manifest edit after the stamp is evaluated", async () => {
  const f = await fixture();
  try {
    assert.equal((await evalOnce(f)).code, 0);
    // policy_data.json on disk still holds 1.0 (no init): only the manifest says 0.1.
    await editFile(
      f.ctx.manifestPath,
      "max_error_rate_percent: 1.0",
      "max_error_rate_percent: 0.1",
    );
    assert.equal(await freshPolicyData(f.ctx), undefined);
    const after = await evalOnce(f);
    assert.equal(after.code, 3, after.text);
    assert.match(after.text, /DENIED/);
    // The file on disk is not what the manifest renders to, so no stamp vouches for it.
    assert.equal(await freshPolicyData(f.ctx), undefined);
    assert.equal((await evalOnce(f)).code, 3);
  } finally {
    await f.cleanup();
  }
});

Deno.test("policy eval never uses a hand-edited policy_data.json, even with a stamp", async () => {
  const f = await fixture();
  try {
    assert.equal((await evalOnce(f)).code, 0);
    const data = join(f.ctx.dir, "policy_data.json");
    await editFile(data, '"max_error_rate_percent": 1', '"max_error_rate_percent": 0.1');
    assert.equal(await freshPolicyData(f.ctx), undefined);
    const after = await evalOnce(f);
    assert.equal(after.code, 0, "the manifest's 1.0 decides, not the edited file");
  } finally {
    await f.cleanup();
  }
});

Deno.test("policy eval renders again when the stamp is for other renderer code or is garbage", async () => {
  const f = await fixture();
  try {
    await evalOnce(f);
    const stampPath = join(f.ctx.stateDir, POLICY_DATA_STAMP);
    const stamp = JSON.parse(await Deno.readTextFile(stampPath));
    await Deno.writeTextFile(stampPath, JSON.stringify({ ...stamp, renderer: "0".repeat(64) }));
    assert.equal(await freshPolicyData(f.ctx), undefined, "another renderer's stamp");
    await Deno.writeTextFile(stampPath, "{not json");
    assert.equal(await freshPolicyData(f.ctx), undefined, "an unreadable stamp");
    assert.equal((await evalOnce(f)).code, 0);
    assert.ok(await freshPolicyData(f.ctx), "rendering wrote a good stamp again");
  } finally {
    await f.cleanup();
  }
});

Deno.test("the renderer identity follows the manifest and render sources and deno.json", async () => {
  const root = await Deno.makeTempDir({ prefix: "swiftdeploy-renderer-id-" });
  try {
    const cli = new URL(`file://${root}/cli/`);
    assert.equal(await rendererIdentity(cli), undefined, "no sources (a bundled CLI): no identity");
    for (const folder of ["manifest", "render"]) {
      await Deno.mkdir(join(root, "cli", folder), { recursive: true });
    }
    await Deno.writeTextFile(join(root, "deno.json"), "{}");
    await Deno.writeTextFile(join(root, "cli", "manifest", "_defaults.ts"), "export const a = 1;");
    await Deno.writeTextFile(join(root, "cli", "render", "_policy_data.ts"), "export const b = 1;");
    const first = await rendererIdentity(cli);
    assert.match(first ?? "", /^[0-9a-f]{64}$/);
    await Deno.writeTextFile(join(root, "cli", "render", "x_test.ts"), "a test does not count");
    assert.equal(await rendererIdentity(cli), first);
    for (
      const [path, text] of [
        ["cli/manifest/_defaults.ts", "export const a = 2;"],
        ["cli/render/_policy_data.ts", "export const b = 2;"],
        ["cli/render/_new.ts", "export const c = 1;"],
        ["deno.json", '{"imports":{}}'],
      ]
    ) {
      const before = await rendererIdentity(cli);
      await Deno.writeTextFile(join(root, path!), text!);
      assert.notEqual(await rendererIdentity(cli), before, `${path} changes the identity`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
