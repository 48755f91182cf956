/** `swiftdeploy audit [--verify]`. */
import { join } from "node:path";
import { verificationDetails, writeAuditReport } from "../audit/mod.ts";
import type { Context } from "../context.ts";
import { historyFiles, verifyHistory } from "../history/mod.ts";
import { loadManifest } from "../manifest/mod.ts";
import { mark } from "../term.ts";
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
