/**
 * The I/O behind `status`'s hardening view (issue 17): the stack's
 * containers as the engine reports them (restarts, OOM kills, memory caps),
 * the logs volume's files as nginx lists them on its admin socket, and the
 * `container_oom_killed` history events for kills not recorded yet.
 */
import { join } from "node:path";
import type { Context } from "./context.ts";
import { edgeSocketPath } from "../edge/mod.ts";
import { EngineClient } from "../engine/mod.ts";
import { atomicWrite, readIfExists } from "../fs/mod.ts";
import type { LoadedManifest } from "../manifest/mod.ts";
import { unixHttpClient } from "../net/mod.ts";
import { LABEL_PROJECT, LABEL_ROLE } from "../plan/mod.ts";
import {
  type ContainerFacts,
  type LogVolume,
  logVolume,
  newOomKills,
  parseLogFiles,
} from "../status/mod.ts";
import { record } from "./_shared.ts";

/** Where the last recorded OOM kill of each container is kept (name → FinishedAt). */
const OOM_SEEN_FILE = "oom_seen.json";
const NEVER_FINISHED = "0001-01-01T00:00:00Z";

/**
 * The stack's containers (by its project label), app first; undefined when
 * the engine cannot be asked (the dashboard then leaves the block out).
 */
export async function observeContainers(
  ctx: Context,
  project: string,
): Promise<ContainerFacts[] | undefined> {
  let engine: EngineClient;
  try {
    engine = await EngineClient.connect(ctx.env);
  } catch {
    return undefined;
  }
  try {
    const out: ContainerFacts[] = [];
    for (const c of await engine.containerList([`${LABEL_PROJECT}=${project}`])) {
      const i = await engine.containerInspect(c.Id);
      if (!i) continue;
      const finished = i.State.FinishedAt ?? NEVER_FINISHED;
      out.push({
        role: i.Config.Labels[LABEL_ROLE] ?? "?",
        name: i.Name.replace(/^\//, ""),
        status: i.State.Status,
        restarts: i.RestartCount ?? 0,
        oom_killed: i.State.OOMKilled === true,
        finished_at: finished.startsWith("0001-") ? null : finished,
        memory_limit_bytes: i.HostConfig.Memory ?? 0,
      });
    }
    const order = ["app", "nginx", "opa", "prometheus"];
    return out.sort((a, b) =>
      (order.indexOf(a.role) + 1 || 99) - (order.indexOf(b.role) + 1 || 99) ||
      a.name.localeCompare(b.name)
    );
  } catch {
    return undefined;
  } finally {
    engine.close();
  }
}

/** The logs volume's files and total, from nginx's admin socket (`/log-files`). */
export async function readLogVolume(stateDir: string, timeoutMs: number): Promise<LogVolume> {
  const path = edgeSocketPath(stateDir);
  try {
    const res = await fetch("http://nginx/log-files", {
      client: unixHttpClient(path),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status !== 200) return { error: `nginx answered HTTP ${res.status}` };
    return logVolume(parseLogFiles(text));
  } catch (error) {
    return { error: ((error as Error)?.message ?? String(error)).split("\n")[0]! };
  }
}

/**
 * Appends `container_oom_killed` for every OOM kill in `facts` not recorded
 * before (see `newOomKills`), and keeps what was recorded in
 * `.swiftdeploy/oom_seen.json`. Returns how many were appended.
 */
export async function recordOomKills(
  ctx: Context,
  loaded: LoadedManifest,
  facts: readonly ContainerFacts[],
): Promise<number> {
  const file = join(ctx.stateDir, OOM_SEEN_FILE);
  let seen: Record<string, string> = {};
  try {
    const parsed = JSON.parse((await readIfExists(file)) ?? "{}");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) seen = parsed;
  } catch {
    // A damaged file: every kill the engine still reports is recorded again.
  }
  const { events, seen: next } = newOomKills(facts, seen);
  for (const e of events) await record(loaded, "container_oom_killed", e);
  if (events.length > 0 || JSON.stringify(next) !== JSON.stringify(seen)) {
    await Deno.mkdir(ctx.stateDir, { recursive: true });
    await atomicWrite(file, JSON.stringify(next) + "\n");
  }
  return events.length;
}
