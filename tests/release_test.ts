/**
 * Releases against the real engine, nginx and OPA (issue 15): every deploy
 * and promote writes a complete evidence bundle that its history event names
 * by hash; a blocked and a failed attempt keep their evidence; `rollback`
 * puts back the previous release's exact containers (image ids compared)
 * with no failed request under a plain keep-alive client that never resends
 * (testing/keepalive_load.py), also after the manifest was edited into
 * garbage or deleted; `releases prune` never removes a retained release's
 * image; a promote that fails and a rollback whose image is gone keep their
 * evidence (failed, blocked) and leave the manifest and containers as they
 * were. Each app version is its own image (a one-line build on the local
 * app image), so image ids really differ between releases.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineClient } from "../cli/engine/mod.ts";
import { LABEL_PROJECT, LABEL_ROLE } from "../cli/plan/mod.ts";
import { createTar } from "../cli/tar/mod.ts";
import { newRollout, writeRolloutState } from "../cli/rollout/mod.ts";
import { failedRequests, startLoad } from "../testing/keepalive_load.ts";
import { getJson, makeStack, type RunResult, type TestStack } from "./_harness.ts";

const output = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

async function withEngine<T>(fn: (e: EngineClient) => Promise<T>): Promise<T> {
  const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/** Builds `tag` as the local app image plus one label: a new image id, no registry. */
function buildApp(tag: string, label: string): Promise<string> {
  const dockerfile =
    `FROM swift-deploy-1-node:latest\nLABEL io.swiftdeploy.test-release="${label}"\n`;
  const context = createTar([
    { type: "file", name: "Dockerfile", data: new TextEncoder().encode(dockerfile) },
  ]);
  return withEngine((e) => e.imageBuild(context, [tag], () => {}));
}

/** The running containers of the project: role → { name, image id }. */
function running(project: string): Promise<Record<string, { name: string; image: string }>> {
  return withEngine(async (e) => {
    const out: Record<string, { name: string; image: string }> = {};
    for (const c of await e.containerList([`${LABEL_PROJECT}=${project}`], false)) {
      out[c.Labels[LABEL_ROLE] ?? "?"] = {
        name: (c.Names[0] ?? "").replace(/^\//, ""),
        image: c.ImageID,
      };
    }
    return out;
  });
}

interface Record_ {
  number: number;
  hash: string;
  kind: string;
  status: string;
  reason?: string;
  previous: { number: number; hash: string } | null;
  rollback_of?: { number: number };
  images: { role: string; ref: string; id: string | null }[];
  containers: { name: string; role: string; image_id: string }[];
  manifest: { version: string; mode: string };
  files: Record<string, string>;
}

const bundleDir = (stack: TestStack, n: number) =>
  join(stack.dir, ".swiftdeploy", "releases", String(n));

/**
 * Reads release `n` through `releases show N --json` (which verifies it),
 * checks the bundle holds every file of the layout, and returns the record.
 */
async function bundle(stack: TestStack, n: number): Promise<Record_> {
  const r = await stack.run(["releases", "show", String(n), "--json"]);
  assert.equal(r.code, 0, output(r));
  const shown = JSON.parse(r.stdout) as { record: Record_; verified: boolean; problems: string[] };
  assert.equal(shown.verified, true, shown.problems.join("; "));
  const dir = bundleDir(stack, n);
  for (
    const f of [
      "release.json",
      "manifest.yaml",
      "gates.tsv",
      "decisions.jsonl",
      "actions.jsonl",
      "previous",
      "files/nginx.conf",
      "files/docker-compose.yml",
      "files/policy_data.json",
    ]
  ) {
    assert.ok((await Deno.stat(join(dir, f))).isFile, `release ${n}: ${f}`);
  }
  const gates = (await Deno.readTextFile(join(dir, "gates.tsv"))).trim().split("\n");
  assert.equal(gates[0], "name\tresult\tfigure\tlimit\ttime");
  return shown.record;
}

/** The history's events, parsed. */
async function events(
  stack: TestStack,
): Promise<{ event: string; data: Record<string, unknown> }[]> {
  return (await Deno.readTextFile(join(stack.dir, "history.jsonl"))).trim().split("\n")
    .map((l) => JSON.parse(l));
}

/** The last history event named `name` must name release `r` by hash. */
async function namedInHistory(stack: TestStack, name: string, r: Record_): Promise<void> {
  const e = (await events(stack)).filter((x) => x.event === name).at(-1);
  assert.ok(e, `no ${name} event`);
  assert.deepEqual(e.data.release, { number: r.number, hash: r.hash, status: r.status }, name);
}

async function setVersion(stack: TestStack, version: string): Promise<void> {
  const text = await Deno.readTextFile(stack.manifestPath);
  await Deno.writeTextFile(
    stack.manifestPath,
    text.replace(/version: "[^"]*"/, `version: "${version}"`),
  );
}

/** Runs `args` under the keep-alive load; returns the run, its seconds and the failed requests. */
async function underLoad(stack: TestStack, args: string[]) {
  const load = await startLoad(stack.nginxPort, 4);
  const t0 = performance.now();
  const r = await stack.run(args);
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((res) => setTimeout(res, 300));
  const counts = await load.stop();
  return { r, seconds, counts, failed: failedRequests(counts) };
}

Deno.test({
  name:
    "releases: deploy and promote write complete bundles, a failed promote a failed one; rollback restores a release's exact containers with 0 failed requests, after the manifest was edited or deleted; prune keeps retained images; a rollback to a pruned image is refused untouched with a blocked bundle",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const project = `t${crypto.randomUUID().slice(0, 8)}`;
    const tag = `${project}-app:latest`;
    const ids: string[] = [];
    const stack = await makeStack({ project, image: tag, version: "0.9.0" });
    try {
      // r1..r3: three deploys, each of its own image (the tag moves as a rebuild moves it)
      for (const [i, version] of ["0.9.0", "1.0.0", "1.1.0"].entries()) {
        // The label names the project: the builder's cache would otherwise give another run of
        // this test (a CI clone on the same engine) the same image id, and its cleanup removes it.
        ids.push(await buildApp(tag, `${project} ${version}`));
        await setVersion(stack, version);
        const r = await stack.run(["deploy"]);
        assert.equal(r.code, 0, output(r));
        const rec = await bundle(stack, i + 1);
        assert.equal(rec.kind, "deploy");
        assert.equal(rec.status, "good");
        assert.equal(rec.manifest.version, version);
        assert.equal(rec.images.find((x) => x.role === "app")?.id, ids[i], "the app image's id");
        assert.equal(rec.containers.find((c) => c.role === "app")?.image_id, ids[i]);
        assert.deepEqual(rec.previous?.number ?? null, i === 0 ? null : i, "rollback pointer");
        await namedInHistory(stack, "deploy", rec);
        const decisions =
          (await Deno.readTextFile(join(bundleDir(stack, i + 1), "decisions.jsonl")))
            .trim().split("\n").map((l) => JSON.parse(l));
        assert.equal(decisions[0].domain, "infrastructure");
        assert.equal(typeof decisions[0].input.disk_free_gb, "number", "the decision's input");
        const gates = await Deno.readTextFile(join(bundleDir(stack, i + 1), "gates.tsv"));
        assert.match(
          gates,
          /\npolicy\.infrastructure\tpass\t[^\t]*disk_free_gb=[^\t]*\t[^\t]*min_disk_free_gb=0\.1/,
        );
        assert.match(gates, /\nhealth\tpass\t/);
      }
      const r3 = await bundle(stack, 3);
      // r4: a promote that fails (the tag names an app that never becomes healthy) keeps its
      // evidence: a failed bundle of what it tried, named by promote_failed; nothing changed
      const manifestBefore = await Deno.readTextFile(stack.manifestPath);
      const serving = await running(project);
      await withEngine(async (e) => {
        const opa = await e.imageInspect("openpolicyagent/opa:latest-static");
        assert.ok(opa, "the OPA image is built");
        await e.imageTag(opa.Id, `${project}-app`, "latest");
      });
      const bad = await stack.run(["promote", "canary", "--timeout", "4"]);
      assert.equal(bad.code, 1, output(bad));
      const r4 = await bundle(stack, 4);
      assert.equal(r4.kind, "promote");
      assert.equal(r4.status, "failed");
      assert.equal(r4.manifest.mode, "canary", "the attempt's manifest");
      assert.match(r4.reason ?? "", /healthy/);
      await namedInHistory(stack, "promote_failed", r4);
      assert.equal(
        await Deno.readTextFile(stack.manifestPath),
        manifestBefore,
        "manifest restored",
      );
      assert.deepEqual(await running(project), serving, "the serving containers untouched");
      await withEngine((e) => e.imageTag(ids[2]!, `${project}-app`, "latest"));

      // r5: promote canary
      const p = await stack.run(["promote", "canary"]);
      assert.equal(p.code, 0, output(p));
      const r5p = await bundle(stack, 5);
      assert.equal(r5p.kind, "promote");
      assert.equal(r5p.manifest.mode, "canary");
      await namedInHistory(stack, "promote", r5p);

      // r6: rollback (default: the good release before the newest good one, r3); the file has a
      // section release 3 never had: the rollback names what the restored text drops
      await Deno.writeTextFile(
        stack.manifestPath,
        (await Deno.readTextFile(stack.manifestPath)) + "releases:\n  retain: 5\n",
      );
      const back = await underLoad(stack, ["rollback"]);
      assert.equal(back.r.code, 0, output(back.r));
      assert.equal(back.failed, 0, JSON.stringify(back.counts));
      assert.ok(back.counts.total > 20, JSON.stringify(back.counts));
      const now = await running(project);
      for (const c of r3.containers) {
        assert.deepEqual(
          now[c.role],
          { name: c.name, image: c.image_id },
          `${c.role} as in release 3`,
        );
      }
      const r6 = await bundle(stack, 6);
      assert.equal(r6.kind, "rollback");
      assert.equal(r6.rollback_of?.number, 3);
      await namedInHistory(stack, "deploy", r6);
      assert.match(back.r.stdout, /the restored text removes releases[;\n]/, output(back.r));
      // the history says it was a rollback, and so does the audit
      const rolledBack = (await events(stack)).filter((e) => e.event === "deploy").at(-1)!;
      assert.equal(rolledBack.data.kind, "rollback");
      assert.equal(rolledBack.data.rollback_of, 3);
      const audit = await stack.run(["audit"]);
      assert.equal(audit.code, 0, output(audit));
      assert.match(
        await Deno.readTextFile(join(stack.dir, "audit_report.md")),
        /\| Rollback to release 3 \|/,
      );
      console.log(
        `rollback to healthy: ${back.seconds.toFixed(1)} s, ${back.counts.total} requests, ` +
          `${back.failed} failed; bundle sizes: ${
            (await Promise.all([1, 5, 6].map(async (n) => {
              let bytes = 0;
              for await (const f of walk(bundleDir(stack, n))) bytes += f;
              return `#${n} ${bytes} B`;
            }))).join(", ")
          }`,
      );

      // r7: the manifest edited into garbage; rollback 2 works from the bundle alone, and
      // points the moved tag back at release 2's image (no rebuild)
      await Deno.writeTextFile(stack.manifestPath, "services: [this is not a manifest\n");
      const two = await underLoad(stack, ["rollback", "2"]);
      assert.equal(two.r.code, 0, output(two.r));
      assert.equal(two.failed, 0, JSON.stringify(two.counts));
      assert.match(two.r.stdout, new RegExp(`${tag} points at`));
      assert.match(
        two.r.stdout,
        /manifest\.yaml changed: it now holds release 2's manifest \(version 1\.0\.0, sha256 [0-9a-f]{12}\); it held text no release applied/,
      );
      assert.equal((await running(project)).app?.image, ids[1]);
      assert.equal((await getJson(stack.url("/healthz"))).body.version, "1.0.0");
      assert.equal(
        await Deno.readTextFile(stack.manifestPath),
        await Deno.readTextFile(join(bundleDir(stack, 2), "manifest.yaml")),
        "the manifest follows the rollback",
      );

      // r8: the manifest deleted; rollback 3 recreates it and runs release 3's containers
      await Deno.remove(stack.manifestPath);
      const three = await underLoad(stack, ["rollback", "3"]);
      assert.equal(three.r.code, 0, output(three.r));
      assert.equal(three.failed, 0, JSON.stringify(three.counts));
      const after = await running(project);
      for (const c of r3.containers) {
        assert.deepEqual(
          after[c.role],
          { name: c.name, image: c.image_id },
          `${c.role} as in release 3`,
        );
      }
      assert.match(three.r.stdout, /manifest\.yaml recreated: it now holds release 3's manifest/);
      assert.equal((await bundle(stack, 8)).rollback_of?.number, 3);

      // rollback 3 again: nothing changes, so no release is recorded (none pushed out of retain)
      const again = await stack.run(["rollback", "3"]);
      assert.equal(again.code, 0, output(again));
      assert.match(again.stdout, /The running stack already is release 3/);
      assert.ok(
        !(await Deno.stat(bundleDir(stack, 9)).then(() => true, () => false)),
        "no release 9 for a no-op rollback",
      );

      // refused: a release that is not good, one that does not exist (exit 2)
      assert.equal((await stack.run(["rollback", "99"])).code, 2);

      // retention 2: releases 8 and 7 are kept (ids[2], ids[1]); only ids[0] goes
      await Deno.writeTextFile(
        stack.manifestPath,
        (await Deno.readTextFile(stack.manifestPath)) + "releases:\n  retain: 2\n",
      );
      const dry = await stack.run(["releases", "prune", "--dry-run"]);
      assert.equal(dry.code, 0, output(dry));
      assert.match(dry.stdout, new RegExp(`would remove ${ids[0]!.slice(0, 19)}`));
      assert.ok(await withEngine((e) => e.imageInspect(ids[0]!)), "a dry run removes nothing");
      const pr = await stack.run(["releases", "prune"]);
      assert.equal(pr.code, 0, output(pr));
      assert.match(
        pr.stdout,
        new RegExp(`keep +${ids[1]!.slice(0, 19)}.*a retained release runs it`),
      );
      assert.equal(await withEngine((e) => e.imageInspect(ids[0]!)), undefined, "ids[0] removed");
      for (const id of ids.slice(1)) {
        assert.ok(await withEngine((e) => e.imageInspect(id)), `retained image ${id} kept`);
      }
      const list = await stack.run(["releases"]);
      assert.equal(list.code, 0, output(list));
      assert.match(list.stdout, /\n *8 +good +rollback +1\.1\.0/);
      // columns sized to their content: every row's hash starts under the header's "sha256"
      const [head, ...lines] = list.stdout.trimEnd().split("\n");
      for (const l of lines) {
        assert.equal(l.search(/ [0-9a-f]{12}( {2}|$)/) + 1, head!.indexOf("sha256"), list.stdout);
      }

      // r9: rollback to release 1, whose image is gone (pruned: no longer retained), is
      // refused before anything is touched: exit 2 naming the image and the release, the
      // manifest byte-identical, the same containers serving, a blocked bundle recorded
      const textBefore = await Deno.readTextFile(stack.manifestPath);
      const containersBefore = await running(project);
      const gone = await stack.run(["rollback", "1"]);
      assert.equal(gone.code, 2, output(gone));
      assert.match(
        gone.stderr,
        new RegExp(
          `Cannot roll back to release 1: its app image ${tag} \\(${
            ids[0]
          }\\) is no longer on the engine`,
        ),
      );
      assert.equal(await Deno.readTextFile(stack.manifestPath), textBefore, "manifest unchanged");
      assert.deepEqual(await running(project), containersBefore, "no container touched");
      const r9 = await bundle(stack, 9);
      assert.equal(r9.kind, "rollback");
      assert.equal(r9.status, "blocked");
      assert.equal(r9.rollback_of?.number, 1);
      assert.equal(r9.manifest.version, "0.9.0", "the text it would have applied");
      assert.match(r9.reason ?? "", new RegExp(`app image ${tag} \\(${ids[0]}\\)`));
      assert.match(
        await Deno.readTextFile(join(bundleDir(stack, 9), "gates.tsv")),
        /\nrollback\.images\tfail\t.*is no longer on the engine/,
      );
      await namedInHistory(stack, "deploy_failed", r9);
    } finally {
      await stack.cleanup();
      await withEngine(async (e) => {
        await e.imageRemove(tag).catch(() => {});
        for (const id of ids) await e.imageRemove(id).catch(() => {});
      });
    }
  },
});

/** Sizes of every file under `dir`. */
async function* walk(dir: string): AsyncGenerator<number> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walk(p);
    else yield (await Deno.stat(p)).size;
  }
}

Deno.test({
  name:
    "releases: a blocked and a failed deploy keep their evidence; rollback is refused with no good release (exit 2) and during an active rollout (exit 4)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const stack = await makeStack({ minDiskFreeGb: 1000000 });
    const broken = `${stack.project}-broken:latest`;
    try {
      const blocked = await stack.run(["deploy"]);
      assert.equal(blocked.code, 3, output(blocked));
      const r1 = await bundle(stack, 1);
      assert.equal(r1.status, "blocked");
      assert.match(r1.reason ?? "", /policy infrastructure: .*disk/i);
      const decision = JSON.parse(
        (await Deno.readTextFile(join(bundleDir(stack, 1), "decisions.jsonl"))).trim(),
      );
      assert.equal(decision.decision.allow, false);
      assert.match(
        await Deno.readTextFile(join(bundleDir(stack, 1), "gates.tsv")),
        /\npolicy\.infrastructure\tfail\t.*min_disk_free_gb=1000000/,
      );
      await namedInHistory(stack, "deploy_blocked", r1);
      const none = await stack.run(["rollback"]);
      assert.equal(none.code, 2, output(none));
      assert.match(none.stderr, /no good release/);

      // failed: an app that never becomes healthy (OPA's image under another name)
      await withEngine(async (e) => {
        const opa = await e.imageInspect("openpolicyagent/opa:latest-static");
        assert.ok(opa, "the OPA image is built");
        await e.imageTag(opa.Id, `${stack.project}-broken`, "latest");
      });
      const text = await Deno.readTextFile(stack.manifestPath);
      await Deno.writeTextFile(
        stack.manifestPath,
        text.replace("min_disk_free_gb: 1000000", "min_disk_free_gb: 0.1")
          .replace("image: swift-deploy-1-node:latest", `image: ${broken}`),
      );
      const failed = await stack.run(["deploy", "--timeout", "4"]);
      assert.equal(failed.code, 1, output(failed));
      const r2 = await bundle(stack, 2);
      assert.equal(r2.status, "failed");
      assert.match(r2.reason ?? "", /healthy/);
      assert.equal(r2.previous, null, "a blocked attempt is no rollback target");
      await namedInHistory(stack, "deploy_failed", r2);

      // an active rollout holds the stack: rollback waits for it (exit 4)
      const variant = (v: string) => ({
        container: `c-${v}`,
        address: "",
        version: v,
        spec_hash: v.repeat(8),
      });
      await writeRolloutState(
        join(stack.dir, ".swiftdeploy"),
        newRollout(
          { steps: [{ weight: 10 }], stable: variant("a"), canary: variant("b") },
          new Date(),
        ),
      );
      const active = await stack.run(["rollback"]);
      assert.equal(active.code, 4, output(active));
      assert.match(active.stderr, /rollout .* is progressing/);
    } finally {
      await stack.cleanup();
      await withEngine((e) => e.imageRemove(broken)).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "releases: a completed canary rollout is a good release whose decisions and gates are its analyses, named by rollout_completed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const stack = await makeStack({});
    try {
      const first = await stack.run(["deploy"]);
      assert.equal(first.code, 0, output(first));
      const text = await Deno.readTextFile(stack.manifestPath);
      await Deno.writeTextFile(
        stack.manifestPath,
        text.replace('version: "1.0.0"', 'version: "1.1.0"') + `rollout:
  strategy: canary
  steps:
    - weight: 50
    - analysis: { window: 3s }
  analysis:
    min_requests: 5
    max_p99_latency_ms: 5000
    max_p99_ratio: 10
`,
      );
      const load = await startLoad(stack.nginxPort, 2);
      const r = await stack.run(["deploy"]);
      const counts = await load.stop();
      assert.equal(r.code, 0, output(r));
      assert.equal(failedRequests(counts), 0, JSON.stringify(counts));
      const rec = await bundle(stack, 2) as Record_ & { rollout_id?: string };
      assert.equal(rec.kind, "rollout");
      assert.equal(rec.status, "good");
      assert.equal(rec.manifest.version, "1.1.0");
      assert.ok(rec.rollout_id, "the rollout's id");
      assert.equal(rec.previous?.number, 1);
      await namedInHistory(stack, "rollout_completed", rec);
      const decisions = (await Deno.readTextFile(join(bundleDir(stack, 2), "decisions.jsonl")))
        .trim().split("\n").map((l) => JSON.parse(l));
      // the deploy's infrastructure decision at the start, then the one analysis
      assert.deepEqual(decisions.map((d) => d.domain), ["infrastructure", "rollout"]);
      assert.equal(decisions[1].decision.checked.outcome, "continue");
      const gates = await Deno.readTextFile(join(bundleDir(stack, 2), "gates.tsv"));
      assert.match(
        gates,
        /\npolicy\.rollout\tpass\t[^\t]*canary_requests=\d+[^\t]*\t[^\t]*max_error_rate_percent=/,
      );
      assert.match(
        gates,
        /\nvalidate\tpass\t.*\npolicy\.infrastructure\tpass\t.*\ncanary\.start\tpass\t/,
      );
      const actions = await Deno.readTextFile(join(bundleDir(stack, 2), "actions.jsonl"));
      assert.match(actions, /"kind":"route"/, "the steps' routes are in the action log");
      const serving = await running(stack.project);
      assert.equal(rec.containers.find((c) => c.role === "app")?.name, serving.app?.name);
    } finally {
      await stack.cleanup();
    }
  },
});
