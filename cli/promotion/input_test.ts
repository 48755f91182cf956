/**
 * The promotion gate's input, built from a release's evidence without any
 * I/O: every figure the policy judges comes out as the policy reads it.
 */
import assert from "node:assert/strict";
import type { ReleaseRecord } from "../release/mod.ts";
import { contentDigest, describeImage, pinnedImages, promotionInput, unixSeconds } from "./mod.ts";

const ID_APP = `sha256:${"a".repeat(64)}`;
const ID_NGINX = `sha256:${"b".repeat(64)}`;
const REPO = `sha256:${"c".repeat(64)}`;

/** Release 3 of staging, as a bundle records it (the fields the input reads). */
const RELEASE = {
  v: 1,
  number: 3,
  hash: "f".repeat(64),
  kind: "release-promote",
  status: "good",
  project: "shop-staging",
  environment: "staging",
  started_at: "2026-12-01T00:00:00.000Z",
  created_at: "2026-12-01T00:00:10.500Z",
  duration_ms: 10500,
  timings: {},
  actor: { user: "root", host: "h", pid: 1 },
  manifest: { file: "manifest.yaml", sha256: "0", version: "1.2.0", mode: "stable", resolved: {} },
  images: [
    { role: "app", ref: ID_APP, id: ID_APP, digests: [] },
    { role: "nginx", ref: "nginx:1.22", id: ID_NGINX, digests: [`registry.x:5000/nginx@${REPO}`] },
    { role: "opa", ref: "opa:1", id: null, digests: [] },
  ],
  containers: [],
  policy: { bundle_hash: "1".repeat(64), sources_hash: "2".repeat(64) },
  health: [],
  previous: null,
  files: {},
} as ReleaseRecord;

Deno.test("promotionInput() gives the policy the release's evidence, the source now and the clock", () => {
  const input = promotionInput({
    release: RELEASE,
    refs: { app: "shop:1.2.0", nginx: "registry.x:5000/nginx:1.22", opa: "opa" },
    currentRelease: 3,
    sourceHealthy: true,
    policyBundleHash: "1".repeat(64),
    now: new Date("2026-12-01T00:10:10.900Z"),
  });
  assert.deepEqual(input, {
    now: "2026-12-01T00:10:10Z",
    now_s: 1796083810,
    release: {
      number: 3,
      environment: "staging",
      status: "good",
      healthy_since: "2026-12-01T00:00:10.500Z",
      healthy_since_s: 1796083210,
      policy_bundle_hash: "1".repeat(64),
    },
    source: { current_release: 3, healthy: true },
    images: [
      { role: "app", ref: "shop:1.2.0", registry: "docker.io", tag: "1.2.0", digest: ID_APP },
      {
        role: "nginx",
        ref: "registry.x:5000/nginx:1.22",
        registry: "registry.x:5000",
        tag: "1.22",
        digest: REPO,
      },
      { role: "opa", ref: "opa", registry: "docker.io", tag: null, digest: null },
    ],
    policy_bundle_hash: "1".repeat(64),
  });
});

Deno.test("describeImage() keeps a digest written in the reference and reads no registry as docker.io", () => {
  assert.deepEqual(describeImage("app", `shop@${REPO}`, undefined), {
    role: "app",
    ref: `shop@${REPO}`,
    registry: "docker.io",
    tag: null,
    digest: REPO,
  });
  assert.equal(
    describeImage("app", "localhost:5000/shop:latest", undefined).registry,
    "localhost:5000",
  );
  assert.equal(describeImage("app", "Not A Ref", undefined).registry, "(unparsable reference)");
});

Deno.test("contentDigest() prefers a repo digest, then the image id, else null", () => {
  assert.equal(contentDigest(RELEASE.images[1]), REPO);
  assert.equal(contentDigest(RELEASE.images[0]), ID_APP);
  assert.equal(contentDigest(RELEASE.images[2]), null);
  assert.equal(contentDigest(undefined), null);
  assert.equal(contentDigest({ role: "x", ref: "x", id: "sha256:short", digests: [] }), null);
});

Deno.test("pinnedImages() runs each image of the release by its id, skipping one without", () => {
  assert.deepEqual(pinnedImages(RELEASE), { app: ID_APP, nginx: ID_NGINX });
});

Deno.test("unixSeconds() reads RFC 3339 to whole seconds and refuses anything else", () => {
  assert.equal(unixSeconds("2026-12-24T00:00:00Z"), 1798070400);
  assert.equal(unixSeconds("2026-12-24T00:00:00.999Z"), 1798070400);
  assert.equal(unixSeconds("yesterday"), null);
  assert.equal(unixSeconds(undefined), null);
});
