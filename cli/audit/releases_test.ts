/** The audit's Releases section (issue 15): each bundle the history names, linked. */
import assert from "node:assert/strict";
import { renderAuditReport } from "./mod.ts";
import { ev, reportOptions } from "./_test_util.ts";

const opts = reportOptions("2026-12-01T11:00:00Z", 3);
const H = "a".repeat(64);
const deploy = { mode: "stable", version: "1.0.0", image: "app:1", containers: [], duration_ms: 1 };

Deno.test("renderAuditReport() links every release the history names to its bundle", () => {
  const md = renderAuditReport([
    ev("2026-12-01T10:00:00.000Z", "deploy", {
      ...deploy,
      release: { number: 1, hash: H, status: "good" },
    }),
    ev("2026-12-01T10:01:00.000Z", "deploy_failed", {
      reason: "x",
      release: { number: 2, hash: "b".repeat(64), status: "failed" },
    }),
    ev("2026-12-01T10:02:00.000Z", "deploy", { ...deploy, release: { number: "3", hash: H } }),
  ], { ...opts, releasesPath: "../state dir/releases" });
  const section = md.slice(md.indexOf("## Releases"));
  assert.match(
    section,
    /\| \[1\]\(\.\.\/state%20dir\/releases\/1\/release\.json\) \| good \| deploy \| aaaaaaaaaaaa \|/,
  );
  assert.match(
    section,
    /\| \[2\]\(\.\.\/state%20dir\/releases\/2\/release\.json\) \| failed \| deploy\\_failed \| bbbbbbbbbbbb \|/,
  );
  assert.ok(!/\| \[3\]/.test(section), "a malformed release reference is skipped");
});

Deno.test("renderAuditReport() has no Releases section for a history that names none", () => {
  const md = renderAuditReport([ev("2026-12-01T10:00:00.000Z", "deploy", deploy)], opts);
  assert.ok(!md.includes("## Releases"));
  const linked = renderAuditReport([
    ev("2026-12-01T10:00:00.000Z", "deploy", {
      ...deploy,
      release: { number: 1, hash: H, status: "good" },
    }),
  ], opts);
  assert.match(linked, /\[1\]\(\.swiftdeploy\/releases\/1\/release\.json\)/, "default folder");
});
