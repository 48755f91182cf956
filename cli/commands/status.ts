/**
 * `swiftdeploy status [--interval S] [--once] [--json]`: scrapes /metrics
 * through nginx, computes the window figures, asks both policies, draws the
 * dashboard (or prints one JSON document per refresh) and appends every
 * scrape to the history, with the chaos state it saw. While a rollout runs
 * (and shortly after it ended) the dashboard also shows both variants side
 * by side from nginx's per-variant counters (see `observeRollout`).
 *
 * On a terminal the dashboard is redrawn in place (cursor home, each line
 * overwritten; the screen is cleared only before the first frame), coloured
 * unless NO_COLOR or --no-color; elsewhere each refresh is printed plainly.
 * An unreachable app, policy engine or host figure shows UNKNOWN and the
 * dashboard keeps running until Ctrl+C (or SIGTERM), which exits 0.
 */
import { join } from "node:path";
import type { Context } from "./context.ts";
import {
  keptEdgeNear,
  readAndKeepEdge,
  readVariantSample,
  type VariantSample,
  variantWindow,
} from "../edge/mod.ts";
import { EngineClient } from "../engine/mod.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { atomicWrite, readIfExists } from "../fs/mod.ts";
import { generate } from "../generate/mod.ts";
import type { ChaosState } from "../history/mod.ts";
import { localDataRoot, readHostFigures } from "../host/mod.ts";
import { type LoadedManifest, loadManifest, targetOf } from "../manifest/mod.ts";
import {
  BASELINE_MAX_AGE_RATIO,
  computeWindow,
  pickBaseline,
  type Scrape,
  snapshotFigures,
  type WindowFigures,
} from "../metrics/mod.ts";
import type { Domain, PolicyEvaluator } from "../policy/mod.ts";
import { driverAlive, readRolloutState } from "../rollout/mod.ts";
import { loadKept, scrapeAndKeep, scrapesDir } from "../scrapes/mod.ts";
import {
  canaryInput,
  complianceOf,
  decodeVariantSample,
  type DomainStatus,
  encodeVariantSample,
  type Observation,
  redrawFrame,
  renderDashboard,
  rolloutShown,
  SHOW_CURSOR,
  type StatusDocument,
  statusDocument,
  statusScrapeData,
  UNKNOWN_MODE_REASON,
  usableBaseline,
  VARIANT_KEEP_FILE,
  type VariantLive,
} from "../status/mod.ts";
import { nginxUrl, openEvaluator, record } from "./_shared.ts";
import { observeContainers, readLogVolume, recordOomKills } from "./_hardening_status.ts";

const SCRAPE_TIMEOUT_MS = 5000;
const HEALTH_TIMEOUT_MS = 3000;

const firstLine = (error: unknown, fallback: string) =>
  ((error as Error)?.message ?? String(error)).split("\n")[0] || fallback;

/** The path whose free disk the infrastructure policy judges, or why there is none. */
interface DiskSource {
  /** The engine's data root on this host; null when unknown (the figure is then null). */
  path: string | null;
  /** Shown as a warning when `path` is null. */
  note?: string;
}

/**
 * Asks the engine for its data root. An engine that cannot be reached or
 * used, or whose data root is not on this host, gives `path: null`: the
 * policy then judges a missing disk figure, never the disk of "/" instead.
 */
async function diskSource(ctx: Context): Promise<DiskSource> {
  const unknown = (why: string): DiskSource => ({ path: null, note: `disk free unknown: ${why}` });
  let engine: EngineClient;
  try {
    engine = await EngineClient.connect(ctx.env);
  } catch (error) {
    return unknown(firstLine(error, "the Docker Engine did not answer"));
  }
  try {
    const root = (await engine.info()).DockerRootDir;
    const path = localDataRoot(engine.endpoint, root);
    return path !== null ? { path } : unknown(
      `the engine's data root "${root}" is not on this host (${engine.endpoint.label})`,
    );
  } catch (error) {
    return unknown(firstLine(error, "the Docker Engine did not say its data root"));
  } finally {
    engine.close();
  }
}

/** The rollout's pin header set to `never`: nginx sends the request to stable. */
function stablePin(loaded: LoadedManifest): Record<string, string> {
  return { [loaded.manifest.rollout.routing.header]: "never" };
}

async function healthOf(
  loaded: LoadedManifest,
): Promise<{ version: string | null; error: string | null }> {
  try {
    const res = await fetch(nginxUrl(loaded, "/healthz"), {
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
      headers: stablePin(loaded),
    });
    const text = await res.text();
    if (res.status !== 200) return { version: null, error: `/healthz answered HTTP ${res.status}` };
    return { version: (JSON.parse(text) as { version?: string }).version ?? null, error: null };
  } catch (error) {
    return { version: null, error: firstLine(error, "/healthz did not answer") };
  }
}

/**
 * The rollout to show, if any: the persisted state (cli/rollout), shown
 * while it runs and for a short while after it ended (`rolloutShown`); a
 * state that cannot be read is shown as that error, never thrown. While it
 * runs, each variant's figures come from nginx's per-variant counters read
 * now against the previous reading (this process's last one, else the one
 * the last `status` kept, when recent enough), diffed by cli/edge's
 * `variantWindow`; every reading is kept for the next refresh.
 */
async function observeRollout(
  ctx: Context,
  loaded: LoadedManifest,
  previous: VariantSample | undefined,
  now: Date,
): Promise<{ rollout?: Observation["rollout"]; sample?: VariantSample }> {
  let state;
  try {
    state = await readRolloutState(ctx.stateDir);
  } catch (error) {
    return { rollout: { error: firstLine(error, "the rollout state cannot be read") } };
  }
  if (!state || !rolloutShown(state, now)) return {};
  const defaultWindowSeconds = loaded.manifest.rollout.analysis.window_seconds;
  const driven = await driverAlive(ctx.stateDir).catch(() => undefined);
  if (state.phase === "completed" || state.phase === "aborted") {
    return {
      rollout: { state, defaultWindowSeconds, now, ...(driven === undefined ? {} : { driven }) },
    };
  }
  let sample: VariantSample;
  try {
    sample = await readVariantSample(ctx.stateDir, { timeoutMs: SCRAPE_TIMEOUT_MS });
  } catch (error) {
    return {
      rollout: {
        state,
        defaultWindowSeconds,
        now,
        ...(driven === undefined ? {} : { driven }),
        live: { error: firstLine(error, "nginx's per-variant counters did not answer") },
      },
    };
  }
  const keep = join(ctx.stateDir, VARIANT_KEEP_FILE);
  const base = previous ??
    decodeVariantSample((await readIfExists(keep).catch(() => undefined)) ?? "");
  await atomicWrite(keep, encodeVariantSample(sample) + "\n").catch(() => {});
  let live: VariantLive | undefined;
  if (base && usableBaseline(base.atMs, sample.atMs)) {
    const w = variantWindow(base, sample);
    live = { seconds: (sample.atMs - base.atMs) / 1000, canary: w.canary, stable: w.stable };
  }
  return {
    rollout: {
      state,
      defaultWindowSeconds,
      now,
      ...(driven === undefined ? {} : { driven }),
      ...(live ? { live } : {}),
    },
    sample,
  };
}

/** One refresh: everything the dashboard shows, as data. Never throws for an unreachable app or policy engine. */
async function refresh(
  ctx: Context,
  loaded: LoadedManifest,
  evaluator: PolicyEvaluator | { error: string },
  root: string | null,
  previous: Scrape | undefined,
  previousVariants: VariantSample | undefined,
): Promise<{ doc: StatusDocument; scrape?: Scrape; variants?: VariantSample }> {
  const m = loaded.manifest;
  const windowSeconds = m.policy_limits.canary.window_seconds;
  const dir = scrapesDir(ctx.stateDir);
  let scrape: Scrape | undefined;
  let scrapeError: string | undefined;
  try {
    // Pinned to stable: during a rollout nginx splits, and one app's counters
    // must not be diffed against the other's (the variants get their own rows).
    scrape = await scrapeAndKeep(
      nginxUrl(loaded, "/metrics"),
      dir,
      SCRAPE_TIMEOUT_MS,
      stablePin(loaded),
    );
  } catch (error) {
    scrapeError = firstLine(error, "/metrics did not answer");
  }
  const health = await healthOf(loaded);
  let figures: WindowFigures | undefined;
  if (scrape) {
    const kept = await loadKept(
      dir,
      scrape.at - windowSeconds * 1000 * BASELINE_MAX_AGE_RATIO,
      scrape.at - 1,
    ).catch(() => []);
    const baseline = pickBaseline(kept, scrape.at, windowSeconds) ?? previous;
    // What clients got at nginx, as the promotion gate counts it, when both
    // ends of the window have an edge reading; otherwise the app's own counts.
    const edgeNow = await readAndKeepEdge(ctx.stateDir, SCRAPE_TIMEOUT_MS).catch(() => undefined);
    const edgeThen = baseline && edgeNow
      ? await keptEdgeNear(ctx.stateDir, baseline.at).catch(() => undefined)
      : undefined;
    const edge = edgeThen && edgeNow ? { edge: [edgeThen, edgeNow] } : {};
    figures = baseline ? computeWindow(baseline, scrape, edge) : snapshotFigures(scrape);
  }
  const state = scrape?.state;

  const decide = async (domain: Domain, input: () => Promise<unknown>): Promise<DomainStatus> => {
    if ("error" in evaluator) return complianceOf(evaluator);
    try {
      return complianceOf(await evaluator.evaluate(domain, await input()));
    } catch (error) {
      return complianceOf({ error: firstLine(error, "policy engine failed") });
    }
  };
  const infrastructure = await decide("infrastructure", () => readHostFigures(root));
  const canaryIn = canaryInput(state, figures, windowSeconds);
  const canary = canaryIn === undefined
    ? complianceOf({ error: UNKNOWN_MODE_REASON })
    : await decide("canary", () => Promise.resolve(canaryIn));

  // Restarts, OOM kills and the logs volume (issue 17).
  const containers = await observeContainers(ctx, m.project);
  const logs = containers === undefined
    ? undefined
    : await readLogVolume(ctx.stateDir, SCRAPE_TIMEOUT_MS);
  const now = new Date();
  const { rollout, sample } = await observeRollout(ctx, loaded, previousVariants, now);
  const doc = statusDocument({
    now,
    project: m.project,
    ...(state ? { state } : {}),
    ...(figures ? { figures } : {}),
    ...(scrapeError !== undefined ? { scrapeError } : {}),
    health,
    policy: { infrastructure, canary },
    ...(rollout ? { rollout } : {}),
    ...(containers ? { containers } : {}),
    ...(logs ? { logs } : {}),
  });
  return { doc, ...(scrape ? { scrape } : {}), ...(sample ? { variants: sample } : {}) };
}

/** Records a chaos_change when the chaos state differs from the last one seen. */
async function noteChaos(
  ctx: Context,
  loaded: LoadedManifest,
  chaos: ChaosState | null,
): Promise<void> {
  if (chaos === null) return;
  const file = join(ctx.stateDir, "last_chaos");
  const last = (await readIfExists(file))?.trim() ?? "none";
  if (last === chaos) return;
  await record(loaded, "chaos_change", { mode: chaos === "none" ? "recover" : chaos });
  await Deno.mkdir(ctx.stateDir, { recursive: true });
  await atomicWrite(file, chaos);
}

export async function runStatus(
  ctx: Context,
  opts: { intervalSeconds: number; once: boolean; json: boolean },
): Promise<number> {
  const { term } = ctx;
  const loaded = await loadManifest(ctx.manifestArg);
  const m = loaded.manifest;
  if (targetOf(m) === "swarm") {
    // Services and tasks per node from the manager (DOCKER_HOST, else the lab's).
    const { swarmContext, swarmStatus } = await import("./swarm.ts");
    return await swarmStatus(await swarmContext(ctx), loaded, { json: opts.json });
  }
  const { files } = await generate(ctx, loaded);
  let evaluator: PolicyEvaluator | { error: string };
  try {
    evaluator = await openEvaluator(ctx, loaded, files["policy_data.json"]);
  } catch (error) {
    evaluator = { error: firstLine(error, "no policy engine") };
  }
  let disk = await diskSource(ctx);
  // Redrawing in place is a terminal matter, not a colour one: it happens on a
  // TTY even with NO_COLOR (the Terminal decides the colours).
  const live = !opts.once && !opts.json && Deno.stdout.isTerminal();
  const enc = new TextEncoder();

  let stop = false;
  let wake = () => {};
  const onSignal = () => {
    stop = true;
    wake();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  if (!opts.once) { for (const s of signals) Deno.addSignalListener(s, onSignal); }

  let previous: Scrape | undefined;
  let previousVariants: VariantSample | undefined;
  let first = true;
  let historyFailed = false;
  try {
    while (!stop) {
      const started = Date.now();
      // An engine that was not there may have come up since the last refresh.
      if (disk.path === null && !first) disk = await diskSource(ctx);
      const { doc, scrape, variants } = await refresh(
        ctx,
        loaded,
        evaluator,
        disk.path,
        previous,
        previousVariants,
      );
      if (scrape) previous = scrape;
      if (variants) previousVariants = variants;
      const warnings: string[] = disk.note !== undefined ? [disk.note] : [];
      try {
        await record(loaded, "status_scrape", statusScrapeData(doc));
        await noteChaos(ctx, loaded, doc.chaos);
        if (doc.containers) await recordOomKills(ctx, loaded, doc.containers);
      } catch (error) {
        historyFailed = true;
        const message = firstLine(error, "unknown error");
        warnings.push(
          error instanceof SwiftDeployError ? message : `Cannot append to the history: ${message}`,
        );
      }
      if (opts.json) {
        term.out(JSON.stringify(doc));
        for (const w of warnings) term.err(`warning: ${w}`);
      } else {
        const lines = renderDashboard(doc, {
          intervalSeconds: opts.intervalSeconds,
          once: opts.once,
          limits: {
            maxErrorRate: m.policy_limits.canary.max_error_rate_percent,
            maxP99: m.policy_limits.canary.max_p99_latency_ms,
          },
          rolloutLimits: {
            maxErrorRate: m.rollout.analysis.max_error_rate_percent,
            maxP99: m.rollout.analysis.max_p99_latency_ms,
          },
          warnings,
        }, term);
        if (live) Deno.stdout.writeSync(enc.encode(redrawFrame(lines, first)));
        else {
          if (!first) term.out();
          for (const l of lines) term.out(l);
        }
      }
      first = false;
      if (opts.once) break;
      const wait = started + opts.intervalSeconds * 1000 - Date.now();
      if (!stop && wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = () => {};
      }
    }
  } finally {
    if (!opts.once) { for (const s of signals) Deno.removeSignalListener(s, onSignal); }
    if (live && !first) Deno.stdout.writeSync(enc.encode(SHOW_CURSOR));
    if ("close" in evaluator) evaluator.close?.();
  }
  return historyFailed ? 1 : 0;
}
