/**
 * `target`, `services.replicas`, `services.placement` and `services.update`
 * (issue 14 item 1): defaults, values, line:col messages, and the rules
 * between the target and what only one target can do.
 */
import assert from "node:assert/strict";
import { BASE, problems } from "./_section_testing.ts";
import { defaultSwarm, parseManifest, swarmSpec, targetOf } from "./mod.ts";

/** BASE with `lines` added under `services:` and `top` before it. */
function manifest(top: string[], services: string[] = []): string {
  const [first, ...rest] = BASE.split("\n");
  return [...top, first, ...services.map((l) => `  ${l}`), ...rest].join("\n");
}

Deno.test("parseManifest() resolves target engine and the swarm defaults when neither is written", () => {
  const m = parseManifest(BASE, "manifest.yaml");
  assert.equal(m.target, "engine");
  assert.deepEqual(m.swarm, defaultSwarm());
  assert.deepEqual(defaultSwarm(), {
    replicas: 1,
    placement: { constraints: [], spread: null },
    update: {
      parallelism: 1,
      delay_seconds: 0,
      monitor_seconds: 5,
      failure_action: "rollback",
      order: "start-first",
    },
  });
});

Deno.test("targetOf() and swarmSpec() give the defaults for a hand-built manifest without them", () => {
  const m = parseManifest(BASE, "manifest.yaml");
  const { target: _t, swarm: _s, ...bare } = m;
  assert.equal(targetOf(bare), "engine");
  assert.deepEqual(swarmSpec(bare), defaultSwarm());
});

Deno.test("parseManifest() resolves every swarm key as written", () => {
  const m = parseManifest(
    manifest(["target: swarm"], [
      "replicas: 3",
      "placement:",
      "  constraints:",
      '    - "node.role == worker"',
      "    - node.labels.zone!=b",
      "  spread: node.hostname",
      "update:",
      "  parallelism: 2",
      "  delay: 1m30s",
      "  monitor: 10s",
      "  failure_action: pause",
      "  order: stop-first",
    ]),
    "manifest.yaml",
  );
  assert.equal(m.target, "swarm");
  assert.deepEqual(m.swarm, {
    replicas: 3,
    placement: {
      constraints: ["node.role == worker", "node.labels.zone!=b"],
      spread: "node.hostname",
    },
    update: {
      parallelism: 2,
      delay_seconds: 90,
      monitor_seconds: 10,
      failure_action: "pause",
      order: "stop-first",
    },
  });
});

Deno.test("parseManifest() points at each bad swarm value with its line and column", () => {
  assert.deepEqual(
    problems(manifest(["target: kubernetes"], [
      "replicas: 0",
      "placement:",
      "  constraints:",
      "    - node.role == manager",
      "    - rack = 3",
      "    - [a]",
      "  spread: hostname",
      "update:",
      "  parallelism: 1.5",
      "  delay: -1s",
      "  monitor: 0s",
      "  failure_action: continue",
      "  order: first",
    ])),
    [
      'manifest.yaml:1:9 target: must be "engine" or "swarm" (got "kubernetes")',
      "manifest.yaml:3:13 services.replicas: must be an integer between 1 and 1000 (got 0)",
      'manifest.yaml:7:9 services.placement.constraints[1]: must be a placement constraint such as "node.role == worker" or "node.labels.zone != b" (node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<name> or engine.labels.<name>, then == or !=, then a value) (got "rack = 3")',
      "manifest.yaml:8:9 services.placement.constraints[2]: must be a single value (got a list)",
      'manifest.yaml:9:13 services.placement.spread: must be a node attribute to spread over, such as "node.hostname" or "node.labels.zone" (got "hostname")',
      "manifest.yaml:11:18 services.update.parallelism: must be an integer between 1 and 1000 (got 1.5)",
      'manifest.yaml:12:12 services.update.delay: must be a duration between 0s and 1h, such as 0s, 5s, 1m30s or a whole number of seconds (got "-1s")',
      'manifest.yaml:13:14 services.update.monitor: must be a duration between 1s and 1h, such as 30s, 2m, 1m30s or a whole number of seconds (got "0s")',
      'manifest.yaml:14:21 services.update.failure_action: must be "rollback" or "pause" (got "continue")',
      'manifest.yaml:15:12 services.update.order: must be "start-first" or "stop-first" (got "first")',
    ],
  );
});

Deno.test("parseManifest() suggests the swarm keys for near misses", () => {
  assert.deepEqual(problems(manifest(["targte: swarm"], ["replica: 3"])), [
    'manifest.yaml:1:1 targte: unknown key (did you mean "target"?)',
    'manifest.yaml:3:3 services.replica: unknown key (did you mean "replicas"?)',
  ]);
});

Deno.test("parseManifest() refuses replicas above 1 on target engine instead of running one", () => {
  assert.deepEqual(problems(manifest([], ["replicas: 3"])), [
    'manifest.yaml:2:13 services.replicas: must be 1 when target is "engine" (the default): one host runs one app container; set target "swarm" to run 3 replicas (got 3)',
  ]);
  assert.deepEqual(problems(manifest(["target: engine"], ["replicas: 2"])), [
    'manifest.yaml:3:13 services.replicas: must be 1 when target is "engine": one host runs one app container; set target "swarm" to run 2 replicas (got 2)',
  ]);
  // replicas: 1 is what engine does anyway
  assert.equal(parseManifest(manifest([], ["replicas: 1"]), "m.yaml").swarm?.replicas, 1);
});

Deno.test("parseManifest() refuses placement and update settings on target engine instead of ignoring them", () => {
  assert.deepEqual(
    problems(manifest([], [
      "placement:",
      "  spread: node.hostname",
      "update:",
      "  order: stop-first",
    ])),
    [
      'manifest.yaml:2:3 services.placement: applies only to target "swarm" (target is "engine" (the default)): remove it, or set target "swarm"',
      'manifest.yaml:4:3 services.update: applies only to target "swarm" (target is "engine" (the default)): remove it, or set target "swarm"',
    ],
  );
});

Deno.test("parseManifest() refuses a canary rollout and Prometheus on target swarm", () => {
  const text = manifest(["target: swarm"]) +
    "rollout:\n  strategy: canary\n  steps:\n    - weight: 10\nprometheus:\n  enabled: true\n";
  assert.deepEqual(problems(text), [
    'manifest.yaml:9:13 rollout.strategy: must be "switch" when target is "swarm": Swarm rolls the app out itself (services.update), canary steps run on target "engine" only (got "canary")',
    'manifest.yaml:13:12 prometheus.enabled: must be false when target is "swarm": the stack\'s Prometheus runs on target "engine" only (got true)',
  ]);
});

Deno.test("parseManifest() wants update parallelism at most the replicas", () => {
  assert.deepEqual(
    problems(manifest(["target: swarm"], ["replicas: 2", "update:", "  parallelism: 3"])),
    [
      "manifest.yaml:5:18 services.update.parallelism: must be at most services.replicas (2): Swarm cannot update more tasks at once than there are (got 3)",
    ],
  );
});
