/**
 * `swiftdeploy demo`: the whole story on the given manifest (the default
 * one unless -f), each step a real run of this CLI, its exit code checked:
 * build → deploy → promote canary → error chaos + traffic → status (canary
 * failing) → promote stable blocked → recover + clean traffic → promote
 * stable allowed → audit → teardown.
 */
import { cliArgs } from "./self.ts";
import { join } from "node:path";
import type { Context } from "./context.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { loadManifest } from "../manifest/mod.ts";

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

  const cli = async (label: string, args: string[], expect: number): Promise<void> => {
    step++;
    term.out("");
    term.out(term.bold(`── step ${step}: ${label} ── swiftdeploy ${args.join(" ")}`));
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: cliArgs(ctx.home, [
        "-f",
        ctx.manifestPath,
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

  const chaos = async (body: Record<string, unknown>) => {
    const res = await fetch(`${base}/chaos`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
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
    await cli("write the audit report", ["audit"], 0);
    await cli(
      "verify the sealed history: what its chain and key detect, and what not",
      ["audit", "--verify"],
      0,
    );
    term.out(`   report: ${join(loaded.dir, m.audit.report_file)}`);
    ok = true;
  } finally {
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
