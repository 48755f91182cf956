import assert from "node:assert/strict";
import { escapeCell, NO_EVENTS, renderAuditReport } from "./mod.ts";
import { ev, reportOptions, tables } from "./_test_util.ts";

const opts = reportOptions("2026-11-21T13:00:00Z", 3);

const tricky = "Bad | pipe and `code` <b>bold</b> & *star* \\ back\nsecond line";

function story() {
  return [
    ev("11:58:00", "deploy_blocked", {
      decision: { allow: false, reasons: [tricky], domain: "infrastructure", checked: {} },
    }),
    ev("12:00:00", "deploy", {
      mode: "stable",
      version: "1.0.0",
      image: "img|1",
      containers: ["a"],
      duration_ms: 900,
    }),
    ev("12:01:00", "promote", { from: "stable", to: "canary", duration_ms: 1500 }),
    ev("12:02:00", "chaos_change", { mode: "error", rate: 0.25 }),
    ev("12:03:00", "promote_blocked", {
      from: "canary",
      to: "stable",
      decision: {
        allow: false,
        reasons: ["Error rate 30.00% exceeds the maximum 1.00%"],
        domain: "canary",
        checked: {
          error_rate_percent: { value: 30, max: 1, ok: false },
          p99_latency_ms: { value: 12, max: 500, ok: true },
        },
      },
    }),
    ev("12:03:01", "policy_violation", {
      domain: "canary",
      reasons: ["Error rate 30.00% exceeds the maximum 1.00%"],
      error_rate_percent: 30,
      p99_latency_ms: 12,
    }),
    ev("12:04:00", "chaos_change", { mode: "recover" }),
    ev("12:05:00", "promote", { from: "canary", to: "stable", duration_ms: 1200 }),
  ];
}

Deno.test("escapeCell() escapes pipes, backticks, HTML and newlines", () => {
  assert.equal(
    escapeCell(tricky),
    "Bad \\| pipe and \\`code\\` &lt;b&gt;bold&lt;/b&gt; &amp; \\*star\\* \\\\ back<br>second line",
  );
});

Deno.test("renderAuditReport() writes tables with one column count each and escaped cells", () => {
  const md = renderAuditReport(story(), opts);
  const all = tables(md);
  assert.equal(all.length, 3); // summary, timeline, violations
  for (const t of all) {
    const width = t[0]!.length;
    t.forEach((row, i) =>
      assert.equal(row.length, width, `row ${i} of a ${width}-column table: ${row.join(" | ")}`)
    );
    assert.ok(t[1]!.every((c) => /^-{3,}:?$/.test(c)), "separator row");
  }
  // The tricky reason stays in its cell, escaped, on one line.
  assert.ok(md.includes("Bad \\| pipe and \\`code\\` &lt;b&gt;bold&lt;/b&gt;"));
  assert.ok(!md.includes("`code`"));
  assert.ok(md.includes("img\\|1"));
});

Deno.test("renderAuditReport() summarises the period, counts and current mode", () => {
  const md = renderAuditReport(story(), opts);
  const summary = Object.fromEntries(tables(md)[0]!.slice(2).map(([k, v]) => [k, v]));
  assert.equal(summary["Period"], "2026-11-21 11:58:00 → 2026-11-21 12:05:00");
  assert.equal(summary["Events"], "8");
  assert.equal(summary["Deploys"], "1");
  assert.equal(summary["Promotions"], "2");
  assert.equal(summary["Blocked by policy"], "2");
  assert.equal(summary["Policy violations"], "2 (1 deploy blocked, 1 promote blocked)");
  assert.equal(summary["Current mode"], "stable (since the promote at 2026-11-21 12:05:00)");
  assert.match(summary["History chain"] ?? "", /^Verified: 3 lines/);
});

Deno.test("renderAuditReport() lists deploys, mode changes and chaos in the timeline", () => {
  const timeline = tables(renderAuditReport(story(), opts))[1]!.slice(2);
  assert.deepEqual(timeline.map((r) => [r[1], r[2]]), [
    ["Deploy blocked", "—"],
    ["Deploy", "— → stable"],
    ["Promote", "stable → canary"],
    ["Chaos injected", "canary"],
    ["Promote blocked", "canary (stays; stable refused)"],
    ["Chaos recovered", "canary"],
    ["Promote", "canary → stable"],
  ]);
  assert.equal(timeline[3]![3], "error: 25% of requests fail");
});

Deno.test("renderAuditReport() merges a policy violation into the blocked promotion it accompanies", () => {
  const rows = tables(renderAuditReport(story(), opts))[2]!.slice(2);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[1], [
    "2026-11-21 12:03:00",
    "promote blocked",
    "canary",
    "Error rate 30.00% exceeds the maximum 1.00%",
    "30.00%",
    "12.0 ms",
  ]);
});

Deno.test("renderAuditReport() reads the figures of lean and older decisions alike", () => {
  const blocked = (ts: string, checked: Record<string, unknown>) =>
    ev(ts, "promote_blocked", {
      from: "canary",
      to: "stable",
      decision: { allow: false, reasons: ["r"], domain: "canary", checked },
    });
  const rows = tables(renderAuditReport([
    // As decided since 2026-11-22: each judged figure as given.
    blocked("12:00:00", { outcome: "denied", error_rate_percent: 56.45, p99_latency_ms: 612.3 }),
    // As recorded before: `{ value, max, ok }` per figure.
    blocked("12:00:30", {
      error_rate_percent: { value: 2, max: 1, ok: false },
      p99_latency_ms: { value: 7, max: 500, ok: true },
    }),
    // Not gathered.
    blocked("12:01:00", { outcome: "denied", error_rate_percent: null, p99_latency_ms: null }),
  ], opts)).at(-1)!.slice(2);
  assert.deepEqual(rows.map((r) => r.slice(4)), [
    ["56.45%", "612 ms"],
    ["2.00%", "7.00 ms"],
    ["—", "—"],
  ]);
});

Deno.test("renderAuditReport() lists failing status checks, a run of them as one row", () => {
  const fail = (ts: string, err: number, p99: number) =>
    ev(ts, "status_scrape", {
      error_rate_percent: err,
      p99_latency_ms: p99,
      policy: { infrastructure: "PASS", canary: "FAIL" },
      reasons: [`Error rate ${err.toFixed(2)}% exceeds the maximum 1.00%`],
    });
  const pass = (ts: string) =>
    ev(ts, "status_scrape", {
      error_rate_percent: 0,
      p99_latency_ms: 3,
      policy: { infrastructure: "PASS", canary: "PASS" },
    });
  const rows = tables(renderAuditReport([
    fail("12:00:00", 10, 5),
    fail("12:00:05", 30, 4),
    fail("12:00:10", 20, 6),
    pass("12:00:15"),
    fail("12:00:20", 2, 3),
  ], opts)).at(-1)!.slice(2);
  assert.deepEqual(rows, [
    [
      "2026-11-21 12:00:00 → 12:00:10",
      "status check ×3 (latest reasons, worst figures)",
      "canary",
      "Error rate 20.00% exceeds the maximum 1.00%",
      "30.00%",
      "6.00 ms",
    ],
    [
      "2026-11-21 12:00:20",
      "status check",
      "canary",
      "Error rate 2.00% exceeds the maximum 1.00%",
      "2.00%",
      "3.00 ms",
    ],
  ]);
});

Deno.test("renderAuditReport() says no events recorded yet for an empty history", () => {
  const md = renderAuditReport([], {
    ...opts,
    verification: {
      ok: true,
      lines: 0,
      head: "missing",
      files: 1,
      seals: { sealed: 0, unsealed: 0, checkpoint: "missing" },
    },
  });
  assert.ok(md.includes(`**${NO_EVENTS}**`));
  assert.ok(md.includes("![Error rate and P99 latency over time](audit_report.svg)"));
  const summary = tables(md)[0]!;
  assert.equal(tables(md).length, 1);
  assert.deepEqual(summary[2], ["Period", "—"]);
});

Deno.test("renderAuditReport() shows a failed chain verification and unreadable lines", () => {
  const md = renderAuditReport(story(), {
    ...opts,
    verification: {
      ok: false,
      line: 4,
      problem: "edited",
      message: "Line 4 was edited: x",
      lines: 9,
    },
    malformedLines: [7],
  });
  const summary = Object.fromEntries(tables(md)[0]!.slice(2).map(([k, v]) => [k, v]));
  assert.equal(summary["History chain"], "FAILED: Line 4 was edited: x");
  assert.equal(summary["Unreadable lines"], "1 skipped: 7");
});

Deno.test("renderAuditReport() reads event data defensively", () => {
  const md = renderAuditReport([
    ev("12:00:00", "deploy", {}),
    ev("12:00:01", "promote_blocked", { decision: "nonsense" }),
    ev("12:00:02", "status_scrape", { policy: { canary: "FAIL" }, error_rate_percent: "high" }),
    ev("12:00:03", "teardown", { removed: "all" }),
  ], opts);
  const [, timeline, violations] = tables(md);
  assert.deepEqual(timeline?.slice(2).map((r) => r.slice(1)), [
    ["Deploy", "— → unknown", ""],
    ["Promote blocked", "unknown (stays; unknown refused)", "unknown policy: no reason given"],
    ["Teardown", "unknown → —", "generated files kept, removed all"],
  ]);
  assert.deepEqual(violations?.slice(2), [
    ["2026-11-21 12:00:01", "promote blocked", "unknown", "—", "—", "—"],
    ["2026-11-21 12:00:02", "status check", "canary", "—", "—", "—"],
  ]);
  assert.ok(md.includes("| Current mode | unknown (no deploy or promotion recorded) |"));
});

Deno.test("renderAuditReport() percent-encodes the chart link", () => {
  const md = renderAuditReport([], { ...opts, chartFileName: "charts/audit (1).svg" });
  assert.ok(
    md.includes("](charts/audit%20(1).svg)") || md.includes("](charts/audit%20%281%29.svg)"),
  );
});

Deno.test("renderAuditReport() says Rollback to release N for a rollback's deploy (and a no-op one), never Deploy", () => {
  const md = renderAuditReport([
    ev("12:00:00", "deploy", { mode: "stable", version: "1.0.0", containers: ["a"] }),
    ev("12:01:00", "deploy", { mode: "stable", version: "2.0.0", containers: ["b"] }),
    ev("12:02:00", "deploy", {
      mode: "stable",
      version: "1.0.0",
      containers: ["c"],
      kind: "rollback",
      rollback_of: 1,
      release: { number: 3, hash: "c".repeat(64), status: "good" },
    }),
    ev("12:03:00", "deploy_noop", { mode: "stable", version: "1.0.0", rollback_of: 1 }),
  ], opts);
  const timeline = md.split("## Timeline")[1]!.split("\n## ")[0]!;
  const rows = timeline.split("\n").filter((l) => l.startsWith("| 2026"));
  assert.equal(rows.length, 4);
  assert.match(rows[0]!, /\| Deploy \|/);
  assert.match(rows[1]!, /\| Deploy \|/);
  assert.match(rows[2]!, /\| Rollback to release 1 \| stable \| version 1\.0\.0/);
  assert.match(rows[3]!, /\| Rollback to release 1 \(no change\) \|/);
  assert.match(md, /rollback/i);
});

Deno.test("renderAuditReport() names a named actor (token:…, webhook:…) on its timeline row, not the shell's user", () => {
  const withActor = (e: ReturnType<typeof ev>, user: string) => ({
    ...e,
    actor: { user, host: "h", pid: 2 },
  });
  const md = renderAuditReport([
    ev("12:00:00", "deploy", { mode: "stable", version: "1.0.0", containers: ["a"] }),
    withActor(ev("12:01:00", "promote", { from: "stable", to: "canary" }), "token:ci"),
    withActor(
      ev("12:02:00", "deploy", { mode: "canary", version: "2.0.0", containers: ["b"] }),
      "webhook:gh-main",
    ),
  ], opts);
  const rows = md.split("## Timeline")[1]!.split("\n").filter((l) => l.startsWith("| 2026"));
  assert.doesNotMatch(rows[0]!, /by /);
  assert.match(rows[1]!, /by token:ci \|$/);
  assert.match(rows[2]!, /by webhook:gh-main \|$/);
});

Deno.test("renderAuditReport() counts one blocked deploy (deploy_blocked + its policy_violation line) as one violation and says of which kind", () => {
  const reasons = ["Disk free 3.2 GB below minimum 10 GB"];
  const md = renderAuditReport([
    ev("12:00:00", "deploy_blocked", {
      decision: { allow: false, domain: "infrastructure", reasons, checked: { disk_free_gb: 3.2 } },
      release: { number: 1, hash: "a".repeat(64), status: "blocked" },
    }),
    ev("12:00:00", "policy_violation", { domain: "infrastructure", reasons, disk_free_gb: 3.2 }),
  ], opts);
  assert.match(md, /\| Policy violations \| 1 \(1 deploy blocked\) \|/);
});
