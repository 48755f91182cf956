/**
 * `swiftdeploy demo`: the whole story on the given manifest (the default
 * one unless -f), each step a real run of this CLI, its exit code checked:
 * build → deploy → promote canary → error chaos + traffic → status (canary
 * failing) → promote stable blocked → recover + clean traffic → promote
 * stable allowed → a canary rollout of 1.1.0 whose canary gets error chaos,
 * rolled back by the analysis on its own → the same version again with
 * `--retry`, completed → `rollback` to the previous release (1.0.0) under
 * traffic, from its evidence bundle → `releases` → audit → teardown. The
 * rollout runs on a copy of
 * the manifest beside it (`swiftdeploy-demo.yaml`, removed at the end), so
 * the user's manifest is never rewritten.
 */
import { cliArgs } from "./self.ts";
import { join } from "node:path";
import { parseDocument } from "yaml";
import type { Context } from "./context.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { loadManifest } from "../manifest/mod.ts";
import { readRolloutState } from "../rollout/mod.ts";

/** The demo's rollout: short steps so the story fits in a few minutes. */
const DEMO_ROLLOUT = {
  strategy: "canary",
  steps: [{ weight: 20 }, { analysis: { window: "5s" } }, { weight: 50 }, {
    analysis: { window: "5s" },
  }],
};

/**
 * The manifest text with a canary rollout of `version` in canary mode (so
 * the demo may inject chaos into it) and a per-variant minimum the demo's
 * traffic reaches in a 5 s window. Comments are kept (yaml's Document API).
 */
export function demoRolloutManifest(text: string, version: string): string {
  const doc = parseDocument(text);
  doc.setIn(["services", "version"], version);
  doc.setIn(["services", "mode"], "canary");
  doc.setIn(["rollout", "strategy"], DEMO_ROLLOUT.strategy);
  doc.setIn(["rollout", "steps"], doc.createNode(DEMO_ROLLOUT.steps));
  doc.setIn(["rollout", "analysis", "min_requests"], 10);
  return doc.toString();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends GET / at about `perSecond` for `seconds`; returns status counts. */
async function traffic(
  url: string,
  seconds: number,
  perSecond: number,
): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const tick = Date.now();
    await Promise.all(Array.from({ length: perSecond / 5 }, async () => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        await res.body?.cancel();
        counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
      } catch {
        counts.set(0, (counts.get(0) ?? 0) + 1);
      }
    }));
    await sleep(Math.max(0, 200 - (Date.now() - tick)));
  }
  return counts;
}

function describeCounts(counts: Map<number, number>): string {
  return [...counts].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${n}× ${s === 0 ? "failed" : s}`)
    .join(", ");
}

export async function runDemo(ctx: Context, opts: { keep: boolean }): Promise<number> {
  const { term } = ctx;
  const loaded = await loadManifest(ctx.manifestArg);
  const m = loaded.manifest;
  const base = `http://127.0.0.1:${m.nginx.port}`;
  const window = m.policy_limits.canary.window_seconds;
  let step = 0;

  const cli = async (
    label: string,
    args: string[],
    expect: number,
    manifestPath = ctx.manifestPath,
  ): Promise<void> => {
    step++;
    term.out("");
    const shown = manifestPath === ctx.manifestPath ? "" : `-f ${manifestPath} `;
    term.out(term.bold(`── step ${step}: ${label} ── swiftdeploy ${shown}${args.join(" ")}`));
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: cliArgs(ctx.home, [
        "-f",
        manifestPath,
        ...(ctx.term.color ? [] : ["--no-color"]),
        ...args,
      ]),
      env: { SWIFTDEPLOY_HOME: ctx.home },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== expect) {
      throw new SwiftDeployError(
        "CHECK_FAILED",
        `Demo step ${step} (${label}) exited with ${code}, expected ${expect}`,
      );
    }
    term.out(term.dim(`   exit ${code} as expected`));
  };

  const note = (label: string, text: string) => {
    step++;
    term.out("");
    term.out(term.bold(`── step ${step}: ${label}`));
    term.out(`   ${text}`);
  };

  const chaos = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/chaos`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) {
      throw new SwiftDeployError(
        "CHECK_FAILED",
        `Demo: POST /chaos ${JSON.stringify(body)} answered ${res.status}: ${text}`,
      );
    }
    return text.trim();
  };

  const demoPath = join(loaded.dir, "swiftdeploy-demo.yaml");
  let ok = false;
  try {
    await cli("start the Docker Engine if none answers", ["engine", "start"], 0);
    await cli("build the policy bundle and images (no registry)", ["build"], 0);
    await cli("deploy the stable stack", ["deploy"], 0);
    await cli(
      "what a promotion would do on this engine: its actions, each with its undo",
      ["promote", "canary", "--dry-run"],
      0,
    );
    await cli("promote to canary (zero downtime)", ["promote", "canary"], 0);
    note("inject error chaos", `POST /chaos → ${await chaos({ mode: "error", rate: 0.5 })}`);
    await cli("a first scrape starts the window", ["status", "--once"], 0);
    note(
      `send traffic for ${window} s (one window)`,
      `GET / → ${describeCounts(await traffic(`${base}/`, window + 1, 20))}`,
    );
    await cli("the dashboard shows the canary failing over the window", ["status", "--once"], 0);
    await cli("promote stable is blocked by the canary policy", ["promote", "stable"], 3);
    note("recover", `POST /chaos → ${await chaos({ mode: "recover" })}`);
    await cli("a scrape right after recovery starts a clean window", ["status", "--once"], 0);
    note(
      `send clean traffic for ${window} s (one window)`,
      `GET / → ${describeCounts(await traffic(`${base}/`, window + 1, 20))}`,
    );
    await cli("promote stable is allowed now", ["promote", "stable"], 0);

    // Progressive delivery (issue 13): a weighted canary judged against stable, in Rego.
    await Deno.writeTextFile(demoPath, demoRolloutManifest(loaded.text, "1.1.0"));
    note(
      "a canary rollout of version 1.1.0",
      `${demoPath}: rollout.strategy canary, steps weight 20 → analysis 5 s → weight 50 → ` +
        `analysis 5 s (then 100 %); nginx splits by weight, no reload`,
    );
    const header = m.rollout.routing.header;
    const withTraffic = async (run: () => Promise<void>) => {
      let done = false;
      const counts = new Map<number, number>();
      const load = (async () => {
        while (!done) {
          for (const [s, n] of await traffic(`${base}/`, 1, 40)) {
            counts.set(s, (counts.get(s) ?? 0) + n);
          }
        }
      })();
      try {
        await run();
      } finally {
        done = true;
        await load;
      }
      return counts;
    };
    const injected = withTraffic(async () => {
      const joined = (async () => {
        for (let i = 0; i < 600; i++) {
          const s = await readRolloutState(ctx.stateDir).catch(() => undefined);
          if (s?.canary.version === "1.1.0" && s.phase === "progressing") return;
          await sleep(100);
        }
      })();
      const deploy = cli(
        "deploy 1.1.0 as a canary; its error chaos (injected below) makes the analysis roll it back, exit 3",
        ["deploy"],
        3,
        demoPath,
      );
      await joined;
      const answer = await chaos({ mode: "error", rate: 0.8 }, { [header]: "always" });
      term.out(`   POST /chaos with ${header}: always (the canary only) → ${answer}`);
      await deploy;
    });
    note("what users got meanwhile", `GET / → ${describeCounts(await injected)}`);
    await cli("the rollout as persisted: rolled back by analysis, with its reasons", [
      "rollout",
      "status",
    ], 0);
    await cli(
      "the same spec is not retried silently",
      ["deploy"],
      3,
      demoPath,
    );
    const clean = await withTraffic(() =>
      cli(
        "deploy 1.1.0 again with --retry: a fresh canary, every analysis passes, it takes all traffic",
        ["deploy", "--retry"],
        0,
        demoPath,
      )
    );
    note("what users got meanwhile", `GET / → ${describeCounts(clean)}`);

    // Releases (issue 15): every change left an evidence bundle; the previous one comes back.
    const back = await withTraffic(() =>
      cli(
        "roll back to the previous release (1.0.0): its bundle's manifest and image ids, no rebuild, the deploy path's gates, zero downtime",
        ["rollback"],
        0,
      )
    );
    note("what users got meanwhile", `GET / → ${describeCounts(back)}`);
    await cli(
      "the releases: good ones, the blocked attempts with their evidence, the rollback",
      ["releases"],
      0,
    );
    await cli("write the audit report (it links every release)", ["audit"], 0);
    await cli(
      "verify the sealed history: what its chain and key detect, and what not",
      ["audit", "--verify"],
      0,
    );
    term.out(`   report: ${join(loaded.dir, m.audit.report_file)}`);
    ok = true;
  } finally {
    await Deno.remove(demoPath).catch(() => {});
    if (!opts.keep) {
      await cli("tear the stack down (the history is kept)", ["teardown"], 0).catch((e) => {
        term.err(`teardown failed: ${(e as Error).message}`);
        ok = false;
      });
    }
  }
  term.out("");
  term.out(
    ok ? term.green("demo finished: every step behaved as expected") : term.red("demo failed"),
  );
  return ok ? 0 : 1;
}
