/**
 * The dashboard as data and text. Golden files live in tests/golden/status/;
 * after a deliberate change, regenerate and review the diff like code:
 *
 *   UPDATE_GOLDEN=1 deno test -A cli/status/status_test.ts
 */
import assert from "node:assert/strict";
import { createTerminal } from "../term/mod.ts";
import type { Scrape, WindowFigures } from "../metrics/mod.ts";
import { type AppState, computeWindow, scrapeFromText } from "../metrics/mod.ts";
import {
  canaryInput,
  CLEAR_LINE_END,
  CLEAR_SCREEN,
  CLEAR_SCREEN_END,
  complianceOf,
  CURSOR_HOME,
  type DashboardOptions,
  HIDE_CURSOR,
  type Observation,
  redrawFrame,
  renderDashboard,
  type StatusDocument,
  statusDocument,
  statusScrapeData,
  UNKNOWN_MODE_REASON,
} from "./mod.ts";

const root = new URL("../../", import.meta.url);
const golden = (name: string) => new URL(`tests/golden/status/${name}`, root);
const update = Deno.env.get("UPDATE_GOLDEN") === "1";

async function matchGolden(name: string, actual: string): Promise<void> {
  if (update) {
    await Deno.mkdir(new URL(".", golden(name)), { recursive: true });
    await Deno.writeTextFile(golden(name), actual);
  }
  const expected = await Deno.readTextFile(golden(name));
  assert.equal(
    actual,
    expected,
    `${name} differs; if intended, run with UPDATE_GOLDEN=1 and review`,
  );
}

// deno-lint-ignore no-control-regex
const ESC = /\x1b\[/;
const now = new Date("2026-11-21T12:04:05.678Z");
const options: DashboardOptions = {
  intervalSeconds: 5,
  once: false,
  limits: { maxErrorRate: 1, maxP99: 500 },
};

/** A /metrics text of the app: `ok` 200s answered within 5 ms and `failed` 500s within 0.5–1 s on "/". */
function metricsText(o: {
  mode: 0 | 1;
  chaos: 0 | 1 | 2;
  uptime: number;
  ok: number;
  failed: number;
}): string {
  const n = o.ok + o.failed;
  return [
    "# TYPE http_requests_total counter",
    `http_requests_total{method="GET",path="/",status_code="200"} ${o.ok}`,
    `http_requests_total{method="GET",path="/",status_code="500"} ${o.failed}`,
    `http_requests_total{method="GET",path="/healthz",status_code="200"} 40`,
    "# TYPE http_request_duration_seconds histogram",
    `http_request_duration_seconds_bucket{method="GET",path="/",le="0.005"} ${o.ok}`,
    `http_request_duration_seconds_bucket{method="GET",path="/",le="0.5"} ${o.ok}`,
    `http_request_duration_seconds_bucket{method="GET",path="/",le="1"} ${n}`,
    `http_request_duration_seconds_bucket{method="GET",path="/",le="+Inf"} ${n}`,
    `http_request_duration_seconds_sum{method="GET",path="/"} ${o.ok * 0.002 + o.failed * 0.8}`,
    `http_request_duration_seconds_count{method="GET",path="/"} ${n}`,
    "# TYPE app_uptime_seconds gauge",
    `app_uptime_seconds ${o.uptime}`,
    "# TYPE app_mode gauge",
    `app_mode ${o.mode}`,
    "# TYPE chaos_active gauge",
    `chaos_active ${o.chaos}`,
    "",
  ].join("\n");
}

const scrapeOf = (at: number, text: string): Scrape => scrapeFromText(text, at);

function windowOf(
  before: Parameters<typeof metricsText>[0],
  after: Parameters<typeof metricsText>[0],
): { figures: WindowFigures; state: AppState } {
  const older = scrapeOf(now.getTime() - 30_000, metricsText(before));
  const newer = scrapeOf(now.getTime(), metricsText(after));
  return { figures: computeWindow(older, newer), state: newer.state };
}

const PASS = complianceOf({ allow: true, reasons: [], domain: "infrastructure", checked: {} });

/** A stable app serving cleanly: both policies pass. */
function stablePassing(): Observation {
  const { figures, state } = windowOf(
    { mode: 0, chaos: 0, uptime: 3600, ok: 1000, failed: 0 },
    { mode: 0, chaos: 0, uptime: 3630, ok: 1300, failed: 0 },
  );
  return {
    now,
    project: "swiftdeploy",
    state,
    figures,
    health: { version: "1.0.0", error: null },
    policy: {
      infrastructure: PASS,
      canary: complianceOf({ allow: true, reasons: [], domain: "canary", checked: {} }),
    },
  };
}

/** A canary under error chaos: the canary policy refuses the promotion to stable. */
function canaryFailing(): Observation {
  const { figures, state } = windowOf(
    { mode: 1, chaos: 2, uptime: 120, ok: 200, failed: 10 },
    { mode: 1, chaos: 2, uptime: 150, ok: 260, failed: 70 },
  );
  return {
    now,
    project: "swiftdeploy",
    state,
    figures,
    health: { version: "1.0.0", error: null },
    policy: {
      infrastructure: PASS,
      canary: complianceOf({
        allow: false,
        reasons: [
          "Error rate 50.00% exceeds the maximum 1.00%",
          "P99 latency 990 ms exceeds the maximum 500 ms",
        ],
        domain: "canary",
        checked: {},
      }),
    },
  };
}

/** The app does not answer: nothing is known but the host's policy. */
function appUnreachable(): Observation {
  return {
    now,
    project: "swiftdeploy",
    scrapeError: 'Cannot scrape metrics from "http://127.0.0.1:8080/metrics": HTTP 502 Bad Gateway',
    health: { version: null, error: "/healthz answered HTTP 502" },
    policy: {
      infrastructure: PASS,
      canary: complianceOf({ error: UNKNOWN_MODE_REASON }),
    },
  };
}

const scenarios: [string, () => Observation][] = [
  ["stable_pass", stablePassing],
  ["canary_fail", canaryFailing],
  ["app_unreachable", appUnreachable],
];

for (const [name, observe] of scenarios) {
  Deno.test(`renderDashboard() matches ${name}.txt when not coloured`, async () => {
    const lines = renderDashboard(statusDocument(observe()), options);
    assert.ok(!lines.some((l) => ESC.test(l)), "no escape code without a painter");
    await matchGolden(`${name}.txt`, lines.join("\n") + "\n");
  });

  Deno.test(`statusDocument() matches ${name}.json with the timestamp normalised`, async () => {
    const doc = statusDocument({ ...observe(), now: new Date() });
    assert.match(doc.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const line = JSON.stringify(doc);
    assert.ok(!line.includes("\n"), "one document is one line");
    const normalised = JSON.stringify({ ...doc, timestamp: "<timestamp>" }, null, 2) + "\n";
    await matchGolden(`${name}.json`, normalised);
  });
}

Deno.test("renderDashboard() shows the window figures, chaos state and every reason when the canary fails", () => {
  const text = renderDashboard(statusDocument(canaryFailing()), options).join("\n");
  assert.match(text, /req\/s {7}: 4\.00 {3}\(120 requests\)/);
  assert.match(text, /error rate {2}: 50\.00%/);
  assert.match(text, /P99 latency : 990\.00 ms/);
  assert.match(text, /mode {8}: canary/);
  assert.match(text, /chaos {7}: error/);
  assert.match(text, /✘ canary {10}FAIL/);
  assert.match(text, /! Error rate 50\.00% exceeds the maximum 1\.00%/);
  assert.match(text, /! P99 latency 990 ms exceeds the maximum 500 ms/);
});

Deno.test("renderDashboard() shows UNKNOWN for mode, chaos, version and the canary when the app is unreachable", () => {
  const text = renderDashboard(statusDocument(appUnreachable()), options).join("\n");
  assert.match(text, /app unreachable: Cannot scrape metrics/);
  for (const field of ["mode", "chaos", "version"]) {
    assert.match(text, new RegExp(`${field} +: UNKNOWN`));
  }
  assert.match(text, /\? canary {10}UNKNOWN\n {6}! the app's mode is unknown \(no metrics\)/);
  assert.match(text, /✔ infrastructure {2}PASS/);
});

Deno.test("renderDashboard() lists warnings and says how it refreshes", () => {
  const doc = statusDocument(stablePassing());
  const live = renderDashboard(doc, { ...options, warnings: ["Cannot append to the history: x"] });
  assert.ok(live.includes("! Cannot append to the history: x"));
  assert.equal(live.at(-1), "Refreshing every 5s — Ctrl+C to exit");
  assert.equal(renderDashboard(doc, { ...options, once: true }).at(-1), "one refresh (--once)");
});

Deno.test("renderDashboard() colours PASS green and FAIL red only when a colouring painter is given", () => {
  const doc = statusDocument(canaryFailing());
  const painted = renderDashboard(doc, options, createTerminal({ color: true })).join("\n");
  assert.ok(painted.includes("\x1b[32mPASS\x1b[0m"));
  assert.ok(painted.includes("\x1b[31mFAIL\x1b[0m"));
  assert.ok(painted.includes("\x1b[31m50.00%\x1b[0m"), "an error rate over the limit is red");
  assert.ok(painted.includes("\x1b[31m990.00 ms\x1b[0m"), "a P99 over the limit is red");
  assert.ok(painted.includes("\x1b[31merror\x1b[0m"), "active chaos is red");
  const uncoloured = renderDashboard(doc, options, createTerminal({ color: false }));
  assert.deepEqual(uncoloured, renderDashboard(doc, options));
});

Deno.test("createTerminal() colours nothing when NO_COLOR is set", () => {
  const before = Deno.env.get("NO_COLOR");
  Deno.env.set("NO_COLOR", "1");
  try {
    const term = createTerminal({});
    assert.equal(term.color, false);
    const text = renderDashboard(statusDocument(canaryFailing()), options, term).join("\n");
    assert.ok(!ESC.test(text), "no escape code under NO_COLOR");
  } finally {
    if (before === undefined) Deno.env.delete("NO_COLOR");
    else Deno.env.set("NO_COLOR", before);
  }
});

/** Runs a snippet on a pseudo-terminal (util-linux `script`), so that stdout is a TTY. */
async function onTty(code: string, env: Record<string, string>): Promise<string> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, code);
    const out = await new Deno.Command("script", {
      args: ["-qefc", `"${Deno.execPath()}" run -A --quiet "${file}"`, "/dev/null"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", TERM: "xterm", ...env },
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, `${text}${new TextDecoder().decode(out.stderr)}`);
    return text;
  } finally {
    await Deno.remove(file);
  }
}

Deno.test({
  name: "createTerminal() colours on a TTY and never with NO_COLOR or off a TTY",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const termUrl = new URL("../term/mod.ts", import.meta.url).href;
    const snippet = `import { createTerminal } from "${termUrl}";
const t = createTerminal({});
console.log(JSON.stringify({ tty: Deno.stdout.isTerminal(), color: t.color, red: t.red("x") }));`;
    const parse = (s: string) => JSON.parse(s.trim().split(/\r?\n/).at(-1)!);

    assert.deepEqual(parse(await onTty(snippet, {})), {
      tty: true,
      color: true,
      red: "\x1b[31mx\x1b[0m",
    });
    assert.deepEqual(parse(await onTty(snippet, { NO_COLOR: "1" })), {
      tty: true,
      color: false,
      red: "x",
    });
    const file = await Deno.makeTempFile({ suffix: ".ts" });
    try {
      await Deno.writeTextFile(file, snippet);
      const piped = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", file],
        stdout: "piped",
        env: { NO_COLOR: "" },
      }).output();
      assert.deepEqual(parse(new TextDecoder().decode(piped.stdout)), {
        tty: false,
        color: false,
        red: "x",
      });
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test("redrawFrame() clears the screen only on the first frame and overwrites lines in place", () => {
  const lines = ["one", "two"];
  const first = redrawFrame(lines, true);
  assert.equal(
    first,
    `${HIDE_CURSOR}${CLEAR_SCREEN}${CURSOR_HOME}one${CLEAR_LINE_END}\ntwo${CLEAR_LINE_END}\n${CLEAR_SCREEN_END}`,
  );
  const next = redrawFrame(lines, false);
  assert.equal(
    next,
    `${CURSOR_HOME}one${CLEAR_LINE_END}\ntwo${CLEAR_LINE_END}\n${CLEAR_SCREEN_END}`,
  );
  assert.ok(!next.includes(CLEAR_SCREEN), "no full clear after the first frame (no flicker)");
  assert.ok(next.startsWith(CURSOR_HOME), "each frame starts at the top-left corner");
  assert.equal(CLEAR_SCREEN, "\x1b[2J");
  assert.equal(CURSOR_HOME, "\x1b[H");
  assert.equal(CLEAR_LINE_END, "\x1b[K");
});

Deno.test("redrawFrame() of a shorter frame clears what the longer one left below it", () => {
  const frame = redrawFrame(["only"], false);
  assert.ok(frame.endsWith(`only${CLEAR_LINE_END}\n${CLEAR_SCREEN_END}`));
});

Deno.test("canaryInput() asks about the other mode, and nothing when the mode is unknown", () => {
  const { figures, state } = windowOf(
    { mode: 1, chaos: 0, uptime: 10, ok: 0, failed: 0 },
    { mode: 1, chaos: 0, uptime: 40, ok: 20, failed: 0 },
  );
  assert.deepEqual(canaryInput(state, figures, 30), {
    current_mode: "canary",
    target_mode: "stable",
    window_seconds: 30,
    request_count: 20,
    error_rate_percent: 0,
    // the policy judges the bucket bound that holds the P99, not the estimate
    p99_latency_ms: figures.p99_bound_ms,
  });
  assert.equal(canaryInput({ ...state, mode: "stable" }, undefined, 30)?.["target_mode"], "canary");
  assert.equal(canaryInput({ ...state, mode: "stable" }, undefined, 30)?.["request_count"], null);
  assert.equal(canaryInput(undefined, undefined, 30), undefined);
  assert.equal(canaryInput({ ...state, mode: null }, figures, 30), undefined);
});

Deno.test("statusScrapeData() records the chaos state, the figures and the failing reasons", () => {
  const data = statusScrapeData(statusDocument(canaryFailing()));
  assert.deepEqual(data, {
    mode: "canary",
    chaos: "error",
    version: "1.0.0",
    requests_per_second: 4,
    error_rate_percent: 50,
    p99_latency_ms: data.p99_latency_ms,
    request_count: 120,
    window_seconds: 30,
    policy: { infrastructure: "PASS", canary: "FAIL" },
    reasons: [
      "Error rate 50.00% exceeds the maximum 1.00%",
      "P99 latency 990 ms exceeds the maximum 500 ms",
    ],
  });
  assert.ok(Math.abs(data.p99_latency_ms! - 990) < 1e-6);
});

Deno.test("statusScrapeData() records UNKNOWN and no chaos state when the app is unreachable", () => {
  const doc: StatusDocument = statusDocument(appUnreachable());
  assert.deepEqual(statusScrapeData(doc), {
    mode: null,
    chaos: null,
    version: null,
    requests_per_second: null,
    error_rate_percent: null,
    p99_latency_ms: null,
    request_count: null,
    window_seconds: null,
    policy: { infrastructure: "PASS", canary: "UNKNOWN" },
    reasons: [UNKNOWN_MODE_REASON],
  });
  assert.equal(doc.app.reachable, false);
  assert.match(doc.app.error ?? "", /HTTP 502/);
});

Deno.test("statusScrapeData() leaves reasons out when every policy passes", () => {
  assert.equal("reasons" in statusScrapeData(statusDocument(stablePassing())), false);
});

Deno.test("complianceOf() maps allow to PASS, deny to FAIL and an error to UNKNOWN", () => {
  assert.deepEqual(PASS, { result: "PASS", reasons: [] });
  assert.deepEqual(
    complianceOf({ allow: false, reasons: ["r"], domain: "canary", checked: {} }),
    { result: "FAIL", reasons: ["r"] },
  );
  assert.deepEqual(complianceOf({ error: "OPA timed out" }), {
    result: "UNKNOWN",
    reasons: ["OPA timed out"],
  });
});

Deno.test("renderDashboard() shows an untrustworthy count as unknown and a P99 beyond the buckets as a lower bound", () => {
  const base = stablePassing();
  const figures = {
    ...base.figures!,
    request_count: null,
    error_count: null,
    requests_per_second: null,
    error_rate_percent: null,
    p99_latency_ms: null,
    p99_bound_ms: null,
    p99_above_ms: 10000,
  };
  const doc = statusDocument({ ...base, figures });
  assert.equal(doc.window.request_count, null, "unknown is never reported as 0");
  assert.equal(doc.window.p99_above_ms, 10000);
  const same = (s: string) => s;
  const lines = renderDashboard(doc, options, {
    green: same,
    yellow: same,
    dim: same,
    bold: same,
    red: (s: string) => `<red>${s}</red>`,
  });
  assert.ok(lines.includes("  req/s       : n/a   (requests unknown)"), lines.join("\n"));
  assert.ok(lines.includes("  P99 latency : <red>above 10000 ms</red>"), lines.join("\n"));
  assert.equal(statusScrapeData(doc).p99_above_ms, 10000);
  assert.equal(statusScrapeData(doc).request_count, null);
});

Deno.test("renderDashboard() judges the P99 as the gate does: by its bucket's bound, not the interpolated figure", () => {
  const base = stablePassing();
  const limit = options.limits.maxP99;
  const inside = { ...base.figures!, p99_latency_ms: limit * 0.75, p99_bound_ms: limit * 1.25 };
  const red = (s: string) => `<red>${s}</red>`;
  const same = (s: string) => s;
  const paint = { green: same, yellow: same, dim: same, bold: same, red };
  const lines = renderDashboard(statusDocument({ ...base, figures: inside }), options, paint);
  assert.ok(lines.some((l) => l.startsWith("  P99 latency : <red>")), lines.join("\n"));
  const within = { ...inside, p99_bound_ms: limit };
  const ok = renderDashboard(statusDocument({ ...base, figures: within }), options, paint);
  assert.ok(!ok.some((l) => l.startsWith("  P99 latency : <red>")), ok.join("\n"));
});
