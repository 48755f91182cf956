/**
 * The manifest's `rollout` and `prometheus` sections: every resolved value
 * and default, and every kind of problem with its exact line:col message.
 */
import assert from "node:assert/strict";
import { BASE, problems as problemsOf } from "./_section_testing.ts";
import {
  defaultPrometheus,
  defaultRollout,
  durationSeconds,
  EXAMPLE_CANARY_STEPS,
  formatDuration,
  parseManifest,
} from "./mod.ts";
import { schemaPaths } from "./_schema.ts";

/** The problems of BASE (lines 1–6) with `tail` appended from line 7. */
const problems = (tail: string) => problemsOf(BASE + tail);

const parse = (tail: string) => parseManifest(BASE + tail, "manifest.yaml");

/** `rollout:` with `strategy: canary` and the given step lines (each an item). */
const canary = (...steps: string[]) =>
  `rollout:\n  strategy: canary\n  steps:\n${steps.map((s) => `    - ${s}\n`).join("")}`;

// --- resolved values and defaults ---------------------------------------

Deno.test("parseManifest() resolves a canary rollout with Argo's step vocabulary to seconds", () => {
  const m = parse(
    canary(
      "weight: 10",
      "pause: 30s",
      "analysis: {}",
      "weight: 50",
      "pause: 1m30s",
      "analysis: { window: 20s }",
      "analysis:",
    ),
  );
  assert.deepEqual(m.rollout.steps, [
    { weight: 10 },
    { pause_seconds: 30 },
    { analysis: {} },
    { weight: 50 },
    { pause_seconds: 90 },
    { analysis: { window_seconds: 20 } },
    { analysis: {} },
  ]);
  assert.equal(m.rollout.strategy, "canary");
});

Deno.test("parseManifest() gives a manifest without rollout or prometheus the documented defaults", () => {
  const m = parse("");
  assert.deepEqual(m.rollout, defaultRollout());
  assert.deepEqual(m.rollout, {
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
  });
  assert.deepEqual(m.prometheus, defaultPrometheus());
  assert.deepEqual(m.prometheus, {
    enabled: false,
    image: "prom/prometheus:latest",
    port: 9090,
    scrape_interval_seconds: 5,
  });
  // Empty sections take the defaults too.
  assert.deepEqual(parse("rollout: {}\nprometheus: {}\n").rollout, defaultRollout());
});

Deno.test("defaultRollout() and defaultPrometheus() return fresh copies", () => {
  const a = defaultRollout();
  a.analysis.min_requests = 1;
  a.steps.push({ weight: 1 });
  assert.equal(defaultRollout().analysis.min_requests, 20);
  assert.deepEqual(defaultRollout().steps, []);
  const p = defaultPrometheus();
  p.port = 1;
  assert.equal(defaultPrometheus().port, 9090);
});

Deno.test("parseManifest() resolves every analysis, routing and prometheus key as written", () => {
  const m = parse(
    [
      "rollout:",
      "  analysis:",
      "    source: prometheus",
      "    window: 2m",
      "    min_requests: 5",
      "    max_error_rate_percent: 2.5",
      "    max_error_rate_increase_points: 0",
      "    max_p99_latency_ms: 250",
      "    max_p99_ratio: 1.5",
      "    failure_limit: 1",
      "    inconclusive_limit: 0",
      "  routing:",
      "    header: X-Variant",
      "    sticky_cookie: sd_variant",
      "prometheus:",
      "  enabled: true",
      "  image: prom:local",
      "  port: 9191",
      "  scrape_interval: 15",
      "",
    ].join("\n"),
  );
  assert.deepEqual(m.rollout.analysis, {
    source: "prometheus",
    window_seconds: 120,
    min_requests: 5,
    max_error_rate_percent: 2.5,
    max_error_rate_increase_points: 0,
    max_p99_latency_ms: 250,
    max_p99_ratio: 1.5,
    p99_ratio_floor_ms: 50,
    failure_limit: 1,
    inconclusive_limit: 0,
  });
  assert.deepEqual(m.rollout.routing, { header: "X-Variant", sticky_cookie: "sd_variant" });
  assert.deepEqual(m.prometheus, {
    enabled: true,
    image: "prom:local",
    port: 9191,
    scrape_interval_seconds: 15,
  });
});

Deno.test("parseManifest() reads a null or absent sticky cookie as no sticky cookie", () => {
  for (const value of ["null", "~", ""]) {
    const m = parse(`rollout:\n  routing:\n    sticky_cookie: ${value}\n`);
    assert.equal(m.rollout.routing.sticky_cookie, null, value);
  }
});

Deno.test("parseManifest() accepts the documented example steps of the shipped manifest", () => {
  const shipped = Deno.readTextFileSync(new URL("../../manifest.yaml", import.meta.url));
  const example = shipped.match(/^ {2}# {3}steps:\n((?: {2}# {5}- .*\n)+)/m);
  assert.ok(example, "the shipped manifest documents an example step list");
  const steps = example[1]!.replace(/^ {2}# {3}/gm, "  ");
  const text = shipped
    .replace("  strategy: switch\n", "  strategy: canary\n")
    .replace("  steps: []\n", `  steps:\n${steps}`);
  assert.deepEqual(parseManifest(text, "manifest.yaml").rollout.steps, EXAMPLE_CANARY_STEPS);
});

// --- durations -----------------------------------------------------------

Deno.test("durationSeconds() reads s, m, h, their combinations and plain seconds", () => {
  const cases: [unknown, string, number | undefined][] = [
    ["30s", "30s", 30],
    ["2m", "2m", 120],
    ["1h", "1h", 3600],
    ["1m30s", "1m30s", 90],
    ["1h30m", "1h30m", 5400],
    ["1h0m1s", "1h0m1s", 3601],
    [30, "30", 30],
    ["45", '"45"', 45],
    [0, "0", 0],
    // refused: fractions, other units, wrong order, signs, YAML numbers not written as digits
    ["1.5s", "1.5s", undefined],
    ["30ms", "30ms", undefined],
    ["30sec", "30sec", undefined],
    ["30s2m", "30s2m", undefined],
    ["1d", "1d", undefined],
    ["", "''", undefined],
    ["-5s", "-5s", undefined],
    [1.5, "1.5", undefined],
    [30, "30.0", undefined],
    [30, "0x1e", undefined],
    [-1, "-1", undefined],
    [true, "true", undefined],
    [null, "null", undefined],
  ];
  for (const [value, source, expected] of cases) {
    assert.equal(durationSeconds(value, source), expected, `${source}`);
  }
});

Deno.test("formatDuration() writes seconds the way the manifest does", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(8), "8s");
  assert.equal(formatDuration(90), "1m30s");
  assert.equal(formatDuration(3600), "1h");
  assert.equal(formatDuration(3661), "1h1m1s");
});

Deno.test("parseManifest() holds pauses and windows between 1s and 1h", () => {
  assert.deepEqual(parse(canary("weight: 1", "pause: 1h", "analysis: {window: 1}")).rollout.steps, [
    { weight: 1 },
    { pause_seconds: 3600 },
    { analysis: { window_seconds: 1 } },
  ]);
  const duration =
    "must be a duration between 1s and 1h, such as 30s, 2m, 1m30s or a whole number of seconds";
  assert.deepEqual(
    problems(canary("weight: 10", "pause: 1h1s", "pause: 0s", "analysis: {window: 1.5}")),
    [
      `manifest.yaml:11:14 rollout.steps[1].pause: ${duration} (got "1h1s")`,
      `manifest.yaml:12:14 rollout.steps[2].pause: ${duration} (got "0s")`,
      `manifest.yaml:13:26 rollout.steps[3].analysis.window: ${duration} (got 1.5)`,
    ],
  );
  assert.deepEqual(problems("rollout:\n  analysis:\n    window: 61m\n"), [
    `manifest.yaml:9:13 rollout.analysis.window: ${duration} (got "61m")`,
  ]);
  assert.deepEqual(problems("prometheus:\n  scrape_interval: 5x\n"), [
    `manifest.yaml:8:20 prometheus.scrape_interval: ${duration} (got "5x")`,
  ]);
});

// --- steps: shape ----------------------------------------------------------

Deno.test("parseManifest() wants exactly one kind in each step", () => {
  assert.deepEqual(problems(canary("weight: 10", "{}", "weight: 20\n      pause: 5s")), [
    'manifest.yaml:11:7 rollout.steps[1]: must hold exactly one of "weight", "pause" or "analysis" (got an empty mapping)',
    'manifest.yaml:12:7 rollout.steps[2]: must hold exactly one of "weight", "pause" or "analysis", one step per list item (got "weight" and "pause")',
  ]);
});

Deno.test("parseManifest() suggests the step kind a misspelled key stands for, and says nothing more", () => {
  assert.deepEqual(problems(canary("weight: 10", "wieght: 20", "analysis: {windows: 3}")), [
    'manifest.yaml:11:7 rollout.steps[1].wieght: unknown key (did you mean "weight"?)',
    'manifest.yaml:12:18 rollout.steps[2].analysis.windows: unknown key (did you mean "window"?)',
  ]);
  assert.deepEqual(problems(canary("weight: 10", "zzz: 5")), [
    'manifest.yaml:11:7 rollout.steps[1].zzz: unknown key: "rollout.steps[1]" accepts weight, pause, analysis',
  ]);
});

Deno.test("parseManifest() asks for a mapping when a step is a bare value", () => {
  assert.deepEqual(problems(canary("weight: 10", "10", "~")), [
    'manifest.yaml:11:7 rollout.steps[1]: must be a mapping such as "weight: 10" (got 10)',
    'manifest.yaml:12:7 rollout.steps[2]: must be a mapping such as "weight: 10" (got null)',
  ]);
});

Deno.test("parseManifest() wants steps to be a list of at most 64 steps", () => {
  assert.deepEqual(problems("rollout:\n  strategy: canary\n  steps: 5\n"), [
    "manifest.yaml:9:10 rollout.steps: must be a list (got 5)",
  ]);
  assert.deepEqual(problems("rollout:\n  strategy: canary\n  steps: {weight: 5}\n"), [
    "manifest.yaml:9:10 rollout.steps: must be a list (got a mapping)",
  ]);
  const many = Array.from({ length: 65 }, (_, i) => `pause: ${i + 1}s`);
  assert.deepEqual(problems(canary(...many)), [
    "manifest.yaml:10:5 rollout.steps: must hold at most 64 steps (got 65)",
  ]);
  const most = Array.from({ length: 63 }, (_, i) => `pause: ${i + 1}s`);
  assert.equal(parse(canary("weight: 5", ...most)).rollout.steps.length, 64);
});

Deno.test("parseManifest() holds weights between 1 and 99 because 100 is implied", () => {
  assert.deepEqual(parse(canary("weight: 1", "weight: 99")).rollout.steps, [
    { weight: 1 },
    { weight: 99 },
  ]);
  const weight =
    "must be an integer percentage between 1 and 99: 100 is implied after the last step";
  assert.deepEqual(problems(canary("weight: 0", "weight: 100", "weight: 12.5", "weight: '5'")), [
    `manifest.yaml:10:15 rollout.steps[0].weight: ${weight} (got 0)`,
    `manifest.yaml:11:15 rollout.steps[1].weight: ${weight} (got 100)`,
    `manifest.yaml:12:15 rollout.steps[2].weight: ${weight} (got 12.5)`,
    `manifest.yaml:13:15 rollout.steps[3].weight: ${weight} (got "5")`,
  ]);
});

// --- steps: cross-field ----------------------------------------------------

Deno.test("parseManifest() wants weights strictly increasing, reported at the one that is not", () => {
  assert.deepEqual(
    problems(canary("weight: 20", "pause: 5s", "weight: 20", "weight: 10", "weight: 30")),
    [
      "manifest.yaml:12:15 rollout.steps[2].weight: must be greater than the weight before it (rollout.steps[0].weight is 20): weights only go up (got 20)",
      "manifest.yaml:13:15 rollout.steps[3].weight: must be greater than the weight before it (rollout.steps[0].weight is 20): weights only go up (got 10)",
    ],
  );
});

Deno.test("parseManifest() wants an analysis only after a weight step", () => {
  assert.deepEqual(problems(canary("pause: 5s", "analysis: {}", "weight: 10", "analysis: {}")), [
    "manifest.yaml:11:7 rollout.steps[1].analysis: must come after a weight step: before one the canary has no traffic to judge",
  ]);
  // A weight step with a bad value still counts as the weight before: one problem, not two.
  assert.deepEqual(problems(canary("weight: 100", "analysis: {}")), [
    "manifest.yaml:10:15 rollout.steps[0].weight: must be an integer percentage between 1 and 99: 100 is implied after the last step (got 100)",
  ]);
});

Deno.test("parseManifest() wants a weight step in a canary rollout", () => {
  assert.deepEqual(problems("rollout:\n  strategy: canary\n"), [
    'manifest.yaml:8:13 rollout.strategy: needs rollout.steps with at least one "weight" step (got "canary" and no steps)',
  ]);
  assert.deepEqual(problems("rollout:\n  strategy: canary\n  steps: []\n"), [
    'manifest.yaml:9:10 rollout.steps: must hold at least one "weight" step when rollout.strategy is "canary" (got an empty list)',
  ]);
  assert.deepEqual(problems(canary("pause: 10s")), [
    'manifest.yaml:10:5 rollout.steps: must hold at least one "weight" step when rollout.strategy is "canary" (got 1 step, no weight)',
  ]);
  // A broken step may have been the weight: its own problem is enough.
  assert.deepEqual(problems(canary("wieght: 10")), [
    'manifest.yaml:10:7 rollout.steps[0].wieght: unknown key (did you mean "weight"?)',
  ]);
});

Deno.test("parseManifest() refuses steps with strategy switch instead of ignoring them", () => {
  assert.deepEqual(problems("rollout:\n  steps:\n    - weight: 10\n    - pause: 5s\n"), [
    'manifest.yaml:9:5 rollout.steps: must be empty when rollout.strategy is "switch" (the default): set strategy "canary" to walk these steps, or remove them (got 2 steps)',
  ]);
  assert.deepEqual(problems("rollout:\n  strategy: switch\n  steps:\n    - weight: 10\n"), [
    'manifest.yaml:10:5 rollout.steps: must be empty when rollout.strategy is "switch": set strategy "canary" to walk these steps, or remove them (got 1 step)',
  ]);
  assert.deepEqual(parse("rollout:\n  strategy: switch\n  steps: []\n").rollout.steps, []);
});

Deno.test("parseManifest() skips step rules when the strategy itself is wrong", () => {
  assert.deepEqual(problems("rollout:\n  strategy: blue-green\n"), [
    'manifest.yaml:8:13 rollout.strategy: must be "switch" or "canary" (got "blue-green")',
  ]);
});

// --- analysis --------------------------------------------------------------

Deno.test("parseManifest() enforces the ranges of every analysis setting", () => {
  const text = [
    "rollout:",
    "  analysis:",
    "    source: datadog",
    "    min_requests: 0",
    "    max_error_rate_percent: 101",
    "    max_error_rate_increase_points: -1",
    "    max_p99_latency_ms: 0",
    "    max_p99_ratio: 0.5",
    "    failure_limit: -1",
    "    inconclusive_limit: 1.5",
    "",
  ].join("\n");
  assert.deepEqual(problems(text), [
    'manifest.yaml:9:13 rollout.analysis.source: must be "edge" or "prometheus" (got "datadog")',
    "manifest.yaml:10:19 rollout.analysis.min_requests: must be an integer of at least 1 (got 0)",
    "manifest.yaml:11:29 rollout.analysis.max_error_rate_percent: must be a percentage between 0 and 100 (got 101)",
    "manifest.yaml:12:37 rollout.analysis.max_error_rate_increase_points: must be a number of percentage points between 0 and 100 (got -1)",
    "manifest.yaml:13:25 rollout.analysis.max_p99_latency_ms: must be a number greater than 0 (got 0)",
    "manifest.yaml:14:20 rollout.analysis.max_p99_ratio: must be a number between 1 and 1000 (the canary's P99 over stable's) (got 0.5)",
    "manifest.yaml:15:20 rollout.analysis.failure_limit: must be an integer between 0 and 100 (got -1)",
    "manifest.yaml:16:25 rollout.analysis.inconclusive_limit: must be an integer between 0 and 100 (got 1.5)",
  ]);
});

Deno.test("parseManifest() suggests keys inside rollout and from the step items", () => {
  assert.deepEqual(problems("rollout:\n  analysis:\n    windw: 10s\n  stratgy: canary\n"), [
    'manifest.yaml:9:5 rollout.analysis.windw: unknown key (did you mean "window"?)',
    'manifest.yaml:10:3 rollout.stratgy: unknown key (did you mean "strategy"?)',
  ]);
  assert.deepEqual(problems("rollout:\n  pause: 5s\n"), [
    'manifest.yaml:8:3 rollout.pause: unknown key (did you mean "rollout.steps[].pause"?)',
  ]);
  assert.ok(schemaPaths().some((p) => p.join(".") === "rollout.steps[].analysis.window"));
});

// --- routing ---------------------------------------------------------------

Deno.test("parseManifest() wants the pin header a name nginx passes on and no reserved one", () => {
  const header = (v: string) => `rollout:\n  routing:\n    header: ${v}\n`;
  assert.equal(parse(header("x-canary-2")).rollout.routing.header, "x-canary-2");
  const shape =
    'must be a header name of letters, digits and "-", starting with a letter, at most 64 characters (nginx drops other names)';
  for (const bad of ["X_Canary", "X.Canary", "-x", "X Canary", "x".repeat(65)]) {
    assert.deepEqual(problems(header(`"${bad}"`)), [
      `manifest.yaml:9:13 rollout.routing.header: ${shape} (got ${
        JSON.stringify(bad.length > 60 ? `${bad.slice(0, 57)}...` : bad)
      })`,
    ], bad);
  }
  for (const reserved of ["Connection", "transfer-encoding", "Upgrade", "Host", "Cookie", "TE"]) {
    assert.deepEqual(problems(header(reserved)), [
      `manifest.yaml:9:13 rollout.routing.header: must not be a hop-by-hop or reserved header name (got "${reserved}")`,
    ], reserved);
  }
});

Deno.test("parseManifest() wants the sticky cookie a cookie-name token", () => {
  const cookie = (v: string) => `rollout:\n  routing:\n    sticky_cookie: ${v}\n`;
  assert.equal(parse(cookie("sd.variant-1_x")).rollout.routing.sticky_cookie, "sd.variant-1_x");
  const token =
    "must be a cookie name: 1 to 64 letters, digits or !#$%&'*+-.^_`|~ (RFC 6265), or null";
  for (const bad of ["a b", "a;b", "a=b", "a,b", "é"]) {
    assert.deepEqual(problems(cookie(`"${bad}"`)), [
      `manifest.yaml:9:20 rollout.routing.sticky_cookie: ${token} (got ${JSON.stringify(bad)})`,
    ], bad);
  }
  assert.deepEqual(problems(cookie("5")), [
    "manifest.yaml:9:20 rollout.routing.sticky_cookie: must be a cookie name or null (no sticky cookie) (got 5)",
  ]);
  assert.deepEqual(problems(cookie("__Secure-v")), [
    'manifest.yaml:9:20 rollout.routing.sticky_cookie: must not start with "__Host-" or "__Secure-": browsers keep those only from HTTPS (got "__Secure-v")',
  ]);
});

// --- prometheus ------------------------------------------------------------

Deno.test("parseManifest() refuses the prometheus source while the stack's Prometheus is off", () => {
  assert.deepEqual(problems("rollout:\n  analysis:\n    source: prometheus\n"), [
    'manifest.yaml:9:13 rollout.analysis.source: must be "edge" while prometheus.enabled is false: enable the stack\'s Prometheus to query it (got "prometheus")',
  ]);
  const on = parse("rollout:\n  analysis:\n    source: prometheus\nprometheus:\n  enabled: true\n");
  assert.equal(on.rollout.analysis.source, "prometheus");
});

Deno.test("parseManifest() wants a Prometheus that is on a port of its own", () => {
  assert.deepEqual(problems("prometheus:\n  enabled: true\n  port: 8080\n"), [
    "manifest.yaml:9:9 prometheus.port: must differ from nginx.port, both are published on the host (got 8080)",
  ]);
  assert.deepEqual(problems("prometheus:\n  enabled: true\n  port: 8181\n"), [
    "manifest.yaml:9:9 prometheus.port: must differ from opa.port, both are published on the host (got 8181)",
  ]);
  const text = BASE.replace("port: 8080", "port: 9090") + "prometheus:\n  enabled: true\n";
  assert.deepEqual(problemsOf(text), [
    "manifest.yaml:8:12 prometheus.enabled: needs prometheus.port to differ from nginx.port: the default 9090 is taken (got true)",
  ]);
  // Off, the port is never published: no clash.
  assert.equal(parse("prometheus:\n  port: 8080\n").prometheus.port, 8080);
});

Deno.test("parseManifest() wants every prometheus analysis window to hold two scrapes", () => {
  const on = (window: string, interval: string, steps = "") =>
    `rollout:\n  analysis:\n    source: prometheus\n${window}${steps}prometheus:\n  enabled: true\n${interval}`;
  assert.deepEqual(problems(on("    window: 8s\n", "")), [
    "manifest.yaml:10:13 rollout.analysis.window: must be at least twice prometheus.scrape_interval (5s): a rate needs two scrapes in the window (got 8s)",
  ]);
  assert.deepEqual(problems(on("", "  scrape_interval: 20s\n")), [
    "manifest.yaml:12:20 prometheus.scrape_interval: needs rollout.analysis.window (30s) to be at least twice prometheus.scrape_interval (20s): a rate needs two scrapes in the window",
  ]);
  const steps = "  strategy: canary\n  steps:\n    - weight: 10\n    - analysis: {window: 9}\n";
  assert.deepEqual(problems(on("", "", steps)), [
    "manifest.yaml:13:26 rollout.steps[1].analysis.window: must be at least twice prometheus.scrape_interval (5s): a rate needs two scrapes in the window (got 9s)",
  ]);
  assert.equal(parse(on("    window: 10s\n", "")).rollout.analysis.window_seconds, 10);
  // With the edge source, Prometheus' interval does not matter.
  assert.equal(
    parse("rollout:\n  analysis:\n    window: 2s\nprometheus:\n  enabled: true\n")
      .rollout.analysis.window_seconds,
    2,
  );
});

Deno.test("parseManifest() wants prometheus.enabled a boolean, not a YAML 1.1 yes", () => {
  assert.deepEqual(problems("prometheus:\n  enabled: yes\n"), [
    'manifest.yaml:8:12 prometheus.enabled: must be true or false (got "yes")',
  ]);
});
