/**
 * The `services.source` section (issue 16): absent means null, defaults,
 * values as written, and line:col messages for each kind of bad value.
 */
import assert from "node:assert/strict";
import { NGINX, problems, SERVICES } from "./_section_testing.ts";
import { parseManifest } from "./mod.ts";

function withSource(lines: string[]): string {
  return SERVICES + ["  source:", ...lines.map((l) => `    ${l}`)].join("\n") + "\n" + NGINX;
}

Deno.test("parseManifest() leaves services.source out when it is not written", () => {
  assert.equal("source" in parseManifest(SERVICES + NGINX, "manifest.yaml").services, false);
});

Deno.test("parseManifest() fills the services.source defaults around the repository", () => {
  const m = parseManifest(withSource(["repo: ../app"]), "manifest.yaml");
  assert.deepEqual(m.services.source, {
    repo: "../app",
    branch: "main",
    entry: "service/main.ts",
    secret_env: null,
    secret_file: null,
  });
});

Deno.test("parseManifest() resolves every services.source key as written", () => {
  const m = parseManifest(
    withSource([
      "repo: https://git.example.com/team/app.git",
      "branch: release/2026-11",
      "entry: src/main.ts",
      "secret_file: secrets/webhook",
    ]),
    "manifest.yaml",
  );
  assert.deepEqual(m.services.source, {
    repo: "https://git.example.com/team/app.git",
    branch: "release/2026-11",
    entry: "src/main.ts",
    secret_env: null,
    secret_file: "secrets/webhook",
  });
  const e = parseManifest(withSource(["repo: /srv/app", "secret_env: HOOK_SECRET"]), "m.yaml");
  assert.equal(e.services.source?.secret_env, "HOOK_SECRET");
});

Deno.test("parseManifest() names line and column of each bad services.source value", () => {
  const cases: [string[], RegExp][] = [
    [["branch: main"], /^manifest\.yaml:5:5 services\.source\.repo: .*required/],
    [
      ["repo: --upload-pack=evil"],
      /^manifest\.yaml:5:11 services\.source\.repo: must be a git URL/,
    ],
    [["repo: 'a b'"], /^manifest\.yaml:5:11 services\.source\.repo: must be a git URL/],
    [
      ["repo: r", "branch: ../x"],
      /^manifest\.yaml:6:13 services\.source\.branch: must be a branch/,
    ],
    [["repo: r", "branch: -f"], /^manifest\.yaml:6:13 services\.source\.branch: must be a branch/],
    [["repo: r", "branch: a..b"], /services\.source\.branch: must be a branch/],
    [["repo: r", "branch: x.lock"], /services\.source\.branch: must be a branch/],
    [
      ["repo: r", "entry: /etc/passwd"],
      /^manifest\.yaml:6:12 services\.source\.entry: must be a relative/,
    ],
    [["repo: r", "entry: ../x.ts"], /services\.source\.entry: must be a relative/],
    [
      ["repo: r", "secret_env: 1X"],
      /^manifest\.yaml:6:17 services\.source\.secret_env: must be the name/,
    ],
    [
      ["repo: r", "secret_file: ''"],
      /^manifest\.yaml:6:18 services\.source\.secret_file: must not be empty/,
    ],
    [["repo: r", "sekret_env: X"], /services\.source\.sekret_env: .*secret_env/],
  ];
  for (const [lines, want] of cases) {
    const got = problems(withSource(lines));
    assert.ok(got.some((p) => want.test(p)), `${lines.join("; ")}: ${got.join(" | ")}`);
  }
});

Deno.test("parseManifest() refuses a webhook secret given both ways", () => {
  const got = problems(withSource(["repo: r", "secret_env: S", "secret_file: s"]));
  assert.equal(got.length, 1);
  assert.match(
    got[0]!,
    /^manifest\.yaml:7:18 services\.source\.secret_file: must be null when services\.source\.secret_env is set/,
  );
});
