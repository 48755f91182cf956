import assert from "node:assert/strict";
import { createContext, hintFor, shownPath } from "./context.ts";
import type { Terminal } from "../term/mod.ts";

Deno.test("shownPath() is relative inside the current directory and absolute outside it, never ../", () => {
  const cases: [path: string, cwd: string, shown: string][] = [
    [
      "/work/main/environments/prod/.swiftdeploy/releases",
      "/work/main",
      "environments/prod/.swiftdeploy/releases",
    ],
    ["/work/main", "/work/main", "."],
    ["environments/prod", "/work/main", "environments/prod"],
    [
      "/tmp/f1-x/environments/prod/.swiftdeploy/releases",
      "/work/main",
      "/tmp/f1-x/environments/prod/.swiftdeploy/releases",
    ],
    ["../../tmp/x", "/work/main", "/tmp/x"],
    ["/work/mainly/x", "/work/main", "/work/mainly/x"],
    ["/", "/work/main", "/"],
  ];
  for (const [path, cwd, shown] of cases) {
    assert.equal(shownPath(path, cwd), shown, `${path} from ${cwd}`);
    assert.ok(!shownPath(path, cwd).startsWith(".."), path);
  }
});

Deno.test("hintFor() names the chosen environment in every quoted swiftdeploy command, once", () => {
  const cases: [text: string, env: string | undefined, want: string][] = [
    [
      "`swiftdeploy releases` lists the good releases",
      "prod",
      "`swiftdeploy -e prod releases` lists the good releases",
    ],
    ["`swiftdeploy releases` lists them", undefined, "`swiftdeploy releases` lists them"],
    [
      "`swiftdeploy rollout resume` continues, `swiftdeploy rollout abort` ends it",
      "staging",
      "`swiftdeploy -e staging rollout resume` continues, `swiftdeploy -e staging rollout abort` ends it",
    ],
    [
      "deploy to it: `swiftdeploy -e staging deploy`",
      "prod",
      "deploy to it: `swiftdeploy -e staging deploy`",
    ],
    ["`swiftdeploy --env dev releases`", "prod", "`swiftdeploy --env dev releases`"],
    ["run swiftdeploy without backquotes", "prod", "run swiftdeploy without backquotes"],
    [
      "no tokens (create one with `swiftdeploy token create --name N --scope read`)",
      "dev",
      "no tokens (create one with `swiftdeploy -e dev token create --name N --scope read`)",
    ],
  ];
  for (const [text, env, want] of cases) {
    assert.equal(hintFor(text, env), want, text);
    assert.equal(hintFor(hintFor(text, env), env), want, "idempotent");
  }
});

Deno.test("createContext() with -e prints every quoted command with -e but leaves JSON verbatim; without -e, lines as written", () => {
  const lines: string[] = [];
  const term: Terminal = {
    color: false,
    out: (l = "") => void lines.push(`out ${l}`),
    err: (l = "") => void lines.push(`err ${l}`),
    green: (s) => s,
    red: (s) => s,
    yellow: (s) => s,
    dim: (s) => s,
    bold: (s) => s,
  };
  const base = {
    manifest: "/m/manifest.yaml",
    verbose: false,
    policyEngine: "wasm" as const,
    term,
  };
  const withEnv = createContext({ ...base, environment: "prod" });
  assert.equal(withEnv.stateDir, "/m/environments/prod/.swiftdeploy");
  withEnv.term.out("see `swiftdeploy status`");
  withEnv.term.err("hint: `swiftdeploy releases`");
  withEnv.term.out();
  withEnv.term.out('{"manifest": "mode: stable # changed by `swiftdeploy promote`"}');
  createContext(base).term.out("see `swiftdeploy status`");
  assert.deepEqual(lines, [
    "out see `swiftdeploy -e prod status`",
    "err hint: `swiftdeploy -e prod releases`",
    "out ",
    'out {"manifest": "mode: stable # changed by `swiftdeploy promote`"}',
    "out see `swiftdeploy status`",
  ]);
});
