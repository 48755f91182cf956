/**
 * `swiftdeploy status [--interval S] [--once] [--json]`: scrapes /metrics
 * through nginx, computes the window figures, asks both policies, draws the
 * dashboard (or prints one JSON document per refresh) and appends every
 * scrape to the history. An unreachable app or policy engine shows UNKNOWN
 * and the dashboard keeps running.
 */
import { join } from "node:path";
import type { Context } from "../context.ts";
import { EngineClient } from "../engine/mod.ts";
import { atomicWrite, readIfExists } from "../fsutil.ts";
import { generate } from "../generate.ts";
import type { ChaosState } from "../history/mod.ts";
import { readHostFigures } from "../host/mod.ts";
import { type LoadedManifest, loadManifest } from "../manifest/mod.ts";
import {
  BASELINE_MAX_AGE_RATIO,
  computeWindow,
  pickBaseline,
  readAppState,
  type Scrape,
  snapshotFigures,
  type WindowFigures,
} from "../metrics/mod.ts";
import type { PolicyEvaluator } from "../policy/mod.ts";
import { loadKept, scrapeAndKeep, scrapesDir } from "../scrapes/mod.ts";
import { complianceOf, redrawFrame, renderDashboard, type StatusDocument } from "../status/mod.ts";
import { nginxUrl, openEvaluator, record } from "./_shared.ts";

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d+Z$/, "Z");

async function dataRoot(ctx: Context): Promise<string> {
  try {
    const engine = await EngineClient.connect(ctx.env);
    try {
      return (await engine.info()).DockerRootDir;
    } finally {
      engine.close();
    }
  } catch {
    return "/";
  }
}

async function healthOf(
  loaded: LoadedManifest,
): Promise<{ version: string | null; error: string | null }> {
  try {
    const res = await fetch(nginxUrl(loaded, "/healthz"), { signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    if (res.status !== 200) return { version: null, error: `/healthz answered HTTP ${res.status}` };
    return { version: (JSON.parse(text) as { version?: string }).version ?? null, error: null };
  } catch (error) {
    return { version: null, error: (error as Error).message };
  }
}

/** One refresh: everything the dashboard shows, as data. */
async function refresh(
  ctx: Context,
  loaded: LoadedManifest,
  evaluator: PolicyEvaluator | { error: string },
  root: string,
  previous: Scrape | undefined,
): Promise<{ doc: StatusDocument; scrape?: Scrape }> {
  const m = loaded.manifest;
  const windowSeconds = m.policy_limits.canary.window_seconds;
  const dir = scrapesDir(ctx.stateDir);
  let scrape: Scrape | undefined;
  let appError: string | null = null;
  try {
    scrape = await scrapeAndKeep(nginxUrl(loaded, "/metrics"), dir, 5000);
  } catch (error) {
    appError = (error as Error).message;
  }
  const health = await healthOf(loaded);
  let figures: WindowFigures | undefined;
  if (scrape) {
    const kept = await loadKept(
      dir,
      scrape.at - windowSeconds * 1000 * BASELINE_MAX_AGE_RATIO,
      scrape.at - 1,
    );
    const baseline = pickBaseline(kept, scrape.at, windowSeconds) ?? previous;
    figures = baseline ? computeWindow(baseline, scrape) : snapshotFigures(scrape);
  }
  const state = scrape
    ? readAppState(scrape.series)
    : { mode: null, chaos: null, uptime_seconds: null };

  const decide = async (domain: "infrastructure" | "canary", input: unknown) => {
    if ("error" in evaluator) return complianceOf(evaluator);
    try {
      return complianceOf(await evaluator.evaluate(domain, input));
    } catch (error) {
      return complianceOf({
        error: (error as Error).message.split("\n")[0] ?? "policy engine failed",
      });
    }
  };
  const infrastructure = await decide("infrastructure", await readHostFigures(root));
  const canary = state.mode === null
    ? complianceOf({ error: "the app's mode is unknown (no metrics)" })
    : await decide("canary", {
      current_mode: state.mode,
      target_mode: state.mode === "canary" ? "stable" : "canary",
      window_seconds: windowSeconds,
      request_count: figures?.request_count ?? null,
      error_rate_percent: figures?.error_rate_percent ?? null,
      p99_latency_ms: figures?.p99_latency_ms ?? null,
    });
  const doc: StatusDocument = {
    timestamp: isoSeconds(new Date()),
    project: m.project,
    app: { reachable: scrape !== undefined, error: appError ?? health.error },
    mode: state.mode,
    chaos: state.chaos,
    version: health.version,
    uptime_seconds: state.uptime_seconds,
    window: {
      basis: figures?.basis ?? null,
      seconds: figures?.seconds ?? null,
      request_count: figures?.request_count ?? 0,
      requests_per_second: figures?.requests_per_second ?? null,
      error_rate_percent: figures?.error_rate_percent ?? null,
      p99_latency_ms: figures?.p99_latency_ms ?? null,
      reset: figures?.reset ?? false,
    },
    policy: { infrastructure, canary },
  };
  return scrape ? { doc, scrape } : { doc };
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
  const loaded = await loadManifest(ctx.manifestPath);
  const m = loaded.manifest;
  const { files } = await generate(ctx, loaded);
  let evaluator: PolicyEvaluator | { error: string };
  try {
    evaluator = await openEvaluator(ctx, loaded, files["policy_data.json"]);
  } catch (error) {
    evaluator = { error: (error as Error).message.split("\n")[0] ?? "no policy engine" };
  }
  const root = await dataRoot(ctx);
  const live = !opts.once && !opts.json && term.color;
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  if (!opts.once) Deno.addSignalListener("SIGINT", onSignal);
  let previous: Scrape | undefined;
  let first = true;
  try {
    while (!stop) {
      const { doc, scrape } = await refresh(ctx, loaded, evaluator, root, previous);
      if (scrape) previous = scrape;
      const reasons = [...doc.policy.infrastructure.reasons, ...doc.policy.canary.reasons];
      await record(loaded, "status_scrape", {
        mode: doc.mode,
        chaos: doc.chaos,
        version: doc.version,
        requests_per_second: doc.window.requests_per_second,
        error_rate_percent: doc.window.error_rate_percent,
        p99_latency_ms: doc.window.p99_latency_ms,
        request_count: doc.window.request_count,
        window_seconds: doc.window.seconds,
        policy: {
          infrastructure: doc.policy.infrastructure.result,
          canary: doc.policy.canary.result,
        },
        ...(reasons.length ? { reasons } : {}),
      });
      await noteChaos(ctx, loaded, doc.chaos);
      if (opts.json) {
        term.out(JSON.stringify(doc));
      } else {
        const lines = renderDashboard(doc, {
          intervalSeconds: opts.intervalSeconds,
          once: opts.once,
          limits: {
            maxErrorRate: m.policy_limits.canary.max_error_rate_percent,
            maxP99: m.policy_limits.canary.max_p99_latency_ms,
          },
        }, term);
        if (live) Deno.stdout.writeSync(new TextEncoder().encode(redrawFrame(lines, first)));
        else for (const l of lines) term.out(l);
      }
      first = false;
      if (opts.once) break;
      const until = Date.now() + opts.intervalSeconds * 1000;
      while (!stop && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    if (!opts.once) Deno.removeSignalListener("SIGINT", onSignal);
  }
  return 0;
}
