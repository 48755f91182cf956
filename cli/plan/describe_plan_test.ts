import assert from "node:assert/strict";
import type { ResolvedManifest } from "../manifest/types.ts";
import { defaultPrometheus, defaultRollout } from "../manifest/mod.ts";
import { describePlan, planStack } from "./mod.ts";

const manifest: ResolvedManifest = {
  project: "demo",
  services: {
    image: "demo-app:1",
    port: 3000,
    mode: "canary",
    version: "2.0.0",
    restart_policy: "always",
  },
  nginx: { image: "nginx:1", port: 8080, proxy_timeout: 30, contact: "ops@example.org" },
  opa: { image: "opa:1", port: 8181, decision_timeout_seconds: 5 },
  network: { name: "demo-net", driver_type: "bridge" },
  logs: { volume_name: "demo-logs" },
  policy_limits: {
    infrastructure: { min_disk_free_gb: 10, max_cpu_load: 8, min_mem_free_percent: 10 },
    canary: {
      max_error_rate_percent: 1,
      max_p99_latency_ms: 500,
      window_seconds: 30,
      min_requests: 20,
    },
  },
  audit: { history_file: "history.jsonl", report_file: "audit_report.md" },
  rollout: defaultRollout(),
  prometheus: defaultPrometheus(),
};

Deno.test("describePlan() names every object in creation order", () => {
  const plan = planStack(manifest, { manifestDir: "/srv/demo", installDir: "/opt/sd" });
  const text = describePlan(plan);
  const order = [
    'network "demo-net"',
    'volume "demo-logs"',
    'container opa "demo-opa"',
    `container app "${plan.containers[1]?.name}"`,
    'container nginx "demo-nginx"',
  ].map((needle) => text.indexOf(needle));
  assert.ok(order.every((i) => i > 0), text);
  assert.deepEqual([...order].sort((a, b) => a - b), order);
  assert.ok(text.endsWith("\n"));
});

Deno.test("describePlan() shows publishing, mounts, env and short config hashes", () => {
  const plan = planStack(manifest, { manifestDir: "/srv/demo", installDir: "/opt/sd" });
  const text = describePlan(plan);
  assert.match(text, /publishes: +127\.0\.0\.1:8181 -> 8181\/tcp/);
  assert.match(text, /publishes: +0\.0\.0\.0:8080 -> 8080\/tcp/);
  assert.match(text, /exposes: +3000\/tcp \(not published\)/);
  assert.match(text, /env: +MODE=canary APP_VERSION=2\.0\.0 APP_PORT=3000/);
  assert.match(text, /mounts: +\/srv\/demo\/\.swiftdeploy\/nginx:\/etc\/nginx\/swiftdeploy:ro/);
  assert.match(text, /command: +nginx -c \/etc\/nginx\/swiftdeploy\/nginx\.conf -g 'daemon off;'/);
  assert.match(text, /starts after: +app is healthy/);
  for (const c of plan.containers) assert.ok(text.includes(`sha256:${c.configHash.slice(0, 12)}`));
});
