/**
 * The layering, checked over the real module graph (`deno info --json` of
 * every module in cli/, service/, tests/, build/ and testing/), not described:
 *
 * 1. a pure module (the folders ARCHITECTURE.md marks pure, minus their
 *    named shell files) does no I/O itself and imports, at run time, no
 *    module that does: type-only imports are free, they vanish;
 * 2. product code never imports tests/ or testing/ (test support shared by
 *    unit and integration tests), and the unit tests beside it never import
 *    the integration harness (it starts engines; `deno task test:unit` must
 *    not);
 * 3. a private file (`_name.ts`) is imported only from its own folder: every
 *    other folder goes through the public door (`mod.ts`).
 *
 * "Does I/O" is read from the source, comments removed: a `Deno.` API other
 * than the inert ones (errors, inspect, build…), `fetch(`, a Node built-in
 * that reaches the outside (fs, child_process, net, http…), or an npm
 * package that does (commander reads argv and exits).
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SCANNED = ["cli", "service", "tests", "build", "testing"];

/**
 * The pure folders of ARCHITECTURE.md's table, each with the files that are
 * its I/O shell (or, for cli/policy/, the only pure files: the evaluators
 * load modules and talk HTTP, the decision model does not).
 */
export const PURE_FOLDERS: { folder: string; shell?: string[]; only?: string[] }[] = [
  // parse and validate are pure; loading the file and editing it in place are the shell
  { folder: "cli/manifest/", shell: ["_load_manifest.ts", "mod.ts"] },
  { folder: "cli/plan/" },
  // reading templates/ is the shell
  { folder: "cli/render/", shell: ["_read_templates.ts", "mod.ts"] },
  // scrape() fetches /metrics
  { folder: "cli/metrics/", shell: ["_scrape.ts", "mod.ts"] },
  { folder: "cli/status/" },
  // the report model and chart; writing the files is the shell
  { folder: "cli/audit/", shell: ["_write.ts", "mod.ts"] },
  { folder: "cli/policy/", only: ["decision.ts"] },
  { folder: "cli/actions/" },
  { folder: "cli/digest/" },
  { folder: "cli/errors/" },
  // writing the generated files is the shell; the unified diff of init --check is pure
  { folder: "cli/generate/", only: ["_unified_diff.ts"] },
  // references, auth headers, the push stream and the secret type are pure; HTTP and the engine are the shell
  { folder: "cli/registry/", only: ["_auth.ts", "_push_stream.ts", "_reference.ts", "_secret.ts"] },
  // the swarm plan, its nginx.conf, the dry run's diff and the progress/status views are pure; the Engine API calls are the shell
  { folder: "cli/swarm/", only: ["_diff.ts", "_nginx_conf.ts", "_plan.ts", "_progress.ts"] },
  // the release record, its hash, gates.tsv, retention and the recorder are pure; the store is the shell
  { folder: "cli/release/", shell: ["_store.ts", "mod.ts"] },
];

/** Test support, exempt from rule 1 and allowed its own helpers. */
export function isTestFile(path: string): boolean {
  return /(_test|_bench)\.ts$|\/_testing\.ts$|\/_test_util\.ts$|_testing\.ts$/.test(path) ||
    path.startsWith("tests/");
}

/** True when `path` (relative to the root) is a pure module by PURE_FOLDERS. */
export function isPure(path: string): boolean {
  if (isTestFile(path)) return false;
  for (const { folder, shell, only } of PURE_FOLDERS) {
    const rest = path.startsWith(folder) ? path.slice(folder.length) : undefined;
    if (rest === undefined || rest.includes("/")) continue;
    if (only) return only.includes(rest);
    return !(shell ?? []).includes(rest);
  }
  return false;
}

const INERT_DENO = new Set([
  "errors",
  "inspect",
  "customInspect",
  "build",
  "noColor",
  "version",
  "HttpClient",
  "CommandOutput",
  "CommandStatus",
  "ChildProcess",
]);
const IO_NODE =
  /^node:(fs|fs\/promises|child_process|net|http|https|http2|os|dns|tls|dgram|readline|process|worker_threads|cluster)$/;
const IO_NPM = [/^npm:\/?commander@/];

/** Why a source text does I/O itself (first reason), or undefined. Comments are ignored. */
export function directIo(source: string): string | undefined {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  for (const match of code.matchAll(/\bDeno\.([A-Za-z]+)/g)) {
    if (!INERT_DENO.has(match[1]!)) return `uses Deno.${match[1]}`;
  }
  if (/(^|[^.\w])fetch\(/m.test(code)) return "calls fetch()";
  return undefined;
}

interface GraphModule {
  specifier: string;
  local?: string;
  dependencies?: {
    specifier: string;
    code?: { specifier: string };
    type?: { specifier: string };
    isDynamic?: boolean;
  }[];
}

/** Folders under SCANNED that hold data or build output, not code (by path: cli/policy/ is code). */
const NOT_CODE = ["tests/fixtures", "tests/golden", "build/policy", "build/tools"];

async function listTs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory && !NOT_CODE.includes(path)) {
      out.push(...await listTs(path));
    } else if (entry.isFile && entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** `deno info --json` of one entry importing every scanned module. */
async function moduleGraph(): Promise<Map<string, GraphModule>> {
  const files = (await Promise.all(SCANNED.map(listTs))).flat().sort();
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-layering-" });
  try {
    const entry = join(dir, "entry.ts");
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import ${JSON.stringify(`file://${join(ROOT, f)}`)};`).join("\n"),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", join(ROOT, "deno.json"), entry],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: GraphModule[] };
    return new Map(graph.modules.map((m) => [m.specifier, m]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function rel(specifier: string): string {
  return specifier.startsWith("file://") ? relative(ROOT, fileURLToPath(specifier)) : specifier;
}

/** Run-time imports (code, not type-only) of a module, as specifiers of the graph. */
function runtimeImports(module: GraphModule): string[] {
  return (module.dependencies ?? []).flatMap((d) => d.code ? [d.code.specifier] : []);
}

const graph = await moduleGraph();
const local = [...graph.values()].filter((m) => {
  const path = m.specifier.startsWith("file://") ? rel(m.specifier) : "";
  return SCANNED.some((d) => path.startsWith(`${d}/`));
});

Deno.test("the module graph covers every folder that holds code", async () => {
  const paths = local.map((m) => rel(m.specifier));
  for (const d of SCANNED) assert.ok(paths.some((p) => p.startsWith(`${d}/`)), d);
  assert.ok(paths.filter(isPure).length >= 20, `pure modules: ${paths.filter(isPure)}`);
  // Every tracked .ts file is in it (a folder skipped by mistake would hide its imports).
  const out = await new Deno.Command("git", {
    args: ["ls-files", "--", ...SCANNED.map((d) => `${d}/*.ts`)],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assert.equal(out.code, 0, "git ls-files");
  const tracked = new TextDecoder().decode(out.stdout).split("\n")
    .filter((p) => p && !NOT_CODE.some((d) => p.startsWith(`${d}/`)));
  const inGraph = new Set(paths);
  assert.ok(tracked.length > 100, `tracked .ts files: ${tracked.length}`);
  assert.deepEqual(tracked.filter((p) => !inGraph.has(p)), [], "tracked but not scanned");
});

Deno.test("pure modules neither do I/O nor import, at run time, a module that does", async () => {
  /** Why a module does I/O, itself or through what it imports; memoised. */
  const reasons = new Map<string, string | undefined>();
  async function ioReason(specifier: string, trail: string[]): Promise<string | undefined> {
    if (reasons.has(specifier)) return reasons.get(specifier);
    reasons.set(specifier, undefined); // cycles: assume pure until shown otherwise
    let reason: string | undefined;
    if (specifier.startsWith("node:")) {
      reason = IO_NODE.test(specifier) ? `imports ${specifier}` : undefined;
    } else if (specifier.startsWith("npm:")) {
      reason = IO_NPM.some((re) => re.test(specifier)) ? `imports ${specifier}` : undefined;
    } else if (specifier.startsWith("file://")) {
      const module = graph.get(specifier);
      reason = directIo(await Deno.readTextFile(fileURLToPath(specifier)));
      for (const dep of module ? runtimeImports(module) : []) {
        if (reason) break;
        const why = await ioReason(dep, [...trail, rel(dep)]);
        if (why) reason = `imports ${rel(dep)}, which ${why}`;
      }
    }
    reasons.set(specifier, reason);
    return reason;
  }
  const violations: string[] = [];
  for (const module of local) {
    const path = rel(module.specifier);
    if (!isPure(path)) continue;
    const why = await ioReason(module.specifier, [path]);
    if (why) violations.push(`${path} is pure but ${why}`);
  }
  assert.deepEqual(violations, []);
  // A file named as shell must really do I/O, or the list is stale and hides a pure module.
  const needless: string[] = [];
  for (const { folder, shell } of PURE_FOLDERS) {
    for (const name of shell ?? []) {
      const specifier = `file://${join(ROOT, folder, name)}`;
      if (graph.has(specifier) && !await ioReason(specifier, [])) needless.push(folder + name);
    }
  }
  assert.deepEqual(needless, [], "listed as shell but pure");
});

/**
 * Imports that break rule 3 today, in files this test's author does not own
 * (reported to the lead). Listed so that the test passes on today's code and
 * fails on any new one, and on one of these once it is fixed: then delete it
 * here.
 */
const KNOWN_PRIVATE_IMPORTS: string[] = [];

/** Every import edge between scanned modules, type-only ones included, as [from, to]. */
function edges(): [string, string][] {
  return local.flatMap((module) =>
    (module.dependencies ?? []).flatMap((d) => [d.code, d.type])
      .filter((dep) => dep?.specifier.startsWith("file://"))
      .map((dep): [string, string] => [rel(module.specifier), rel(dep!.specifier)])
  );
}

/** True when the import `from` → `to` (paths from the root) breaks rule 2. */
export function breaksTestRule(from: string, to: string): boolean {
  if (from.startsWith("tests/")) return false;
  if (to === "tests/_harness.ts") return true;
  return !isTestFile(from) && (to.startsWith("tests/") || to.startsWith("testing/"));
}

Deno.test("product code never imports tests/ or testing/, unit tests never the engine harness", () => {
  const violations = edges().filter(([from, to]) => breaksTestRule(from, to))
    .map(([from, to]) => `${from} imports ${to}`);
  assert.deepEqual(violations, []);
});

Deno.test("a private file (_name.ts) is imported only from its own folder", () => {
  const violations = edges().filter(([from, to]) => {
    const name = to.slice(to.lastIndexOf("/") + 1);
    const folder = from.slice(0, from.lastIndexOf("/") + 1);
    return name.startsWith("_") && to.slice(0, to.lastIndexOf("/") + 1) !== folder;
  }).map(([from, to]) => `${from} imports ${to}`);
  assert.deepEqual([...new Set(violations)].sort(), [...KNOWN_PRIVATE_IMPORTS].sort());
});

Deno.test("the checks catch what they are for", () => {
  assert.equal(directIo("// Deno.readFile in a comment\nexport const x = 1;"), undefined);
  assert.equal(directIo("/** fetch( in a docstring */ const e = Deno.errors.NotFound;"), undefined);
  assert.equal(directIo("await Deno.readTextFile(p);"), "uses Deno.readTextFile");
  assert.equal(directIo("const r = await fetch(url);"), "calls fetch()");
  assert.equal(directIo("const r = await this.fetch(url);"), undefined);
  assert.ok(isPure("cli/plan/_plan_stack.ts"));
  assert.ok(isPure("cli/manifest/_parse_manifest.ts"));
  assert.ok(!isPure("cli/manifest/_load_manifest.ts"));
  assert.ok(!isPure("cli/plan/plan_stack_test.ts"));
  assert.ok(isPure("cli/policy/decision.ts") && !isPure("cli/policy/wasm_evaluator.ts"));
  assert.ok(isPure("cli/generate/_unified_diff.ts") && !isPure("cli/fs/mod.ts"));
  assert.ok(breaksTestRule("cli/render/mod.ts", "testing/free_port.ts"));
  assert.ok(breaksTestRule("service/main.ts", "tests/_free_port.ts"));
  assert.ok(breaksTestRule("cli/render/nginx_conf_test.ts", "tests/_harness.ts"));
  assert.ok(!breaksTestRule("cli/render/nginx_conf_test.ts", "testing/free_port.ts"));
  assert.ok(!breaksTestRule("service/_testing.ts", "testing/free_port.ts"));
  assert.ok(!breaksTestRule("tests/_harness.ts", "tests/_free_port.ts"));
});
