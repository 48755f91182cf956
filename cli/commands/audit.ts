/** `swiftdeploy audit [--verify]`. */
import { join } from "node:path";
import { writeAuditReport } from "../audit/mod.ts";
import type { Context } from "./context.ts";
import {
  DETECTED,
  historyFiles,
  NOT_DETECTED,
  verifyHistory,
  type VerifyResult,
} from "../history/mod.ts";
import { loadManifest } from "../manifest/mod.ts";
import { mark } from "../term/mod.ts";
import { historyPath } from "./_shared.ts";

/**
 * `audit --verify` checks the history (every segment, the seals, the head
 * and the checkpoint beside the key) and prints the verdict, then what the
 * seals do and do not detect; exit 0 when it holds, 1 otherwise. `audit`
 * writes the report and chart and exits 1 when the history failed
 * verification (the report says why).
 */
export async function runAudit(ctx: Context, opts: { verifyOnly: boolean }): Promise<number> {
  const { term } = ctx;
  const loaded = await loadManifest(ctx.manifestArg);
  const history = historyPath(loaded);
  const name = loaded.manifest.audit.history_file;
  if (opts.verifyOnly) {
    const v = await verifyHistory(history);
    if (v.ok) {
      const files = (await historyFiles(history)).length;
      const where = files > 1 ? ` in ${files} files (${files - 1} archived segment(s))` : "";
      term.out(`${mark(term, true)} ${name}: ${v.lines} line(s)${where}, hash chain intact`);
      for (const line of verificationDetails(v)) term.out(`  ${line}`);
      return 0;
    }
    term.out(`${mark(term, false)} ${name}: ${v.message}`);
    return 1;
  }
  const result = await writeAuditReport({
    historyFile: history,
    reportFile: join(loaded.dir, loaded.manifest.audit.report_file),
    releasesDir: join(ctx.stateDir, "releases"),
  });
  term.out(
    `${
      mark(term, true)
    } wrote ${result.reportFile} and ${result.chartFile} from ${result.events} event(s)`,
  );
  if (!result.verification.ok) {
    term.out(
      `${mark(term, false)} the history failed verification: ${result.verification.message}`,
    );
    return 1;
  }
  return 0;
}

/**
 * The lines `audit --verify` prints under its verdict: the seals, the
 * checkpoint, and exactly what is and is not detected (see the history's
 * `_verify.ts` for the construction). Never names the key itself, only its
 * folder.
 */
function verificationDetails(v: VerifyResult): string[] {
  if (!v.ok) return [];
  const s = v.seals;
  const where = s.keyDir === undefined ? "no key folder set" : `key folder ${s.keyDir}`;
  if (s.sealed === 0) {
    return [
      `Seals: none (${
        v.lines === 0 ? "no lines yet" : "written before sealing"
      }); the next append seals the history (${where})`,
      "Detected: accidental damage only (edits, drops, reorders, a cut end while the head file is intact)",
      "Not detected: a deliberate rewrite: anyone can recompute an unsealed chain and its head",
    ];
  }
  const checkpoint = {
    match: `matches line ${v.lines}`,
    behind: "behind the last line (an interrupted append; the lines after it are sealed)",
    missing: "none for this path (removal of the newest lines cannot be detected here)",
  }[s.checkpoint];
  return [
    `Seals: ${s.sealed} sealed line(s) (HMAC-SHA256, ${where})` +
    (s.unsealed ? `, ${s.unsealed} unsealed from before sealing, covered by the first seal` : ""),
    `Checkpoint beside the key: ${checkpoint}`,
    `Detected: ${DETECTED}`,
    `Not detected: ${NOT_DETECTED}`,
  ];
}
