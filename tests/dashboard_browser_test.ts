/**
 * The dashboard in a real browser (issue 16 part 5): Debian's headless
 * Chromium, driven by playwright-core, loads `/` of `swiftdeploy serve`
 * against a running stack. Without a token it is refused; with a read token
 * it shows the mode and figures; while a canary rollout walks its steps the
 * page (never reloaded) shows the step change and both variants' weights;
 * abort is refused with the read token and accepted with a deploy token;
 * when the stack, then the server, goes down, the page says so.
 *
 * Screenshots go to `$SWIFTDEPLOY_SCREENSHOTS` when set (the committed ones
 * in docs/screenshots/ came from such a run), else to a temp folder.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { makeStack, spawnCli } from "./_harness.ts";
import { startServe } from "./serve_helpers.ts";

/** Debian's chromium (build/bootstrap.sh installs it). */
const CHROMIUM = "/usr/bin/chromium";

const ROLLOUT = `rollout:
  strategy: canary
  steps:
    - weight: 20
    - pause: 4s
    - weight: 50
    - pause: 1h
`;

async function text(page: Page, selector: string): Promise<string> {
  return ((await page.textContent(selector)) ?? "").trim();
}

/** Waits until `selector`'s text matches `re`; the last text seen is in the failure. */
async function waitText(page: Page, selector: string, re: RegExp, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    last = await text(page, selector);
    if (re.test(last)) return last;
    await page.waitForTimeout(200);
  }
  throw new Error(`${selector} never matched ${re}; last: ${JSON.stringify(last)}`);
}

Deno.test("dashboard: a real Chromium sees the figures and a rollout step change live, abort needs a deploy token, the page says when the stack and the server are down", async () => {
  const shots = Deno.env.get("SWIFTDEPLOY_SCREENSHOTS") ??
    await Deno.makeTempDir({ prefix: "swiftdeploy-shots-" });
  const stack = await makeStack({ version: "1.0.0" });
  await Deno.writeTextFile(
    stack.manifestPath,
    (await Deno.readTextFile(stack.manifestPath)) + ROLLOUT,
  );
  const first = await stack.run(["deploy"]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const serve = await startServe(stack);
  let serveStopped = false;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  let traffic = true;
  let deploying: Deno.ChildProcess | undefined;
  const pump = (async () => {
    // Light, bounded traffic (at most 20 req/s, 3,000 requests) so the figures move.
    for (let i = 0; traffic && i < 3000; i++) {
      await fetch(stack.url("/")).then((r) => r.body?.cancel()).catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    const mk = async (scope: string) => {
      const r = await stack.run([
        "token",
        "create",
        "--name",
        `browser-${scope}`,
        "--scope",
        scope,
      ]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const readToken = await mk("read");
    const deployToken = await mk("deploy");
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    await page.goto(`http://127.0.0.1:${serve.httpPort}/`);
    assert.equal(await page.title(), "SwiftDeploy dashboard");

    // No token: nothing to watch, and abort is refused by the server.
    await waitText(page, "#connection", /Enter a token/);
    await page.getByRole("button", { name: "Abort rollout" }).click();
    await waitText(page, "#action-result", /refused \(401\)/);

    // A read token (typed into the labelled field): the mode and figures.
    await page.getByLabel(/API token/).fill(readToken);
    await page.getByRole("button", { name: "Use token" }).click();
    await waitText(page, "#connection", /Live/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("swiftdeploy.token")), readToken);
    await waitText(page, "#mode", /^stable$/);
    await waitText(page, "#version", /^1\.0\.0$/);
    await waitText(page, "#variant-stable [data-k=rps]", /^\d+\.\d\d$/);
    await waitText(page, "#policy", /infrastructure: PASS/);

    // A canary rollout starts; the same page (a marker proves no reload) follows its steps.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await Deno.writeTextFile(
      stack.manifestPath,
      (await Deno.readTextFile(stack.manifestPath)).replace('version: "1.0.0"', 'version: "2.0.0"'),
    );
    deploying = spawnCli(["-f", stack.manifestPath, "deploy"]);
    const early = await waitText(page, "#rollout-step", /^step [12]\/4/, 60_000);
    const later = await waitText(page, "#rollout-step", /^step 4\/4: pause/, 60_000);
    assert.notEqual(early, later);
    await waitText(page, "#variant-canary [data-k=weight]", /^50 %$/);
    await waitText(page, "#variant-stable [data-k=weight]", /^50 %$/);
    assert.equal(await page.evaluate(() => (window as unknown as { marker: number }).marker), 42);
    await page.screenshot({ path: join(shots, "dashboard-rollout.png") });

    // Abort with the read token: refused (403); with a deploy token: done.
    await page.getByRole("button", { name: "Abort rollout" }).click();
    await waitText(page, "#action-result", /refused \(403\)/);
    await page.getByLabel(/API token/).fill(deployToken);
    await page.getByRole("button", { name: "Use token" }).click();
    await page.getByRole("button", { name: "Abort rollout" }).click();
    await waitText(page, "#action-result", /accepted|succeeded/);
    await waitText(page, "#action-result", /rollout abort \S+: succeeded/, 60_000);
    await waitText(page, "#rollout-phase", /aborted/, 30_000);
    await waitText(page, "#history", /rollout_aborted by token:browser-deploy/, 30_000);
    await page.screenshot({ path: join(shots, "dashboard-aborted.png") });
    const rolledBack = await deploying.output();
    deploying = undefined;
    assert.equal(rolledBack.code, 3, new TextDecoder().decode(rolledBack.stdout));

    // The stack goes down: the page stays and says so.
    traffic = false;
    await pump;
    const down = await stack.run(["teardown"]);
    assert.equal(down.code, 0, down.stderr);
    await waitText(page, "#banner", /The stack is down/, 30_000);
    // Then the server: the page says it does not answer, still without a reload.
    serve.child.kill("SIGTERM");
    await serve.child.status;
    serveStopped = true;
    await waitText(page, "#banner", /server does not answer/, 30_000);
    assert.equal(await page.evaluate(() => (window as unknown as { marker: number }).marker), 42);
    assert.deepEqual(pageErrors, []);
  } finally {
    traffic = false;
    await pump;
    if (deploying) {
      deploying.kill("SIGTERM");
      await deploying.output().catch(() => {});
    }
    await browser.close();
    if (!serveStopped) {
      serve.child.kill("SIGTERM");
      await serve.child.status;
    }
    await stack.cleanup();
  }
});
