import assert from "node:assert/strict";
import { describeKeyChanges, manifestKeyChanges } from "./mod.ts";

const NOW = `project: p
services:
  image: app:2
  version: "2"
  source:
    repo: /src
rollout:
  strategy: canary
nginx:
  port: 8080
`;

const OLD = `project: p
services:
  image: app:1
  version: "1"
nginx:
  port: 8080
  timeout: 30
`;

Deno.test("manifestKeyChanges() names every top- and second-level key the restored text removes, changes or adds", () => {
  assert.deepEqual(manifestKeyChanges(NOW, OLD), [
    { change: "changed", path: "services.image" },
    { change: "changed", path: "services.version" },
    { change: "removed", path: "services.source" },
    { change: "removed", path: "rollout" },
    { change: "added", path: "nginx.timeout" },
  ]);
  assert.equal(
    describeKeyChanges(manifestKeyChanges(NOW, OLD)),
    "removes services.source, rollout; changes services.image, services.version; adds nginx.timeout",
  );
});

Deno.test("manifestKeyChanges() is empty for the same settings written differently, and whole-file for non-mappings", () => {
  assert.deepEqual(manifestKeyChanges(NOW, NOW.replace("port: 8080", "port:   8080  # same")), []);
  assert.equal(describeKeyChanges([]), "");
  assert.deepEqual(manifestKeyChanges("a: 1\n", "- 1\n"), [
    { change: "changed", path: "(whole file)" },
  ]);
  assert.deepEqual(manifestKeyChanges("a: [\n", "a: 1\n"), [
    { change: "changed", path: "(whole file)" },
  ]);
  // a scalar top-level value that differs
  assert.deepEqual(manifestKeyChanges("project: a\n", "project: b\n"), [
    { change: "changed", path: "project" },
  ]);
});

Deno.test("describeKeyChanges() keeps the line short: at most max paths per kind, then (+N more)", () => {
  const many = Array.from(
    { length: 12 },
    (_, i) => ({ change: "removed" as const, path: `k${i}` }),
  );
  assert.equal(describeKeyChanges(many, 3), "removes k0, k1, k2 (+9 more)");
});
