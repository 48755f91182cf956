import assert from "node:assert/strict";
import { parseManifest } from "../manifest/mod.ts";
import { policyData } from "./_policy_data.ts";

const NOTE = {
  by: "swiftdeploy init",
  from: "manifest.yaml",
  manifest: "sha256:0",
  note: "test",
} as const;

const BASE =
  "services:\n  image: app:1\n  port: 3000\nnginx:\n  image: nginx:latest\n  port: 8080\n";

Deno.test("policyData() writes rollout.analysis' thresholds as data.limits.rollout and nothing else of it", () => {
  const manifest = parseManifest(
    BASE + [
      "rollout:",
      "  strategy: canary",
      "  steps:",
      "    - weight: 25",
      "  analysis:",
      "    window: 45s",
      "    min_requests: 7",
      "    max_error_rate_percent: 2.5",
      "    max_error_rate_increase_points: 0.75",
      "    max_p99_latency_ms: 250.5",
      "    max_p99_ratio: 1.25",
      "    failure_limit: 1",
      "    inconclusive_limit: 3",
      "",
    ].join("\n"),
    "manifest.yaml",
  );
  const data = JSON.parse(policyData(manifest, NOTE));
  assert.deepEqual(data.limits.rollout, {
    min_requests: 7,
    max_error_rate_percent: 2.5,
    max_error_rate_increase_points: 0.75,
    max_p99_latency_ms: 250.5,
    max_p99_ratio: 1.25,
    p99_ratio_floor_ms: 50,
    failure_limit: 1,
    inconclusive_limit: 3,
  });
  assert.deepEqual(Object.keys(data.limits), ["infrastructure", "canary", "rollout"]);
});

Deno.test("policyData() gives the shipped defaults as data.limits.rollout for a manifest without rollout", () => {
  const data = JSON.parse(policyData(parseManifest(BASE, "manifest.yaml"), NOTE));
  assert.deepEqual(data.limits.rollout, {
    min_requests: 20,
    max_error_rate_percent: 5,
    max_error_rate_increase_points: 1,
    max_p99_latency_ms: 1000,
    max_p99_ratio: 2,
    p99_ratio_floor_ms: 50,
    failure_limit: 0,
    inconclusive_limit: 2,
  });
});
