/**
 * The chaos story against the real stack (engine, nginx, OPA, the app):
 * chaos → promotion blocked → recovery → promotion allowed → audit, and the
 * status dashboard when things are down: it keeps running, shows UNKNOWN and
 * still records every scrape in the history.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import type { StatusDocument } from "../cli/status/mod.ts";
import {
  cliArgs,
  HOME,
  load,
  makeStack,
  projectContainers,
  spawnCli,
  type TestStack,
} from "./_harness.ts";

interface HistoryLine {
  event: string;
  data: Record<string, unknown>;
}

async function historyOf(stack: TestStack): Promise<HistoryLine[]> {
  const text = await Deno.readTextFile(join(stack.dir, "history.jsonl"));
  return text.trimEnd().split("\n").map((l) => JSON.parse(l) as HistoryLine);
}

const scrapesOf = (lines: HistoryLine[]) => lines.filter((l) => l.event === "status_scrape");

async function postChaos(stack: TestStack, body: unknown): Promise<number> {
  const res = await fetch(stack.url("/chaos"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  await res.body?.cancel();
  return res.status;
}

/** GET requests, 4 at a time, until `stop()`, which returns the status counts (0 = failed). */
function traffic(url: string): { stop(): Promise<Map<number, number>> } {
  const counts = new Map<number, number>();
  let running = true;
  const workers = Promise.all(Array.from({ length: 4 }, async () => {
    while (running) {
      let status = 0;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        await res.body?.cancel();
        status = res.status;
      } catch { /* counted as 0 */ }
      counts.set(status, (counts.get(status) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 10));
    }
  }));
  return {
    stop: async () => {
      running = false;
      await workers;
      return counts;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parseDocs(stdout: string): StatusDocument[] {
  return stdout.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/**
 * Runs `status` (not --once) as a child process and sends SIGINT once it has
 * run ~3 s and at least 1.5 s after its first output.
 */
async function runUntilInterrupted(
  stack: TestStack,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; afterSignalMs: number }> {
  const started = Date.now();
  const child = spawnCli(["-f", stack.manifestPath, ...args]);
  const dec = new TextDecoder();
  let stdout = "";
  let firstOutput: number | undefined;
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      stdout += dec.decode(chunk, { stream: true });
      firstOutput ??= Date.now();
    }
  })();
  const stderrText = new Response(child.stderr).text();
  const deadline = started + 60_000;
  while (Date.now() < deadline) {
    if (firstOutput !== undefined && Date.now() >= Math.max(started + 3000, firstOutput + 1500)) {
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const signalled = Date.now();
  child.kill("SIGINT");
  const status = await child.status;
  const afterSignalMs = Date.now() - signalled;
  await reading;
  return { code: status.code, stdout, stderr: await stderrText, afterSignalMs };
}

/**
 * Runs `status --interval 1` on a pseudo-terminal (util-linux `script`) and
 * interrupts it with SIGINT after 4 s (coreutils `timeout`).
 */
async function runOnTty(
  stack: TestStack,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const command = [
    "timeout",
    "--preserve-status",
    "-s",
    "INT",
    "4",
    Deno.execPath(),
    ...cliArgs(["-f", stack.manifestPath, "status", "--interval", "1"]),
  ].map(quote).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qefc", command, "/dev/null"],
    cwd: HOME,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      TERM: "xterm",
      SWIFTDEPLOY_HOME: HOME,
      TZ: "UTC",
      // Where the history's sealing key lives (the runner's temporary folder, else HOME's).
      ...Object.fromEntries(
        ["DOCKER_HOST", "SWIFTDEPLOY_KEY_DIR", "HOME"].flatMap((name) => {
          const value = Deno.env.get(name);
          return value === undefined ? [] : [[name, value]];
        }),
      ),
      ...env,
    },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

const count = (text: string, part: string) => text.split(part).length - 1;
// deno-lint-ignore no-control-regex
const COLOUR = /\x1b\[[0-9;]*m/;

async function stopContainer(project: string, prefix: string): Promise<string> {
  const names = [...(await projectContainers(project)).keys()];
  const name = names.find((n) => n.startsWith(`${project}-${prefix}`));
  assert.ok(name, `a ${prefix} container among ${names.join(", ")}`);
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    await engine.containerStop(name, 2);
  } finally {
    engine.close();
  }
  return name;
}

Deno.test({
  name:
    "the chaos story: error chaos blocks the promotion to stable, recovery allows it, and the audit tells it",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const started = performance.now();
    const stack = await makeStack({ windowSeconds: 4, minRequests: 5 });
    const show = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
    try {
      const deployed = await stack.run(["deploy"]);
      assert.equal(deployed.code, 0, show(deployed));
      const canary = await stack.run(["promote", "canary"]);
      assert.equal(canary.code, 0, show(canary));

      // Chaos: half of the requests fail.
      assert.equal(await postChaos(stack, { mode: "error", rate: 0.5 }), 200);
      const burst = await load(stack.url("/"), 60);
      assert.ok((burst.get(500) ?? 0) > 5, `some requests failed: ${[...burst]}`);
      assert.ok((burst.get(200) ?? 0) > 5, `some requests succeeded: ${[...burst]}`);

      const seen = await stack.run(["status", "--once", "--json"]);
      assert.equal(seen.code, 0, show(seen));
      const docs = parseDocs(seen.stdout);
      assert.equal(docs.length, 1, "--once prints one document");
      const doc = docs[0]!;
      assert.equal(doc.mode, "canary");
      assert.equal(doc.chaos, "error");
      assert.equal(doc.app.reachable, true);
      assert.ok((doc.window.error_rate_percent ?? 0) > 1, JSON.stringify(doc.window));
      assert.equal(doc.policy.canary.result, "FAIL");
      assert.ok(
        doc.policy.canary.reasons.some((r) => /error rate/i.test(r)),
        doc.policy.canary.reasons.join("; "),
      );
      assert.equal(doc.policy.infrastructure.result, "PASS");

      // Failing traffic goes on, so the promotion's window (from that scrape on) holds failures.
      const failing = traffic(stack.url("/"));
      await sleep(3000);
      const blocked = await stack.run(["promote", "stable"]);
      const failed = await failing.stop();
      assert.ok((failed.get(500) ?? 0) > 5, `chaos went on: ${[...failed]}`);
      assert.equal(blocked.code, 3, show(blocked));
      assert.match(blocked.stdout, /DENIED/);
      assert.match(blocked.stdout, /! error rate \d+\.\d+% exceeds the maximum 1\.00%/i);
      assert.match(await Deno.readTextFile(stack.manifestPath), /^ {2}mode: canary$/m);

      // Recovery, a scrape that starts a clean window, and clean traffic across more than one
      // window (and on through the promotion: no request is dropped by the switch).
      assert.equal(await postChaos(stack, { mode: "recover" }), 200);
      const clean = await stack.run(["status", "--once"]);
      assert.equal(clean.code, 0, show(clean));
      assert.match(clean.stdout, /chaos {7}: none/);
      assert.match(clean.stdout, /mode {8}: canary/);
      const calm = traffic(stack.url("/"));
      await sleep(4500);
      const promoted = await stack.run(["promote", "stable"]);
      const served = await calm.stop();
      assert.equal(promoted.code, 0, show(promoted));
      // Every answer after recovery is a 200. A kept-alive connection that nginx's graceful
      // reload closes at the instant a request is written on it is lost (no retry here):
      // counted and shown, at most one for the promotion's one reload. Switching without
      // reloads (issue 13) is what takes this to zero; the zero-downtime test measures it.
      const dropped = served.get(0) ?? 0;
      served.delete(0);
      console.log(`after recovery: ${[...served]} answered, ${dropped} connection(s) lost`);
      assert.deepEqual([...served.keys()], [200], `only 200s after recovery: ${[...served]}`);
      assert.ok(dropped <= 1, `${dropped} requests lost to the promotion's one nginx reload`);
      assert.match(promoted.stdout, /ALLOWED/);
      assert.match(await Deno.readTextFile(stack.manifestPath), /^ {2}mode: stable$/m);

      // The history holds every status scrape with the chaos state it saw.
      const history = await historyOf(stack);
      const scrapes = scrapesOf(history);
      assert.equal(scrapes.length, 2, "one status_scrape per status run");
      assert.deepEqual(
        scrapes.map((s) => [s.data["mode"], s.data["chaos"]]),
        [["canary", "error"], ["canary", "none"]],
      );
      const underChaos = scrapes[0]!.data;
      assert.deepEqual(underChaos["policy"], { infrastructure: "PASS", canary: "FAIL" });
      assert.ok((underChaos["error_rate_percent"] as number) > 1);
      assert.ok((underChaos["reasons"] as string[]).some((r) => /error rate/i.test(r)));
      assert.deepEqual(
        history.filter((l) => l.event === "chaos_change").map((l) => l.data["mode"]),
        ["error", "recover"],
      );
      assert.deepEqual(
        history.filter((l) => l.event.startsWith("promote")).map((l) => [
          l.event,
          l.data["from"],
          l.data["to"],
        ]),
        [
          ["promote", "stable", "canary"],
          ["promote_blocked", "canary", "stable"],
          ["promote", "canary", "stable"],
        ],
      );

      // The audit report.
      const audit = await stack.run(["audit"]);
      assert.equal(audit.code, 0, show(audit));
      const report = await Deno.readTextFile(join(stack.dir, "audit_report.md"));
      assert.match(report, /^## Summary$/m);
      assert.match(report, /^\| Current mode \| stable/m);
      assert.match(report, /^\| Promotions \| 2 \|$/m);
      assert.match(report, /^\| Blocked by policy \| 1 \|$/m);
      assert.match(report, /\| Promote \| stable → canary \|/);
      assert.match(report, /\| Promote \| canary → stable \|/);
      const violations = report.split(/^## Policy violations$/m)[1]?.split(/^## /m)[0] ?? "";
      assert.match(violations, /\| promote blocked \| canary \| error rate \d+\.\d+% exceeds/i);
      assert.match(violations, /\| status check[^|]* \| canary \| error rate \d+\.\d+% exceeds/i);
      const svg = report.match(/!\[[^\]]*\]\(([^)]+\.svg)\)/)?.[1];
      assert.ok(svg, "the report links its chart");
      assert.match(await Deno.readTextFile(join(stack.dir, svg)), /^<svg|<\?xml/);

      const verified = await stack.run(["audit", "--verify"]);
      assert.equal(verified.code, 0, show(verified));

      // Tamper with a middle line: verification names it.
      const file = join(stack.dir, "history.jsonl");
      const lines = (await Deno.readTextFile(file)).split("\n");
      const n = lines.length - 1;
      const k = Math.ceil(n / 2);
      assert.ok(k > 1 && k < n, `line ${k} of ${n} is in the middle`);
      const original = lines[k - 1]!;
      const tampered = original.replace(/"pid":(\d+)/, (_, pid) => `"pid":${Number(pid) + 1}`);
      assert.notEqual(tampered, original);
      lines[k - 1] = tampered;
      await Deno.writeTextFile(file, lines.join("\n"));
      const broken = await stack.run(["audit", "--verify"]);
      assert.equal(broken.code, 1, show(broken));
      assert.match(broken.stdout, new RegExp(`Line ${k} was edited`));
    } finally {
      await stack.cleanup();
      console.log(`  the story took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  },
});

Deno.test({
  name:
    "status keeps refreshing until SIGINT, redraws in place on a TTY, shows UNKNOWN when the app or OPA is down and records every scrape",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const started = performance.now();
    const stack = await makeStack({ windowSeconds: 4, minRequests: 5 });
    const show = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
    try {
      const deployed = await stack.run(["deploy"]);
      assert.equal(deployed.code, 0, show(deployed));

      // --interval 1 --json: one document per refresh until SIGINT, which exits 0.
      const live = await runUntilInterrupted(stack, ["status", "--interval", "1", "--json"]);
      assert.equal(live.code, 0, show(live));
      assert.ok(live.afterSignalMs < 5000, `stopped ${live.afterSignalMs} ms after SIGINT`);
      const docs = parseDocs(live.stdout);
      assert.ok(docs.length >= 2, `${docs.length} documents:\n${live.stdout}`);
      for (const d of docs) {
        assert.equal(d.mode, "stable");
        assert.equal(d.chaos, "none");
        assert.equal(d.version, "1.0.0");
        assert.equal(d.policy.canary.result, "PASS");
      }
      assert.equal(new Set(docs.map((d) => d.timestamp)).size, docs.length, "fresh each time");
      assert.equal(scrapesOf(await historyOf(stack)).length, docs.length, "every refresh recorded");

      // On a TTY with NO_COLOR: redrawn in place (cleared once, cursor home per frame), no colour.
      const plain = await runOnTty(stack, { NO_COLOR: "1" });
      assert.equal(plain.code, 0, plain.output);
      assert.equal(count(plain.output, "\x1b[2J"), 1, "the screen is cleared only once");
      assert.ok(count(plain.output, "\x1b[H") >= 2, `frames redrawn in place:\n${plain.output}`);
      assert.ok(plain.output.includes("\x1b[K"), "each line clears its own rest");
      assert.ok(!COLOUR.test(plain.output), "no colour with NO_COLOR");
      assert.ok(plain.output.includes("Refreshing every 1s"));

      // The app is down: UNKNOWN, exit 0, and the scrape is still recorded.
      await stopContainer(stack.project, "app-");
      const before = scrapesOf(await historyOf(stack)).length;
      const down = await stack.run(["status", "--once", "--json"]);
      assert.equal(down.code, 0, show(down));
      const [doc] = parseDocs(down.stdout);
      assert.ok(doc);
      assert.equal(doc.app.reachable, false);
      assert.match(doc.app.error ?? "", /metrics/);
      assert.equal(doc.mode, null);
      assert.equal(doc.chaos, null);
      assert.equal(doc.policy.canary.result, "UNKNOWN");
      assert.equal(doc.policy.infrastructure.result, "PASS");
      const after = scrapesOf(await historyOf(stack));
      assert.equal(after.length, before + 1);
      assert.deepEqual(after.at(-1)!.data["policy"], {
        infrastructure: "PASS",
        canary: "UNKNOWN",
      });
      assert.equal(after.at(-1)!.data["chaos"], null);

      // Still down, on a TTY with colours: the dashboard keeps running and shows UNKNOWN.
      const coloured = await runOnTty(stack, {});
      assert.equal(coloured.code, 0, coloured.output);
      assert.ok(count(coloured.output, "\x1b[H") >= 2, `kept running:\n${coloured.output}`);
      assert.ok(COLOUR.test(coloured.output), "colours on a TTY");
      assert.ok(coloured.output.includes("app unreachable"));
      assert.ok(coloured.output.includes("\x1b[33mUNKNOWN\x1b[0m"));

      // OPA as the policy engine: PASS while it answers, UNKNOWN once it is stopped.
      const sidecar = await stack.run(["--policy-engine", "sidecar", "status", "--once", "--json"]);
      assert.equal(sidecar.code, 0, show(sidecar));
      assert.equal(parseDocs(sidecar.stdout)[0]?.policy.infrastructure.result, "PASS");
      await stopContainer(stack.project, "opa");
      const noOpa = await stack.run(["--policy-engine", "sidecar", "status", "--once", "--json"]);
      assert.equal(noOpa.code, 0, show(noOpa));
      const infra = parseDocs(noOpa.stdout)[0]?.policy.infrastructure;
      assert.equal(infra?.result, "UNKNOWN", JSON.stringify(infra));
      assert.equal(infra?.reasons.length, 1);

      // A history whose last line was edited is not extended: the refresh is still shown, exit 1.
      const file = join(stack.dir, "history.jsonl");
      const text = await Deno.readTextFile(file);
      await Deno.writeTextFile(file, text.replace(/"pid":(\d+)(?=[^\n]*\n$)/, `"pid":1$1`));
      const refused = await stack.run(["status", "--once", "--json"]);
      assert.equal(refused.code, 1, show(refused));
      assert.equal(parseDocs(refused.stdout).length, 1);
      assert.match(refused.stderr, /warning: Cannot append to history .*edited/i);
    } finally {
      await stack.cleanup();
      console.log(`  the status test took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  },
});
