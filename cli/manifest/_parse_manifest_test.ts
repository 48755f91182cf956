import assert from "node:assert/strict";
import { ExitCode, ManifestError } from "../errors/mod.ts";
import { parseManifest, type ResolvedManifest } from "./mod.ts";
import { BASE, problems } from "./_section_testing.ts";

const shipped = Deno.readTextFileSync(new URL("../../manifest.yaml", import.meta.url));
const minimal = Deno.readTextFileSync(
  new URL("../../tests/fixtures/manifests/valid_minimal.yaml", import.meta.url),
);

const SHIPPED_RESOLVED: ResolvedManifest = {
  project: "swiftdeploy",
  target: "engine",
  swarm: {
    replicas: 1,
    placement: { constraints: [], spread: null },
    update: {
      parallelism: 1,
      delay_seconds: 0,
      monitor_seconds: 5,
      failure_action: "rollback",
      order: "start-first",
    },
  },
  services: {
    image: "swift-deploy-1-node:latest",
    port: 3000,
    mode: "stable",
    version: "1.0.0",
    restart_policy: "unless-stopped",
  },
  nginx: { image: "nginx:latest", port: 8080, proxy_timeout: 30, contact: "ops@swiftdeploy.local" },
  opa: { image: "openpolicyagent/opa:latest-static", port: 8181, decision_timeout_seconds: 5 },
  network: { name: "swiftdeploy-net", driver_type: "bridge" },
  logs: { volume_name: "swiftdeploy-logs" },
  policy_limits: {
    infrastructure: { min_disk_free_gb: 10, max_cpu_load: 8.0, min_mem_free_percent: 10 },
    canary: {
      max_error_rate_percent: 1.0,
      max_p99_latency_ms: 500,
      window_seconds: 30,
      min_requests: 20,
    },
  },
  audit: { history_file: "history.jsonl", report_file: "audit_report.md" },
  rollout: {
    strategy: "switch",
    steps: [],
    analysis: {
      source: "edge",
      window_seconds: 30,
      min_requests: 20,
      max_error_rate_percent: 5,
      max_error_rate_increase_points: 1.0,
      max_p99_latency_ms: 1000,
      max_p99_ratio: 2.0,
      p99_ratio_floor_ms: 50,
      failure_limit: 0,
      inconclusive_limit: 2,
    },
    routing: { header: "X-Canary", sticky_cookie: null },
  },
  registry: {
    address: null,
    insecure: false,
    username: null,
    password_env: null,
    password_file: null,
  },
  prometheus: {
    enabled: false,
    image: "prom/prometheus:latest",
    port: 9090,
    scrape_interval_seconds: 5,
  },
};

Deno.test("parseManifest() resolves the shipped manifest to its documented values", () => {
  assert.deepEqual(parseManifest(shipped, "manifest.yaml"), SHIPPED_RESOLVED);
});

Deno.test("parseManifest() gives a manifest of required keys only the shipped values as defaults", () => {
  assert.deepEqual(parseManifest(minimal, "valid_minimal.yaml"), SHIPPED_RESOLVED);
});

Deno.test("parseManifest() derives network and volume names from the project when not given", () => {
  const m = parseManifest(`project: shop\n${BASE}`, "manifest.yaml");
  assert.equal(m.network.name, "shop-net");
  assert.equal(m.logs.volume_name, "shop-logs");
  const named = parseManifest(
    `project: shop\n${BASE}network:\n  name: edge\nlogs:\n  volume_name: nginx-logs\n`,
    "manifest.yaml",
  );
  assert.equal(named.network.name, "edge");
  assert.equal(named.logs.volume_name, "nginx-logs");
});

Deno.test("parseManifest() points at the value when a port is not a number", () => {
  const text =
    "project: shop\nservices:\n  image: app:1\n  port: 3000\n\nnginx:\n  port: 80a\n  image: n\n";
  assert.deepEqual(problems(text), [
    'manifest.yaml:7:9 nginx.port: must be an integer between 1 and 65535 (got "80a")',
  ]);
});

Deno.test("parseManifest() suggests the closest key when a top-level key is misspelled", () => {
  const text =
    "# c\nproject: shop\nservics:\n  image: a\n  port: 1\nnginx:\n  image: n\n  port: 2\n";
  assert.deepEqual(problems(text), [
    'manifest.yaml:3:1 servics: unknown key (did you mean "services"?)',
  ]);
});

Deno.test("parseManifest() points at the parent mapping when a required key is missing", () => {
  const text = "#\n".repeat(10) + "services:\n  port: 3000\nnginx:\n  image: n\n  port: 2\n";
  assert.deepEqual(problems(text), ["manifest.yaml:12:3 services.image: is required"]);
});

Deno.test("parseManifest() names the file as the caller gave it", () => {
  assert.deepEqual(problems(BASE.replace("port: 3000", "port: 0"), "deploy/prod.yaml"), [
    "deploy/prod.yaml:3:9 services.port: must be an integer between 1 and 65535 (got 0)",
  ]);
});

Deno.test("parseManifest() reports every problem at once sorted by position", () => {
  const text = [
    "nginx:",
    "  image: ''",
    "  port: 99999",
    "services:",
    "  image: app",
    "  port: -1",
    "  mode: blue",
    "audit:",
    "  report_file: /etc/passwd",
  ].join("\n");
  const lines = problems(text);
  assert.deepEqual(lines, [
    'manifest.yaml:2:10 nginx.image: must not be empty (got "")',
    "manifest.yaml:3:9 nginx.port: must be an integer between 1 and 65535 (got 99999)",
    "manifest.yaml:6:9 services.port: must be an integer between 1 and 65535 (got -1)",
    'manifest.yaml:7:9 services.mode: must be "stable" or "canary" (got "blue")',
    'manifest.yaml:9:16 audit.report_file: must be a relative path to a file inside the manifest folder (got "/etc/passwd")',
  ]);
});

Deno.test("parseManifest() throws a ManifestError that exits 2 and lists every problem", () => {
  try {
    parseManifest(BASE.replace("port: 3000", "port: x").replace("port: 8080", "port: y"), "m.yaml");
    assert.fail("expected a ManifestError");
  } catch (error) {
    assert.ok(error instanceof ManifestError);
    assert.equal(error.exitCode, ExitCode.invalid);
    assert.equal(
      error.message,
      [
        "Invalid manifest: 2 problems",
        '  m.yaml:3:9 services.port: must be an integer between 1 and 65535 (got "x")',
        '  m.yaml:6:9 nginx.port: must be an integer between 1 and 65535 (got "y")',
      ].join("\n"),
    );
  }
});

Deno.test("parseManifest() accepts ports at the edges of the range and rejects just outside", () => {
  assert.equal(
    parseManifest(BASE.replace("3000", "1").replace("8080", "65535"), "m").nginx.port,
    65535,
  );
  assert.deepEqual(problems(BASE.replace("port: 3000", "port: 65536")), [
    "manifest.yaml:3:9 services.port: must be an integer between 1 and 65535 (got 65536)",
  ]);
});

Deno.test("parseManifest() rejects a port written as a float even when it is whole", () => {
  assert.deepEqual(problems(BASE.replace("port: 8080", "port: 8080.0")), [
    "manifest.yaml:6:9 nginx.port: must be an integer between 1 and 65535 (got 8080.0)",
  ]);
});

Deno.test("parseManifest() rejects infinite and not-a-number limits", () => {
  const text =
    `${BASE}policy_limits:\n  infrastructure:\n    max_cpu_load: .inf\n    min_disk_free_gb: .nan\n`;
  assert.deepEqual(problems(text), [
    "manifest.yaml:9:19 policy_limits.infrastructure.max_cpu_load: must be a number greater than 0 (got .inf)",
    "manifest.yaml:10:23 policy_limits.infrastructure.min_disk_free_gb: must be a number greater than 0 (got .nan)",
  ]);
});

Deno.test("parseManifest() asks to quote a version written as a number", () => {
  assert.deepEqual(problems(`${BASE}`.replace("  port: 3000\n", "  port: 3000\n  version: 2\n")), [
    'manifest.yaml:4:12 services.version: must be a quoted string such as "2" (got 2)',
  ]);
  const quoted = BASE.replace("  port: 3000\n", '  port: 3000\n  version: "2"\n');
  assert.equal(parseManifest(quoted, "m").services.version, "2");
});

Deno.test("parseManifest() shows booleans and mappings as written when the type is wrong", () => {
  const text = BASE.replace(
    "  port: 3000\n",
    "  port: 3000\n  mode: true\n  restart_policy: {a: 1}\n",
  );
  assert.deepEqual(problems(text), [
    'manifest.yaml:4:9 services.mode: must be "stable" or "canary" (got true)',
    'manifest.yaml:5:19 services.restart_policy: must be one of "no", "always", "on-failure", "unless-stopped" (got a mapping)',
  ]);
});

Deno.test("parseManifest() checks project names against Docker-safe limits", () => {
  const withProject = (p: string) => `project: ${p}\n${BASE}`;
  assert.equal(parseManifest(withProject("a"), "m").project, "a");
  assert.equal(parseManifest(withProject("a".repeat(31)), "m").project, "a".repeat(31));
  for (const bad of ["a".repeat(32), "1abc", "-abc", "ab_c", '""']) {
    const lines = problems(withProject(bad));
    assert.equal(lines.length, 1, bad);
    assert.match(lines[0]!, /^manifest\.yaml:1:10 project: must /, bad);
  }
});

Deno.test("parseManifest() enforces the documented ranges of timeouts and windows", () => {
  const opa = (v: string) => `${BASE}opa:\n  decision_timeout_seconds: ${v}\n`;
  assert.equal(parseManifest(opa("60"), "m").opa.decision_timeout_seconds, 60);
  assert.equal(parseManifest(opa("0.1"), "m").opa.decision_timeout_seconds, 0.1);
  assert.equal(problems(opa("60.5")).length, 1);
  assert.equal(problems(opa("-1")).length, 1);
  const window = (v: string) => `${BASE}policy_limits:\n  canary:\n    window_seconds: ${v}\n`;
  assert.equal(parseManifest(window("3600"), "m").policy_limits.canary.window_seconds, 3600);
  assert.deepEqual(problems(window("3601")), [
    "manifest.yaml:9:21 policy_limits.canary.window_seconds: must be an integer between 1 and 3600 (got 3601)",
  ]);
  const timeout = (v: string) =>
    BASE.replace("  port: 8080\n", `  port: 8080\n  proxy_timeout: ${v}\n`);
  assert.equal(parseManifest(timeout("3600"), "m").nginx.proxy_timeout, 3600);
  assert.equal(problems(timeout("1.5")).length, 1);
});

Deno.test("parseManifest() keeps audit files inside the manifest folder", () => {
  const audit = (h: string) => `${BASE}audit:\n  history_file: ${h}\n`;
  assert.equal(parseManifest(audit("logs/../h.jsonl"), "m").audit.history_file, "logs/../h.jsonl");
  for (const bad of ["logs/../../h.jsonl", "/var/h.jsonl", ".", "logs/..", "dir/"]) {
    const lines = problems(audit(bad));
    assert.equal(lines.length, 1, bad);
    assert.match(lines[0]!, /audit\.history_file: must be a relative path to a file inside/);
  }
});

/** BASE plus an audit section: `audit("history_file: x", "report_file: y")`. */
const audit = (...lines: string[]) => `${BASE}audit:\n${lines.map((l) => `  ${l}\n`).join("")}`;

Deno.test("parseManifest() rejects every kind of output path collision at the key that causes it", () => {
  // [audit lines, expected problem] for each class of pair: a key's own path or
  // one derived from it (head, lock, chart) against the manifest, a generated
  // file, a state path, or the other key's paths; same path or nested.
  const cases: [string[], string][] = [
    // the issue's two examples
    [
      ["report_file: manifest.yaml"],
      '8:16 audit.report_file: must not be the same path as the manifest "manifest.yaml" (got "manifest.yaml")',
    ],
    [
      ["history_file: audit_report.svg"],
      '8:17 audit.history_file: must not be the same path as the audit chart "audit_report.svg" (got "audit_report.svg")',
    ],
    // key vs manifest
    [
      ["history_file: ./manifest.yaml"],
      '8:17 audit.history_file: must not be the same path as the manifest "manifest.yaml" (got "./manifest.yaml")',
    ],
    // key vs generated files
    [
      ["report_file: nginx.conf"],
      '8:16 audit.report_file: must not be the same path as the generated "nginx.conf" (got "nginx.conf")',
    ],
    [
      ["history_file: docker-compose.yml"],
      '8:17 audit.history_file: must not be the same path as the generated "docker-compose.yml" (got "docker-compose.yml")',
    ],
    [
      ["report_file: sub/../policy_data.json"],
      '8:16 audit.report_file: must not be the same path as the generated "policy_data.json" (got "sub/../policy_data.json")',
    ],
    // key vs the other key: own paths, head, lock, chart
    [
      ["history_file: out/h.md", "report_file: out/./h.md"],
      '9:16 audit.report_file: must not be the same path as the history "out/h.md" (got "out/./h.md")',
    ],
    [
      ["report_file: history.jsonl"],
      '8:16 audit.report_file: must not be the same path as the history "history.jsonl" (got "history.jsonl")',
    ],
    [
      ["report_file: history.jsonl.head"],
      '8:16 audit.report_file: must not be the same path as the history\'s head "history.jsonl.head" (got "history.jsonl.head")',
    ],
    [
      ["report_file: history.12.jsonl"],
      '8:16 audit.report_file: must not be one of the history\'s segments "history.<n>.jsonl" (got "history.12.jsonl")',
    ],
    [
      ["history_file: out/h", "report_file: out/h.3"],
      '9:16 audit.report_file: must not be one of the history\'s segments "out/h.<n>" (got "out/h.3")',
    ],
    [
      ["report_file: history.jsonl.lock"],
      '8:16 audit.report_file: must not be the same path as the history\'s lock "history.jsonl.lock" (got "history.jsonl.lock")',
    ],
    [
      ["report_file: r.md", "history_file: r.svg"],
      '9:17 audit.history_file: must not be the same path as the audit chart "r.svg" (got "r.svg")',
    ],
    // key vs state paths
    [
      ["history_file: .swiftdeploy/lock.json"],
      '8:17 audit.history_file: must not be the same path as the change lock ".swiftdeploy/lock.json" (got ".swiftdeploy/lock.json")',
    ],
    [
      ["report_file: .swiftdeploy/scrapes/r.md"],
      '8:16 audit.report_file: must not be inside the kept scrapes folder ".swiftdeploy/scrapes" (got ".swiftdeploy/scrapes/r.md")',
    ],
    [
      ["history_file: .swiftdeploy/nginx/h.jsonl"],
      '8:17 audit.history_file: must not be inside nginx\'s live config folder ".swiftdeploy/nginx" (got ".swiftdeploy/nginx/h.jsonl")',
    ],
    [
      ["report_file: .swiftdeploy/opa"],
      '8:16 audit.report_file: must not be the same path as OPA\'s policy data folder ".swiftdeploy/opa" (got ".swiftdeploy/opa")',
    ],
    [
      ["history_file: .swiftdeploy/last_chaos"],
      '8:17 audit.history_file: must not be the same path as the chaos state ".swiftdeploy/last_chaos" (got ".swiftdeploy/last_chaos")',
    ],
    // nested: a key naming a folder that holds outputs, or a path inside a file
    [
      ["report_file: .swiftdeploy"],
      '8:16 audit.report_file: must not be a folder holding the change lock ".swiftdeploy/lock.json" (got ".swiftdeploy")',
    ],
    [
      ["history_file: nginx.conf/h.jsonl"],
      '8:17 audit.history_file: must not be inside the generated "nginx.conf" (got "nginx.conf/h.jsonl")',
    ],
    [
      ["history_file: a", "report_file: a/r.md"],
      '9:16 audit.report_file: must not be inside the history "a" (got "a/r.md")',
    ],
  ];
  for (const [lines, expected] of cases) {
    assert.deepEqual(problems(audit(...lines)), [`manifest.yaml:${expected}`], lines.join(", "));
  }
  // Both keys wrong: each is reported once, at its own line.
  assert.deepEqual(problems(audit("history_file: nginx.conf", "report_file: manifest.yaml")), [
    'manifest.yaml:8:17 audit.history_file: must not be the same path as the generated "nginx.conf" (got "nginx.conf")',
    'manifest.yaml:9:16 audit.report_file: must not be the same path as the manifest "manifest.yaml" (got "manifest.yaml")',
  ]);
  // The manifest's own name counts, wherever it lives.
  assert.deepEqual(problems(audit("report_file: deploy.yaml"), "ops/deploy.yaml"), [
    'ops/deploy.yaml:8:16 audit.report_file: must not be the same path as the manifest "deploy.yaml" (got "deploy.yaml")',
  ]);
  // A manifest named like a generated file would be overwritten by init.
  assert.deepEqual(problems(BASE, "nginx.conf"), [
    'nginx.conf:1:1 Manifest cannot be written beside itself: the manifest "nginx.conf" and the generated "nginx.conf" are one path; rename the manifest',
  ]);
  // Neighbours that only look alike are fine.
  for (
    const ok of [
      ["history_file: logs/history.jsonl", "report_file: logs/report.md"],
      ["report_file: manifest.md"],
      ["history_file: nginx.conf.d/h.jsonl"],
      ["report_file: .swiftdeploy/report.md"],
      ["history_file: h.md", "report_file: h.jsonl"],
    ]
  ) {
    assert.doesNotThrow(() => parseManifest(audit(...ok), "manifest.yaml"), ok.join(", "));
  }
});

Deno.test("parseManifest() compares output paths through the canonical function it is given", () => {
  // As if "reports" were a symlink to ".": reports/manifest.yaml is the manifest.
  const canonical = (p: string) => p.replace(/^reports\//, "");
  assert.deepEqual(
    problems(audit("report_file: reports/manifest.yaml"), "manifest.yaml", { canonical }),
    [
      'manifest.yaml:8:16 audit.report_file: must not be the same path as the manifest "manifest.yaml" once symlinks are resolved ("manifest.yaml") (got "reports/manifest.yaml")',
    ],
  );
  assert.doesNotThrow(() => parseManifest(audit("report_file: reports/manifest.yaml"), "m.yaml"));
});

Deno.test("parseManifest() reports a port clash at nginx.port when opa.port is the default", () => {
  assert.deepEqual(problems(BASE.replace("port: 8080", "port: 8181")), [
    "manifest.yaml:6:9 nginx.port: must differ from opa.port (default 8181), both are published on the host (got 8181)",
  ]);
});

Deno.test("parseManifest() lets services.port equal nginx.port because the app port is internal", () => {
  const m = parseManifest(BASE.replace("port: 3000", "port: 8080"), "m");
  assert.equal(m.services.port, m.nginx.port);
});

Deno.test("parseManifest() skips cross-field rules for keys that failed the shape pass", () => {
  const text = `${BASE.replace("port: 8080", "port: 8181")}opa: 5\n`;
  assert.deepEqual(problems(text), ["manifest.yaml:7:6 opa: must be a mapping (got 5)"]);
});

Deno.test("parseManifest() lists the accepted keys when an unknown key has no close match", () => {
  assert.deepEqual(problems(`${BASE}opa:\n  zzz: 1\n`), [
    'manifest.yaml:8:3 opa.zzz: unknown key: "opa" accepts image, port, decision_timeout_seconds',
  ]);
});

Deno.test("parseManifest() suggests a key from another section when it was put in the wrong one", () => {
  assert.deepEqual(problems(`${BASE}network:\n  contact: ops@x\n`), [
    'manifest.yaml:8:3 network.contact: unknown key (did you mean "nginx.contact"?)',
  ]);
});

Deno.test("parseManifest() reports a duplicate section with the line it first appeared on", () => {
  assert.deepEqual(problems(`${BASE}nginx:\n  image: n\n  port: 1\n`), [
    "manifest.yaml:7:1 nginx: duplicate key (first defined on line 4)",
  ]);
});

Deno.test("parseManifest() treats a null value as empty", () => {
  assert.deepEqual(problems(BASE.replace("image: app:1", "image: ~")), [
    "manifest.yaml:2:10 services.image: must not be empty",
  ]);
});

Deno.test("parseManifest() follows aliases and reports undefined ones", () => {
  const aliased =
    "services:\n  image: &img app:1\n  port: &p 9000\nnginx:\n  image: *img\n  port: *p\n";
  const m = parseManifest(aliased, "m");
  assert.equal(m.nginx.image, "app:1");
  assert.equal(m.nginx.port, 9000);
  assert.deepEqual(problems(BASE.replace("image: nginx:latest", "image: *nope")), [
    "manifest.yaml:5:10 nginx.image: refers to an undefined anchor (got *nope)",
  ]);
});

Deno.test("parseManifest() reports YAML syntax errors with their position and stops there", () => {
  assert.deepEqual(problems(`${BASE}project: [a\nwat: 1\n`), [
    "manifest.yaml:7:10 Invalid YAML: flow sequence in block collection must be sufficiently indented and end with a ]",
  ]);
  assert.deepEqual(problems(`${BASE}---\nproject: x\n`), [
    'manifest.yaml:7:1 Invalid YAML: the manifest must hold a single document: remove the extra "---"',
  ]);
  assert.deepEqual(problems("nginx:\n  contact: a: b\n"), [
    'manifest.yaml:2:12 Invalid YAML: a plain value cannot contain ": ": quote it',
  ]);
});

Deno.test("parseManifest() accepts the legacy services.log_volume as the log volume name", () => {
  const legacy = BASE.replace("  port: 3000\n", "  port: 3000\n  log_volume: old-logs\n");
  assert.equal(parseManifest(legacy, "m").logs.volume_name, "old-logs");
  assert.deepEqual(problems(BASE.replace("  port: 3000\n", "  port: 3000\n  log_volume: -x\n")), [
    'manifest.yaml:4:15 services.log_volume: must be a Docker name: 2 to 128 letters, digits, "_", "." or "-", starting with a letter or digit (got "-x")',
  ]);
});

Deno.test("parseManifest() rejects a document that is a single value", () => {
  assert.deepEqual(problems("42\n"), [
    'manifest.yaml:1:1 Manifest must be a mapping of keys such as "services" and "nginx" (got 42)',
  ]);
  assert.deepEqual(problems("# nothing here\n\n"), [
    'manifest.yaml:1:1 Manifest is empty: expected keys such as "services" and "nginx"',
  ]);
});

Deno.test("parseManifest() reports cross-field problems together with unrelated shape problems", () => {
  const text = `${BASE.replace("port: 8080", "port: 8181").replace("image: app:1", "image: a b")}`;
  assert.deepEqual(problems(text), [
    'manifest.yaml:2:10 services.image: must be an image reference without whitespace (got "a b")',
    "manifest.yaml:6:9 nginx.port: must differ from opa.port (default 8181), both are published on the host (got 8181)",
  ]);
});
