/**
 * The `registry` section (issue 14 item 3): defaults, values as written,
 * line:col messages for each kind of bad value, and the credential rules
 * (a user name and exactly one place to read its password from).
 */
import assert from "node:assert/strict";
import { BASE, problems } from "./_section_testing.ts";
import { defaultRegistry, parseManifest, registrySpec } from "./mod.ts";

function withRegistry(lines: string[]): string {
  return BASE + ["registry:", ...lines.map((l) => `  ${l}`)].join("\n") + "\n";
}

Deno.test("parseManifest() resolves the registry defaults when the section is not written", () => {
  const m = parseManifest(BASE, "manifest.yaml");
  assert.deepEqual(m.registry, defaultRegistry());
  assert.deepEqual(defaultRegistry(), {
    address: null,
    insecure: false,
    username: null,
    password_env: null,
    password_file: null,
  });
  const { registry: _r, ...bare } = m;
  assert.deepEqual(registrySpec(bare), defaultRegistry());
});

Deno.test("parseManifest() resolves every registry key as written", () => {
  const m = parseManifest(
    withRegistry([
      "address: registry.example.com:5000",
      "insecure: true",
      "username: ci-bot",
      "password_env: REGISTRY_PASSWORD",
    ]),
    "manifest.yaml",
  );
  assert.deepEqual(m.registry, {
    address: "registry.example.com:5000",
    insecure: true,
    username: "ci-bot",
    password_env: "REGISTRY_PASSWORD",
    password_file: null,
  });
  const f = parseManifest(
    withRegistry(["address: ~", "username: u", "password_file: secrets/registry"]),
    "manifest.yaml",
  );
  assert.equal(f.registry?.address, null);
  assert.equal(f.registry?.password_file, "secrets/registry");
});

Deno.test("parseManifest() accepts each registry address form Docker reads as a registry", () => {
  for (
    const address of [
      "127.0.0.1:5000",
      "localhost",
      "localhost:5000",
      "registry:5000",
      "registry.example.com",
      "[::1]:5000",
    ]
  ) {
    const m = parseManifest(withRegistry([`address: "${address}"`]), "manifest.yaml");
    assert.equal(m.registry?.address, address);
  }
});

Deno.test("parseManifest() refuses a registry address with a scheme, a path, no dot or a bad port, at its line:col", () => {
  for (
    const address of [
      "http://127.0.0.1:5000",
      "127.0.0.1:5000/team",
      "registry",
      "127.0.0.1:70000",
      "host name:5000",
    ]
  ) {
    const got = problems(withRegistry([`address: "${address}"`]));
    assert.equal(got.length, 1, address);
    assert.match(
      got[0]!,
      /^manifest\.yaml:8:12 registry\.address: must be a registry address "host\[:port\]"/,
    );
  }
  assert.match(
    problems(withRegistry(["address: 5000"]))[0]!,
    /^manifest\.yaml:8:12 registry\.address: must be a registry address .*\(got 5000\)$/,
  );
});

Deno.test("parseManifest() refuses bad credential references at their line:col", () => {
  assert.deepEqual(problems(withRegistry(["username: a:b", "password_env: X"])), [
    'manifest.yaml:8:13 registry.username: must be a user name without ":" or whitespace, or null (got "a:b")',
  ]);
  assert.deepEqual(problems(withRegistry(["username: a", "password_env: 1X"])), [
    'manifest.yaml:9:17 registry.password_env: must be the name of an environment variable (letters, digits, "_"), or null (got "1X")',
  ]);
  assert.deepEqual(problems(withRegistry(["insecure: yes"])), [
    'manifest.yaml:8:13 registry.insecure: must be true or false (got "yes")',
  ]);
  assert.match(problems(withRegistry(["passwrd_env: X"]))[0]!, /did you mean "password_env"/);
});

Deno.test("parseManifest() wants a user name and exactly one password source together", () => {
  assert.deepEqual(problems(withRegistry(["username: ci-bot"])), [
    "manifest.yaml:8:13 registry.username: needs registry.password_env or registry.password_file: where to read its password",
  ]);
  assert.deepEqual(problems(withRegistry(["password_env: REGISTRY_PASSWORD"])), [
    "manifest.yaml:8:17 registry.password_env: needs registry.username: whose password it is",
  ]);
  assert.deepEqual(problems(withRegistry(["password_file: pw.txt"])), [
    "manifest.yaml:8:18 registry.password_file: needs registry.username: whose password it is",
  ]);
  assert.deepEqual(
    problems(withRegistry(["username: u", "password_env: P", "password_file: pw.txt"])),
    [
      "manifest.yaml:10:18 registry.password_file: must be null when registry.password_env is set: give the password one way",
    ],
  );
});
