/**
 * The manifest's `environments` and `promotion` sections (issue 15): every
 * resolved value and default, the overlay an environment makes, the
 * selection rules of the loader, the output-path table across environments,
 * and every kind of problem with its exact file:line:col message.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { BASE as REQUIRED, problems as problemsOf } from "./_section_testing.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import {
  applySelection,
  loadManifest,
  parseManifest,
  previousEnvironment,
  selectEnvironment,
} from "./mod.ts";
import { findCollisions, outputPaths } from "./_output_paths.ts";
import { promotionLimits } from "../render/mod.ts";

/** The required keys only (lines 1–7); tests append sections from line 8. */
const BASE = "project: shop\n" + REQUIRED;

/** Three environments on distinct ports, lines 8–20. */
const THREE = [
  "environments:",
  "  - name: dev",
  "    nginx: { port: 18081 }",
  "    opa: { port: 18191 }",
  "  - name: staging",
  "    nginx: { port: 18082 }",
  "    opa: { port: 18192 }",
  "    soak: 10m",
  "    policy_limits: { canary: { min_requests: 50 } }",
  "  - name: prod",
  "    project: shop-live",
  "    nginx: { port: 18083 }",
  "    opa: { port: 18193 }",
].join("\n") + "\n";

/** The problems of BASE (lines 1–7) with `tail` appended from line 8. */
const problems = (tail: string) => problemsOf(BASE + tail);

const parse = (tail: string) => parseManifest(BASE + tail, "manifest.yaml");

Deno.test("parseManifest() without environments adds no key (a manifest as before)", () => {
  const m = parse("");
  assert.equal("environments" in m, false);
  assert.equal("environment" in m, false);
  assert.equal("promotion" in m, false);
});

Deno.test("parseManifest() resolves environments in order with their own and the shared values", () => {
  const m = parse(THREE);
  assert.deepEqual(m.environments?.map((e) => e.name), ["dev", "staging", "prod"]);
  const [dev, staging, prod] = m.environments!;
  assert.deepEqual(dev, {
    name: "dev",
    project: "shop-dev",
    target: "engine",
    nginx_port: 18081,
    opa_port: 18191,
    prometheus_port: 9090,
    network_name: "shop-dev-net",
    volume_name: "shop-dev-logs",
    policy_limits: m.policy_limits,
    soak_seconds: 0,
    production: false,
    freezes: [],
  });
  assert.equal(staging!.soak_seconds, 600);
  assert.equal(staging!.policy_limits.canary.min_requests, 50);
  assert.equal(staging!.policy_limits.canary.max_p99_latency_ms, 500, "the shared value");
  assert.equal(prod!.project, "shop-live");
  assert.equal(prod!.production, true, "the last environment is production by default");
  assert.deepEqual(m.promotion, { allowed_registries: ["docker.io"] });
});

Deno.test("selectEnvironment() overlays the environment on the shared values, nothing else", () => {
  const m = parse(THREE);
  const s = selectEnvironment(m, "staging");
  assert.equal(s.environment, "staging");
  assert.equal(s.project, "shop-staging");
  assert.equal(s.nginx.port, 18082);
  assert.equal(s.nginx.image, m.nginx.image);
  assert.equal(s.opa.port, 18192);
  assert.equal(s.network.name, "shop-staging-net");
  assert.equal(s.logs.volume_name, "shop-staging-logs");
  assert.equal(s.policy_limits.canary.min_requests, 50);
  assert.deepEqual(s.services, m.services);
  assert.deepEqual(s.rollout, m.rollout);
  assert.equal(previousEnvironment(m, "staging")?.name, "dev");
  assert.equal(previousEnvironment(m, "dev"), undefined);
});

Deno.test("promotionLimits() gives the target's rules with the previous environment's soak", () => {
  const m = parse(
    THREE + [
      "    freezes:",
      '      - start: "2026-12-24T00:00:00Z"',
      '        end: "2026-12-27T00:00:00Z"',
      "        reason: holidays",
      "promotion:",
      "  allowed_registries: [docker.io, 127.0.0.1:5000]",
    ].join("\n"),
  );
  assert.deepEqual(promotionLimits(selectEnvironment(m, "prod")), {
    environment: "prod",
    from: "staging",
    production: true,
    soak_seconds: 600,
    allowed_registries: ["docker.io", "127.0.0.1:5000"],
    freezes: [{
      start: "2026-12-24T00:00:00Z",
      end: "2026-12-27T00:00:00Z",
      start_s: 1798070400,
      end_s: 1798329600,
      reason: "holidays",
    }],
  });
  assert.equal(promotionLimits(selectEnvironment(m, "dev"))?.from, null);
  assert.equal(promotionLimits(m), undefined, "no environment selected: no promotion data");
});

Deno.test("applySelection() requires an environment exactly when the manifest declares some", () => {
  const m = parse(THREE);
  const usage = (fn: () => unknown, message: RegExp) =>
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof SwiftDeployError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, message);
      return true;
    });
  usage(
    () => applySelection(m, {}, "manifest.yaml", "/d"),
    /declares environments "dev", "staging", "prod" and none was chosen/,
  );
  usage(
    () => applySelection(m, { environment: "qa" }, "manifest.yaml", "/d"),
    /Cannot use environment "qa": "manifest.yaml" declares "dev", "staging", "prod"/,
  );
  usage(
    () => applySelection(parse(""), { environment: "dev" }, "manifest.yaml", "/d"),
    /declares no environments/,
  );
  const chosen = applySelection(
    m,
    { environment: "prod", images: { app: "sha256:abc" } },
    "manifest.yaml",
    "/d",
  );
  assert.equal(chosen.dir, "/d/environments/prod");
  assert.equal(chosen.manifest.services.image, "sha256:abc");
  assert.equal(chosen.manifest.nginx.image, "nginx:latest");
  assert.equal(applySelection(parse(""), {}, "manifest.yaml", "/d").dir, "/d");
});

Deno.test("loadManifest() with an environment reads its values and makes its folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "manifest.yaml"), BASE + THREE);
    const loaded = await loadManifest(join(dir, "manifest.yaml"), { environment: "staging" });
    assert.equal(loaded.dir, join(dir, "environments", "staging"));
    assert.equal(loaded.environment, "staging");
    assert.equal(loaded.manifest.project, "shop-staging");
    assert.ok((await Deno.stat(loaded.dir)).isDirectory);
    const text = await loadManifest(join(dir, "manifest.yaml"), {
      environment: "dev",
      text: BASE + THREE.replace("18081", "18091"),
    });
    assert.equal(text.manifest.nginx.port, 18091, "the given text, not the file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("outputPaths() puts each environment's outputs in its folder; a shared folder clashes", () => {
  const m = parse(THREE);
  const paths = outputPaths(m, "manifest.yaml").map((o) => o.path);
  assert.ok(paths.includes("manifest.yaml"));
  assert.ok(paths.includes("environments/dev/history.jsonl"));
  assert.ok(paths.includes("environments/prod/.swiftdeploy/lock.json"));
  assert.equal(paths.includes("history.jsonl"), false, "nothing of a stack at the top");
  assert.deepEqual(findCollisions(outputPaths(m, "manifest.yaml")), []);
  // staging's folder a symlink to dev's: every output of one is the other's.
  const same = findCollisions(
    outputPaths(m, "manifest.yaml"),
    (p) => p.replace(/^environments\/staging\//, "environments/dev/"),
  );
  assert.ok(same.some((c) => c.a.path === "environments/dev/history.jsonl"));
});

Deno.test("parseManifest() reports a folder shared by two environments at environments", () => {
  const issues = problemsOf(BASE + THREE, "manifest.yaml", {
    canonical: (p) => p.replace(/^environments\/staging\//, "environments/dev/"),
  });
  assert.equal(issues.length, 1);
  assert.match(
    issues[0]!,
    /^manifest\.yaml:9:3 environments: must give every environment a folder of its own: /,
  );
});

Deno.test("parseManifest() refuses environments that clash, each at its line:col", () => {
  assert.deepEqual(
    problems(
      [
        "environments:",
        "  - name: dev",
        "    nginx: { port: 18081 }",
        "    opa: { port: 18191 }",
        "  - name: dev",
        "  - name: qa",
        "    project: shop-dev",
        "    nginx: { port: 18081 }",
        "    opa: { port: 18192 }",
      ].join("\n"),
    ),
    [
      'manifest.yaml:12:11 environments[1].name: must be unique: environments[0] is named "dev" too',
      'manifest.yaml:14:14 environments[2].project: needs a project of its own: "shop-dev" is environments[0]\'s too (got "shop-dev")',
      "manifest.yaml:15:20 environments[2].nginx.port: must differ from environments[0].nginx.port: every environment's stack publishes its ports on this host (got 18081)",
    ],
  );
});

Deno.test("parseManifest() points at the name of an environment that takes a shared port", () => {
  assert.deepEqual(
    problems(["environments:", "  - name: dev", "  - name: qa"].join("\n")),
    [
      "manifest.yaml:10:11 environments[1].name: needs its own nginx.port to differ from environments[0].nginx.port: every environment's stack publishes its ports on this host (got 8080)",
    ],
  );
});

Deno.test("parseManifest() refuses malformed environments and promotion keys", () => {
  assert.deepEqual(
    problems(
      [
        "network:",
        "  name: fixed-net",
        "promotion:",
        "  allowed_registries: [docker.io, https://x]",
        "environments:",
        "  - name: Dev",
        "    soak: 721h",
        "    production: yes",
        "    freezes:",
        "      - start: 2026-12-24",
        '        end: "2026-12-23T00:00:00Z"',
        "  - nginx: { port: 1 }",
        "  - name: b",
        "    nginx: { port: 2 }",
        "    freezes:",
        '      - start: "2026-12-24T00:00:00Z"',
        '        end: "2026-12-23T00:00:00Z"',
      ].join("\n"),
    ),
    [
      'manifest.yaml:9:9 network.name: must not be set when environments are declared: each environment\'s stack names its own ("<project>-net") (got "fixed-net")',
      'manifest.yaml:11:35 promotion.allowed_registries[1]: must be a registry address "host[:port]" such as "docker.io" or "127.0.0.1:5000" (got "https://x")',
      'manifest.yaml:13:11 environments[0].name: must start with a lowercase letter and hold only lowercase letters, digits and "-", at most 16 characters (got "Dev")',
      'manifest.yaml:14:11 environments[0].soak: must be a duration between 0s and 720h, such as 0s, 10m, 1h30m or a whole number of seconds (got "721h")',
      'manifest.yaml:15:17 environments[0].production: must be true or false (got "yes")',
      'manifest.yaml:17:16 environments[0].freezes[0].start: must be an RFC 3339 time in UTC such as "2026-12-24T00:00:00Z" (quote it) (got "2026-12-24")',
      "manifest.yaml:19:5 environments[1].name: is required",
      'manifest.yaml:24:14 environments[2].freezes[0].end: must be after start (2026-12-24T00:00:00Z): a freeze lasts a while (got "2026-12-23T00:00:00Z")',
    ],
  );
  assert.deepEqual(problems("environments: []\n"), [
    'manifest.yaml:8:15 environments: must hold at least one environment such as "name: dev", or be removed',
  ]);
});

Deno.test("parseManifest() refuses a swarm environment with what only the engine runs", () => {
  assert.deepEqual(
    problems(
      [
        "prometheus:",
        "  enabled: true",
        "  port: 9500",
        "environments:",
        "  - name: dev",
        "    nginx: { port: 18081 }",
        "    opa: { port: 18191 }",
        "    prometheus: { port: 19091 }",
        "  - name: prod",
        "    target: swarm",
        "    nginx: { port: 18082 }",
        "    opa: { port: 18192 }",
      ].join("\n"),
    ),
    [
      'manifest.yaml:17:13 environments[1].target: cannot be "swarm" while prometheus.enabled is true: the stack\'s Prometheus runs on target "engine" only (got "swarm")',
    ],
  );
});
