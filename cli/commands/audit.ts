/** `swiftdeploy audit [--verify]`. */
import { join } from "node:path";
import { writeAuditReport } from "../audit/mod.ts";
import type { Context } from "../context.ts";
import { verifyHistory } from "../history/mod.ts";
import { loadManifest } from "../manifest/mod.ts";
import { mark } from "../term.ts";
import { historyPath } from "./_shared.ts";

export async function runAudit(ctx: Context, opts: { verifyOnly: boolean }): Promise<number> {
  const { term } = ctx;
  const loaded = await loadManifest(ctx.manifestArg);
  const history = historyPath(loaded);
  if (opts.verifyOnly) {
    const v = await verifyHistory(history);
    if (v.ok) {
      term.out(
        `${
          mark(term, true)
        } ${loaded.manifest.audit.history_file}: ${v.lines} line(s), hash chain intact`,
      );
      return 0;
    }
    term.out(`${mark(term, false)} ${loaded.manifest.audit.history_file}: ${v.message}`);
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
