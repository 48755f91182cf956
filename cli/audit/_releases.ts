/**
 * The report's "Releases" rows: every history event that names an evidence
 * bundle (`data.release`, issue 15), in history order, with a link to the
 * bundle's release.json. Pure; fields are read defensively (a history
 * outlives the code that wrote it).
 */
import type { HistoryEvent } from "../history/mod.ts";

/** One release named by the history. */
export interface ReleaseRow {
  ts: string;
  /** The event that named it: deploy, deploy_failed, promote, rollout_completed, … */
  event: string;
  number: number;
  hash: string;
  status: string;
}

/** Collects the rows one event at a time. */
export function releasesBuilder(): { add(e: HistoryEvent): void; rows: ReleaseRow[] } {
  const rows: ReleaseRow[] = [];
  return {
    rows,
    add(e) {
      const r = e.data["release"] as Record<string, unknown> | undefined;
      if (!r || typeof r !== "object") return;
      const number = r["number"];
      const hash = r["hash"];
      if (typeof number !== "number" || !Number.isInteger(number) || typeof hash !== "string") {
        return;
      }
      rows.push({
        ts: e.ts,
        event: e.event,
        number,
        hash,
        status: typeof r["status"] === "string" ? r["status"] : "?",
      });
    },
  };
}
