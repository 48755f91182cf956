/**
 * Test helpers: the render variants (the shipped manifest and the fixtures
 * in tests/fixtures/render/) parsed with `parseManifest`, planned and
 * rendered with fixed paths. Test code only.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { parseManifest, type ResolvedManifest } from "../manifest/mod.ts";
import { type Addressing, planStack, type StackPlan } from "../plan/mod.ts";
import { readTemplates } from "./_read_templates.ts";
import { renderAll, type RenderedFiles } from "./_render_all.ts";

export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const TEMPLATES_DIR = `${ROOT}/templates`;
export const GOLDEN_DIR = `${ROOT}/tests/golden/render`;

export interface Variant {
  /** Folder name under tests/golden/render/. */
  name: string;
  manifestPath: string;
  relPoliciesDir: string;
  manifestDir: string;
  installDir: string;
}

const fixture = (name: string) => `${ROOT}/tests/fixtures/render/${name}`;

export const VARIANTS: readonly Variant[] = [
  {
    name: "shipped",
    manifestPath: `${ROOT}/manifest.yaml`,
    relPoliciesDir: "./policies",
    manifestDir: "/opt/swiftdeploy",
    installDir: "/opt/swiftdeploy",
  },
  {
    name: "other_ports",
    manifestPath: fixture("manifest_other_ports.yaml"),
    relPoliciesDir: "../swiftdeploy/policies",
    manifestDir: "/home/ops/ports",
    installDir: "/home/ops/swiftdeploy",
  },
  {
    name: "other_project",
    manifestPath: fixture("manifest_other_project.yaml"),
    relPoliciesDir: "policies",
    manifestDir: "/srv/shop-api",
    installDir: "/srv/shop-api/",
  },
  {
    name: "other_limits",
    manifestPath: fixture("manifest_other_limits.yaml"),
    relPoliciesDir: "./policies",
    manifestDir: "/opt/swiftdeploy",
    installDir: "/opt/swiftdeploy",
  },
  {
    name: "tricky_contact",
    manifestPath: fixture("manifest_tricky_contact.yaml"),
    relPoliciesDir: "/usr/local/lib/swiftdeploy/policies",
    manifestDir: "/opt/stack",
    installDir: "/usr/local/lib/swiftdeploy",
  },
];

export interface LoadedVariant {
  variant: Variant;
  text: string;
  hash: string;
  manifest: ResolvedManifest;
  plan: StackPlan;
  files: RenderedFiles;
}

export async function loadVariant(variant: Variant): Promise<LoadedVariant> {
  const text = await Deno.readTextFile(variant.manifestPath);
  const hash = createHash("sha256").update(text, "utf8").digest("hex");
  const manifest = parseManifest(
    text,
    variant.manifestPath.slice(variant.manifestPath.lastIndexOf("/") + 1),
  );
  return { variant, text, hash, manifest, ...await planAndRender(manifest, variant, hash) };
}

/** Plans and renders `manifest` with the paths of `variant`. */
export async function planAndRender(
  manifest: ResolvedManifest,
  variant: Variant,
  hash = "0".repeat(64),
  addressing?: Addressing,
): Promise<{ plan: StackPlan; files: RenderedFiles }> {
  const plan = planStack(manifest, {
    manifestDir: variant.manifestDir,
    installDir: variant.installDir,
    ...(addressing ? { addressing } : {}),
  });
  const files = renderAll(manifest, {
    manifestHash: hash,
    manifestFileName: variant.manifestPath.slice(variant.manifestPath.lastIndexOf("/") + 1),
    relPoliciesDir: variant.relPoliciesDir,
    plan,
    templates: await readTemplates(TEMPLATES_DIR),
  });
  return { plan, files };
}

/**
 * Asserts `actual` equals the golden file byte for byte; with
 * UPDATE_GOLDEN=1 in the environment, writes it instead.
 */
export async function assertGolden(path: string, actual: string): Promise<void> {
  if (Deno.env.get("UPDATE_GOLDEN") === "1") {
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, actual);
    return;
  }
  let expected: string;
  try {
    expected = await Deno.readTextFile(path);
  } catch (cause) {
    throw new Error(
      `Cannot read golden file "${path}": run the test with UPDATE_GOLDEN=1 to create it`,
      {
        cause,
      },
    );
  }
  assert.equal(
    actual,
    expected,
    `Golden file "${path}" differs: review, then run with UPDATE_GOLDEN=1`,
  );
}

/** Runs a program to completion and returns its exit code and output. */
export async function run(
  program: string,
  args: string[],
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(program, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(cwd === undefined ? {} : { cwd }),
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Absolute path of a program from PATH or the usual sbin/bin folders; throws when missing. */
export function requireProgram(name: string): string {
  const dirs = [
    ...(Deno.env.get("PATH") ?? "").split(":"),
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
  ];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not in this folder
    }
  }
  throw new Error(`Cannot find "${name}": install it (Debian package) to run these tests`);
}
