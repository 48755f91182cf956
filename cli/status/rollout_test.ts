/**
 * The rollout on the dashboard (issue 13 item 7). Golden files live in
 * tests/golden/status/rollout_*; after a deliberate change, regenerate and
 * review the diff like code:
 *
 *   UPDATE_GOLDEN=1 deno test -A cli/status/rollout_test.ts
 */
import assert from "node:assert/strict";
import type { RolloutState } from "../rollout/mod.ts";
import { createTerminal } from "../term/mod.ts";
import {
  complianceOf,
  type DashboardOptions,
  decodeVariantSample,
  durationText,
  encodeVariantSample,
  type Observation,
  RECENT_ROLLOUT_SECONDS,
  renderDashboard,
  renderRollout,
  rolloutShown,
  type RolloutStatus,
  rolloutStatus,
  rolloutStep,
  statusDocument,
  timeLeftSeconds,
  usableBaseline,
  VARIANT_BASELINE_MAX_AGE_SECONDS,
  type VariantLive,
} from "./mod.ts";

const root = new URL("../../", import.meta.url);
const golden = (name: string) => new URL(`tests/golden/status/${name}`, root);
const update = Deno.env.get("UPDATE_GOLDEN") === "1";

async function matchGolden(name: string, actual: string): Promise<void> {
  if (update) await Deno.writeTextFile(golden(name), actual);
  const expected = await Deno.readTextFile(golden(name));
  assert.equal(
    actual,
    expected,
    `${name} differs; if intended, run with UPDATE_GOLDEN=1 and review`,
  );
}

// deno-lint-ignore no-control-regex
const ESC = /\x1b\[/;
const now = new Date("2026-12-01T10:05:00Z");
const options: DashboardOptions = {
  intervalSeconds: 5,
  once: true,
  limits: { maxErrorRate: 1, maxP99: 500 },
  rolloutLimits: { maxErrorRate: 2, maxP99: 250 },
};

/** A rollout of 1.1.0 over 1.0.0 at step 3 of 6 (the first analysis), 20 s into its 30 s window. */
function progressing(): RolloutState {
  return {
    id: "20261201T100000-abcdef12",
    phase: "progressing",
    steps: [
      { weight: 10 },
      { pause_seconds: 60 },
      { analysis: { window_seconds: 30 } },
      { weight: 50 },
      { analysis: {} },
      { pause_seconds: 30 },
    ],
    step_index: 2,
    weight: 10,
    stable: {
      container: "shop-app-1111aaaa",
      address: "10.1.2.16:3000",
      version: "1.0.0",
      spec_hash: "1111aaaa" + "0".repeat(56),
    },
    canary: {
      container: "shop-app-2222bbbb",
      address: "10.1.2.17:3000",
      version: "1.1.0",
      spec_hash: "2222bbbb" + "0".repeat(56),
    },
    started_at: "2026-12-01T10:00:00Z",
    step_started_at: "2026-12-01T10:04:40Z",
    updated_at: "2026-12-01T10:04:40Z",
    analyses: [],
    analyses_failed: 0,
    analyses_inconclusive: 0,
  };
}

/** The same rollout rolled back by its first analysis: the canary failed 7.5 % of requests. */
function abortedByAnalysis(): RolloutState {
  const reasons = [
    "canary error rate 7.50% exceeds the maximum 2.00%",
    "canary error rate 7.50% exceeds stable's 0.10% by more than 1.00 points",
  ];
  return {
    ...progressing(),
    phase: "aborted",
    weight: 0,
    updated_at: "2026-12-01T10:04:12Z",
    analyses: [{
      step: 2,
      weight: 10,
      at: "2026-12-01T10:04:10Z",
      window_seconds: 30,
      outcome: "rollback",
      reasons,
      canary: { requests: 40, errors: 3, error_rate_percent: 7.5, p99_latency_ms: 50 },
      stable: { requests: 1000, errors: 1, error_rate_percent: 0.1, p99_latency_ms: 25 },
    }],
    analyses_failed: 1,
    abort: { by: "analysis", reasons, at: "2026-12-01T10:04:10Z" },
  };
}

/** 10 s at nginx: stable 90 req/s clean, the canary 10 req/s with 3 % errors and a slow tail. */
const LIVE: VariantLive = {
  seconds: 10,
  stable: { requests: 900, errors: 0, error_rate_percent: 0, p99_latency_ms: 25 },
  canary: { requests: 100, errors: 3, error_rate_percent: 3, p99_latency_ms: 500 },
};

function observation(rollout: Observation["rollout"]): Observation {
  const PASS = complianceOf({ allow: true, reasons: [], domain: "infrastructure", checked: {} });
  return {
    now,
    project: "shop",
    health: { version: "1.0.0", error: null },
    policy: { infrastructure: PASS, canary: PASS },
    ...(rollout ? { rollout } : {}),
  };
}

const shown = (doc: ReturnType<typeof statusDocument>): RolloutStatus => {
  assert.ok(doc.rollout && !("error" in doc.rollout), JSON.stringify(doc.rollout));
  return doc.rollout as RolloutStatus;
};

Deno.test("rolloutStep() numbers the current step out of the total and names its kind", () => {
  const s = progressing();
  assert.deepEqual(rolloutStep(s, 45), {
    number: 3,
    total: 6,
    kind: "analysis",
    detail: "analysis (30 s window)",
    text: "step 3/6: analysis",
  });
  assert.equal(rolloutStep({ ...s, step_index: 4 }, 45).detail, "analysis (45 s window)");
  assert.equal(rolloutStep({ ...s, step_index: 1 }, 45).text, "step 2/6: pause");
  assert.equal(rolloutStep({ ...s, step_index: 0 }, 45).detail, "weight 10 %");
  assert.deepEqual(rolloutStep({ ...s, step_index: 6 }, 45), {
    number: 7,
    total: 6,
    kind: "switch",
    detail: "full switch",
    text: "all 6 steps done: full switch",
  });
});

Deno.test("timeLeftSeconds() counts a pause or analysis from step_started_at and nothing else", () => {
  const s = progressing(); // analysis of 30 s started 20 s before `now`
  assert.equal(timeLeftSeconds(s, now, 45), 10);
  // A pause of 60 s started 20 s ago.
  assert.equal(timeLeftSeconds({ ...s, step_index: 1 }, now, 45), 40);
  // An analysis naming no window takes the manifest's default.
  assert.equal(timeLeftSeconds({ ...s, step_index: 4 }, now, 45), 25);
  // A window that ran out waits for its decision: 0, never negative.
  assert.equal(timeLeftSeconds({ ...s, step_started_at: "2026-12-01T09:00:00Z" }, now, 45), 0);
  // Not timed: a weight step, the final switch, a paused, decided or ended rollout, a bad time.
  assert.equal(timeLeftSeconds({ ...s, step_index: 0 }, now, 45), null);
  assert.equal(timeLeftSeconds({ ...s, step_index: 6 }, now, 45), null);
  for (const phase of ["paused", "completing", "aborting", "completed", "aborted"] as const) {
    assert.equal(timeLeftSeconds({ ...s, phase }, now, 45), null, phase);
  }
  assert.equal(timeLeftSeconds({ ...s, step_started_at: "soon" }, now, 45), null);
});

Deno.test("rolloutShown() shows a running rollout always and an ended one for a short while", () => {
  const ended = abortedByAnalysis(); // updated 48 s before `now`
  assert.equal(rolloutShown(progressing(), new Date("2027-01-01T00:00:00Z")), true);
  assert.equal(rolloutShown({ ...progressing(), phase: "paused" }, now), true);
  assert.equal(rolloutShown(ended, now), true);
  const later = new Date(Date.parse(ended.updated_at) + RECENT_ROLLOUT_SECONDS * 1000 + 1000);
  assert.equal(rolloutShown(ended, later), false);
  assert.equal(rolloutShown({ ...ended, phase: "completed" }, later), false);
  assert.equal(rolloutShown({ ...ended, updated_at: "yesterday" }, now), false);
});

Deno.test("rolloutStatus() splits the weight, divides each variant's requests by the interval and keeps unknown figures null", () => {
  const r = rolloutStatus({ state: progressing(), live: LIVE, defaultWindowSeconds: 45, now });
  assert.deepEqual(
    [r.weight_percent, r.stable.weight_percent, r.canary.weight_percent],
    [10, 90, 10],
  );
  assert.deepEqual([r.stable.requests_per_second, r.canary.requests_per_second], [90, 10]);
  assert.deepEqual([r.canary.error_rate_percent, r.canary.p99_latency_ms], [3, 500]);
  assert.equal(r.time_left_seconds, 10);
  assert.equal(r.live_seconds, 10);
  assert.equal(r.live_error, null);

  const unknown: VariantLive = {
    ...LIVE,
    canary: {
      requests: null,
      errors: null,
      error_rate_percent: null,
      p99_latency_ms: null,
      unknown: "nginx restarted during the interval",
    },
  };
  const u = rolloutStatus({ state: progressing(), live: unknown, defaultWindowSeconds: 45, now });
  assert.deepEqual(
    [u.canary.requests_per_second, u.canary.error_rate_percent, u.canary.p99_latency_ms],
    [null, null, null],
  );
  assert.equal(u.canary.unknown, "nginx restarted during the interval");

  const none = rolloutStatus({ state: progressing(), defaultWindowSeconds: 45, now });
  assert.equal(none.canary.requests_per_second, null);
  assert.match(none.live_error ?? "", /two reads/);
  const failed = rolloutStatus({
    state: progressing(),
    live: { error: "Cannot read nginx's variant counters: timeout" },
    defaultWindowSeconds: 45,
    now,
  });
  assert.equal(failed.live_error, "Cannot read nginx's variant counters: timeout");
  assert.equal(failed.stable.error_rate_percent, null);
});

Deno.test("rolloutStatus() carries the last analysis with its first reason, and the abort", () => {
  const r = rolloutStatus({ state: abortedByAnalysis(), defaultWindowSeconds: 45, now });
  assert.equal(r.ended, true);
  assert.deepEqual([r.stable.weight_percent, r.canary.weight_percent], [100, 0]);
  assert.equal(r.last_analysis?.outcome, "rollback");
  assert.equal(r.last_analysis?.step, 3, "1-based like the step line");
  assert.equal(r.last_analysis?.reason, "canary error rate 7.50% exceeds the maximum 2.00%");
  assert.equal(r.last_analysis?.reasons.length, 2);
  assert.equal(r.abort?.by, "analysis");
  assert.equal(r.time_left_seconds, null);
});

Deno.test("statusDocument() has no rollout key without a rollout, as before issue 13", () => {
  const doc = statusDocument(observation(undefined));
  assert.ok(!("rollout" in doc));
  assert.ok(!renderDashboard(doc, options).some((l) => l.includes("Rollout")));
});

Deno.test("statusDocument() carries the rollout block rolloutStatus() computes, for --json", () => {
  const o = { state: progressing(), live: LIVE, defaultWindowSeconds: 45, now };
  const doc = statusDocument(observation(o));
  assert.deepEqual(shown(doc), rolloutStatus(o));
  assert.equal(shown(doc).step.text, "step 3/6: analysis");
});

Deno.test("statusDocument() carries a rollout state it cannot read as an error, and the dashboard says so", () => {
  const error = "Cannot read the rollout state /x/.swiftdeploy/rollout/state.json: it is not a " +
    "rollout state";
  const doc = statusDocument(observation({ error }));
  assert.deepEqual(doc.rollout, { error });
  const lines = renderDashboard(doc, options);
  assert.ok(lines.includes(`  ! ${error}`), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("── Throughput")), "the rest still renders");
});

const goldenScenarios: [string, () => Observation][] = [
  [
    "rollout_analysis",
    () => observation({ state: progressing(), live: LIVE, defaultWindowSeconds: 45, now }),
  ],
  [
    "rollout_paused_held",
    () => {
      const s = progressing();
      const held: RolloutState = {
        ...s,
        phase: "paused",
        analyses: [{
          step: 2,
          weight: 10,
          at: "2026-12-01T10:04:40Z",
          window_seconds: 30,
          outcome: "hold",
          reasons: ["canary served 12 requests in the window, fewer than the minimum 50"],
          canary: { requests: 12, errors: 0, error_rate_percent: 0, p99_latency_ms: 25 },
          stable: { requests: 900, errors: 0, error_rate_percent: 0, p99_latency_ms: 25 },
        }],
        analyses_inconclusive: 1,
      };
      return observation({ state: held, defaultWindowSeconds: 45, now });
    },
  ],
  [
    "rollout_aborted",
    () => observation({ state: abortedByAnalysis(), defaultWindowSeconds: 45, now }),
  ],
];

for (const [name, observe] of goldenScenarios) {
  Deno.test(`renderDashboard() matches ${name}.txt when not coloured`, async () => {
    const lines = renderDashboard(statusDocument(observe()), options);
    assert.ok(!lines.some((l) => ESC.test(l)), "no escape code without a painter");
    await matchGolden(`${name}.txt`, lines.join("\n") + "\n");
  });

  Deno.test(`statusDocument() matches ${name}.json (the --json document carries the same data)`, async () => {
    const doc = statusDocument(observe());
    assert.ok(!JSON.stringify(doc).includes("\n"), "one document is one line");
    await matchGolden(`${name}.json`, JSON.stringify(doc, null, 2) + "\n");
  });
}

Deno.test("renderDashboard() shows both variants side by side with the step, the time left and the last decision", () => {
  const doc = statusDocument(
    observation({ state: progressing(), live: LIVE, defaultWindowSeconds: 45, now }),
  );
  const text = renderDashboard(doc, options).join("\n");
  assert.match(text, /step {8}: step 3\/6: analysis \(30 s window\) — 10 s left/);
  assert.match(text, /version {5}: 1\.0\.0 +1\.1\.0/);
  assert.match(text, /weight {6}: 90 % +10 %/);
  assert.match(text, /req\/s {7}: 90\.00 +10\.00/);
  assert.match(text, /error rate {2}: 0\.00% +3\.00%/);
  assert.match(text, /P99 {9}: 25 ms +500 ms/);
  assert.match(text, /analysis {4}: none yet/);
  // The columns line up: the canary column starts at the same place on every row.
  const section = text.slice(0, text.indexOf("── Throughput"));
  const rows = section.split("\n").filter((l) =>
    /^ {2}(version|container|weight|req\/s|P99) /.test(l)
  );
  const starts = rows.map((l) => l.search(/(1\.1\.0|shop-app-2222bbbb|10 %|10\.00|500 ms)$/));
  assert.equal(new Set(starts).size, 1, rows.join("\n"));
});

Deno.test("renderDashboard() colours a variant's figures by the rollout's limits, keeping the columns", () => {
  const doc = statusDocument(
    observation({ state: progressing(), live: LIVE, defaultWindowSeconds: 45, now }),
  );
  const painted = renderDashboard(doc, options, createTerminal({ color: true })).join("\n");
  // 3 % > 2 % and 500 ms > 250 ms (the rollout limits), not the canary policy's 1 % / 500 ms.
  assert.ok(painted.includes("\x1b[31m3.00%\x1b[0m"), "canary error rate over the limit is red");
  assert.ok(painted.includes("\x1b[31m500 ms\x1b[0m"), "canary P99 over the limit is red");
  assert.ok(!painted.includes("\x1b[31m0.00%"), "stable's clean figures are not red");
  // deno-lint-ignore no-control-regex
  const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");
  assert.equal(strip(painted), renderDashboard(doc, options).join("\n"));
});

Deno.test("durationText() gives seconds under a minute and minutes with padded seconds above", () => {
  assert.deepEqual([durationText(0), durationText(59), durationText(60), durationText(125)], [
    "0 s",
    "59 s",
    "1m 00s",
    "2m 05s",
  ]);
});

Deno.test("encodeVariantSample() and decodeVariantSample() keep a reading, +Inf buckets included, and refuse anything else", () => {
  const counts = {
    classes: { "1xx": 0, "2xx": 90, "3xx": 0, "4xx": 1, "5xx": 2, other: 0 },
    buckets: [{ le: 0.005, count: 50 }, { le: Infinity, count: 93 }],
    sum: 1.5,
    count: 93,
  };
  const sample = {
    atMs: 1_764_583_200_000,
    instance: "abc",
    revision: 3,
    weight: 10,
    variants: {
      stable: { ...counts, route: { address: "10.1.2.16:3000", version: "1.0.0", container: "a" } },
      canary: counts,
    },
  };
  const text = encodeVariantSample(sample);
  assert.ok(!text.includes("\n") && text.includes('"+Inf"'));
  assert.deepEqual(decodeVariantSample(text), sample);
  for (
    const bad of [
      "",
      "{",
      "null",
      "[]",
      JSON.stringify({ ...sample, atMs: "now" }),
      JSON.stringify({ ...sample, variants: { stable: counts } }),
      text.replace('"sum":1.5', '"sum":"x"'),
      text.replace('{"le":0.005,"count":50}', '{"le":"a","count":50}'),
    ]
  ) {
    assert.equal(decodeVariantSample(bad), undefined, bad);
  }
});

Deno.test("usableBaseline() takes an earlier reading up to the maximum age, never a later or older one", () => {
  const t = 1_764_583_200_000;
  assert.equal(usableBaseline(t - 5_000, t), true);
  assert.equal(usableBaseline(t - VARIANT_BASELINE_MAX_AGE_SECONDS * 1000, t), true);
  assert.equal(usableBaseline(t - VARIANT_BASELINE_MAX_AGE_SECONDS * 1000 - 1, t), false);
  assert.equal(usableBaseline(t, t), false);
  assert.equal(usableBaseline(t + 1, t), false);
});

Deno.test("renderRollout() says when no process walks a progressing rollout's steps, and only then", () => {
  const same = (s: string) => s;
  const plain = { red: same, green: same, yellow: same, dim: same, bold: same };
  const text = (driven: boolean | undefined) =>
    renderRollout(
      rolloutStatus({
        state: progressing(),
        defaultWindowSeconds: 45,
        now,
        ...(driven === undefined ? {} : { driven }),
      }),
      { maxErrorRate: 5, maxP99: 1000 },
      plain,
      (t) => t,
    ).join("\n");
  assert.match(text(false), /no process walks its steps \(`swiftdeploy rollout resume` continues/);
  assert.doesNotMatch(text(true), /no process walks/);
  assert.doesNotMatch(text(undefined), /no process walks/);
  assert.equal(rolloutStatus({ state: progressing(), defaultWindowSeconds: 45, now }).driven, null);
});
