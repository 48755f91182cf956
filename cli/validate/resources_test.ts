import assert from "node:assert/strict";
import { defaultHardening } from "../manifest/hardening.ts";
import { containerResources } from "../manifest/hardening.ts";
import { locateMisfits, resourceMisfits } from "./_resources.ts";

const HOST = { ncpu: 2, memTotal: 4 * 1024 ** 3 };
const ROLES = ["app", "nginx", "opa", "prometheus"] as const;

Deno.test("resourceMisfits() names every role's cpus and memory above the engine's host, and nothing that fits", () => {
  assert.deepEqual(resourceMisfits(defaultHardening(), HOST, ROLES), []);
  for (const role of ROLES) {
    const h = defaultHardening();
    h.resources[role] = containerResources("8g", 64, 128);
    const found = resourceMisfits(h, HOST, ROLES);
    assert.deepEqual(found.map((f) => f.path), [
      `resources.${role}.cpus`,
      `resources.${role}.memory`,
    ]);
    assert.match(found[0]!.message, /64 CPUs is more than the engine's host has \(2\)/);
    assert.match(found[1]!.message, /8g is more than the engine's host has \(4096m\)/);
  }
  // exactly the host's figures fit; an engine that reports 0 (unknown) is not judged
  const edge = defaultHardening();
  edge.resources.app = containerResources("4g", 2, 128);
  assert.deepEqual(resourceMisfits(edge, HOST, ROLES), []);
  edge.resources.app = containerResources("8g", 64, 128);
  assert.deepEqual(resourceMisfits(edge, { ncpu: 0, memTotal: 0 }, ROLES), []);
});

Deno.test("locateMisfits() points at the key's line and column, and at the top when the key is a default", () => {
  const text = "project: x\nresources:\n  app:\n    memory: 8g\n    cpus: 64\n";
  const issues = locateMisfits(text, "m.yaml", [
    { path: "resources.app.cpus", message: "too many" },
    { path: "resources.app.memory", message: "too much" },
    { path: "resources.opa.cpus", message: "default too many" },
  ]);
  assert.deepEqual(issues.map((i) => [i.line, i.col, i.path]), [
    [5, 5, "resources.app.cpus"],
    [4, 5, "resources.app.memory"],
    [1, 1, "resources.opa.cpus"],
  ]);
  assert.ok(issues.every((i) => i.file === "m.yaml"));
});
