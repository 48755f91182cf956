/**
 * The CLI surface through the real `cli/main.ts` as a subprocess: help
 * goldens, usage errors, `init` determinism and `--check`, invalid manifests
 * (exit 2, exact located messages, nothing written) and several manifests in
 * several folders. No engine is needed: no command here reaches it.
 *
 *   UPDATE_GOLDEN=1 deno test -A tests/cli_test.ts   regenerates tests/golden/cli/
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { HOME, runCli, type RunResult } from "./_harness.ts";

const GOLDEN_DIR = join(HOME, "tests", "golden", "cli");
const FIXTURES = join(HOME, "tests", "fixtures", "cli");
const MANIFEST_FIXTURES = join(HOME, "tests", "fixtures", "manifests");
const GENERATED = ["nginx.conf", "docker-compose.yml", "policy_data.json"] as const;

const opts = { sanitizeResources: false, sanitizeOps: false };

async function assertGolden(name: string, actual: string): Promise<void> {
  const path = join(GOLDEN_DIR, name);
  if (Deno.env.get("UPDATE_GOLDEN") === "1") {
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeTextFile(path, actual);
    return;
  }
  const expected = await Deno.readTextFile(path);
  assert.equal(actual, expected, `${name} differs from its golden (UPDATE_GOLDEN=1 to accept)`);
}

/** Every file and folder under `dir` with its bytes (folders map to ""). */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (e.isDirectory) {
        out.set(`${rel}/`, "");
        await walk(p);
      } else {
        out.set(rel, new TextDecoder().decode(await Deno.readFile(p)));
      }
    }
  };
  await walk(dir);
  return out;
}

/** A temp folder holding `fixture` as `manifest.yaml`. */
async function folderWith(fixturePath: string): Promise<{ dir: string; manifest: string }> {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-cli-" });
  const manifest = join(dir, "manifest.yaml");
  await Deno.copyFile(fixturePath, manifest);
  return { dir, manifest };
}

async function readGenerated(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of GENERATED) out[name] = await Deno.readTextFile(join(dir, name));
  return out;
}

function describe(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

Deno.test({
  name: "swiftdeploy --help prints the golden usage and exits 0",
  ...opts,
  fn: async () => {
    const r = await runCli(["--help"]);
    assert.equal(r.code, 0, describe(r));
    assert.equal(r.stderr, "");
    await assertGolden("help.txt", r.stdout);
  },
});

Deno.test({
  name: "swiftdeploy deploy --help prints the golden usage of deploy and exits 0",
  ...opts,
  fn: async () => {
    const r = await runCli(["deploy", "--help"]);
    assert.equal(r.code, 0, describe(r));
    await assertGolden("deploy_help.txt", r.stdout);
  },
});

Deno.test({
  name: "swiftdeploy exits 2 naming the problem when the command or an option is unknown",
  ...opts,
  fn: async () => {
    const cases: [string[], string][] = [
      [["bogus"], "unknown command 'bogus'"],
      [["--bogus", "init"], "unknown option '--bogus'"],
      [["deploy", "--bogus"], "unknown option '--bogus'"],
      [["promote"], "missing required argument 'mode'"],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      assert.equal(r.code, 2, `${args.join(" ")}: ${describe(r)}`);
      assert.ok(r.stderr.includes(message), `${args.join(" ")}: ${describe(r)}`);
      assert.ok(r.stderr.includes("--help"), `${args.join(" ")} should point to --help`);
      assert.ok(!r.stderr.includes("at file://"), `${args.join(" ")} printed a stack`);
    });
  },
});

Deno.test({
  name: "init writes identical bytes when the generated files are deleted and made again",
  ...opts,
  fn: async () => {
    const { dir, manifest } = await folderWith(join(FIXTURES, "manifest_shop_a.yaml"));
    try {
      const first = await runCli(["-f", manifest, "init"]);
      assert.equal(first.code, 0, describe(first));
      for (const name of GENERATED) assert.match(first.stdout, new RegExp(`${name} written`));
      const before = await readGenerated(dir);
      assert.match(before["nginx.conf"]!, /listen 18081;/);

      const again = await runCli(["-f", manifest, "init"]);
      assert.equal(again.code, 0, describe(again));
      for (const name of GENERATED) assert.match(again.stdout, new RegExp(`${name} unchanged`));

      for (const name of GENERATED) await Deno.remove(join(dir, name));
      const third = await runCli(["-f", manifest, "init"]);
      assert.equal(third.code, 0, describe(third));
      assert.deepEqual(await readGenerated(dir), before);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "init --check exits 0 when fresh and 1 with a diff when a file is edited or missing",
  ...opts,
  fn: async () => {
    const { dir, manifest } = await folderWith(join(FIXTURES, "manifest_shop_a.yaml"));
    try {
      assert.equal((await runCli(["-f", manifest, "init"])).code, 0);
      const fresh = await runCli(["-f", manifest, "init", "--check"]);
      assert.equal(fresh.code, 0, describe(fresh));
      assert.match(fresh.stdout, /generated files match/);

      const confPath = join(dir, "nginx.conf");
      const conf = await Deno.readTextFile(confPath);
      assert.ok(conf.includes("worker_connections 1024;"));
      const edited = conf.replace("worker_connections 1024;", "worker_connections 2048;");
      await Deno.writeTextFile(confPath, edited);
      const drift = await runCli(["-f", manifest, "init", "--check"]);
      assert.equal(drift.code, 1, describe(drift));
      assert.match(drift.stdout, /nginx\.conf: stale or edited by hand/);
      assert.match(drift.stdout, /^--- nginx\.conf/m);
      assert.match(drift.stdout, /^-\s+worker_connections 2048;$/m);
      assert.match(drift.stdout, /^\+\s+worker_connections 1024;$/m);
      assert.doesNotMatch(drift.stdout, /docker-compose\.yml: stale/);
      assert.equal(await Deno.readTextFile(confPath), edited, "--check must not rewrite the file");

      await Deno.writeTextFile(confPath, conf);
      await Deno.remove(join(dir, "policy_data.json"));
      const missing = await runCli(["-f", manifest, "init", "--check"]);
      assert.equal(missing.code, 1, describe(missing));
      assert.match(missing.stdout, /policy_data\.json: missing/);
      assert.doesNotMatch(missing.stdout, /nginx\.conf: stale/);
      await assert.rejects(Deno.stat(join(dir, "policy_data.json")), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

interface Expected {
  invalid: Record<string, string[]>;
}
const expected = JSON.parse(
  await Deno.readTextFile(join(MANIFEST_FIXTURES, "expected.json")),
) as Expected;

const INVALID_FIXTURES = [
  "manifest_bad_yaml_indent.yaml",
  "manifest_tab_indent.yaml",
  "manifest_unknown_key_typo.yaml",
  "manifest_port_out_of_range.yaml",
  "manifest_duplicate_ports.yaml",
  "manifest_missing_port.yaml",
  "manifest_many_errors.yaml",
];

for (const fixture of INVALID_FIXTURES) {
  Deno.test({
    name: `init, validate and deploy exit 2 and write nothing when given ${fixture}`,
    ...opts,
    fn: async () => {
      const lines = expected.invalid[fixture];
      assert.ok(lines && lines.length > 0, `expected.json lists no lines for ${fixture}`);
      const { dir, manifest } = await folderWith(join(MANIFEST_FIXTURES, fixture));
      try {
        const want = lines.map((l) => `${dir}/manifest.yaml${l.slice(fixture.length)}`);
        const before = await snapshot(dir);
        for (const command of ["init", "validate", "deploy"]) {
          const r = await runCli(["-f", manifest, command]);
          const what = `${command} ${fixture}: ${describe(r)}`;
          assert.equal(r.code, 2, what);
          const got = r.stderr.split("\n").map((l) => l.trim())
            .filter((l) => /manifest\.yaml:\d+:\d+ /.test(l));
          assert.deepEqual(got, want, what);
          assert.match(r.stderr, /^error: invalid manifest/m, what);
          assert.ok(!r.stderr.includes("at file://"), `${what}\n(a stack without --verbose)`);
          assert.deepEqual(await snapshot(dir), before, `${command} wrote into the folder`);
        }
        await assert.rejects(Deno.stat(join(dir, ".swiftdeploy")), Deno.errors.NotFound);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "swiftdeploy shows the stack of a manifest error only with --verbose",
  ...opts,
  fn: async () => {
    const { dir, manifest } = await folderWith(
      join(MANIFEST_FIXTURES, "manifest_port_out_of_range.yaml"),
    );
    try {
      const plain = await runCli(["-f", manifest, "init"]);
      assert.equal(plain.code, 2, describe(plain));
      assert.doesNotMatch(plain.stderr, /^\s+at /m);
      const verbose = await runCli(["--verbose", "-f", manifest, "init"]);
      assert.equal(verbose.code, 2, describe(verbose));
      assert.match(verbose.stderr, /nginx\.port: must be an integer between 1 and 65535/);
      assert.match(verbose.stderr, /^\s+at .*file:\/\//m, describe(verbose));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "swiftdeploy exits 2 with a hint naming -f/--manifest when the manifest does not exist",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-cli-" });
    try {
      const missing = join(dir, "nowhere", "manifest.yaml");
      for (const command of ["init", "validate", "deploy"]) {
        const r = await runCli(["-f", missing, command], { cwd: dir });
        assert.equal(r.code, 2, `${command}: ${describe(r)}`);
        assert.ok(r.stderr.includes(missing), `${command} should name the path: ${r.stderr}`);
        const hint = r.stderr.split("\n").find((l) => l.startsWith("hint:")) ?? "";
        assert.match(hint, /-f\/--manifest/, `${command}: ${r.stderr}`);
        assert.ok(!r.stderr.includes("at file://"), `${command} printed a stack`);
      }
      assert.deepEqual([...(await snapshot(dir)).keys()], [], "nothing may be written");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "init writes each manifest's own files beside it when one CLI drives two folders",
  ...opts,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "swiftdeploy-cli-" });
    try {
      for (const [sub, fixture] of [["a", "manifest_shop_a.yaml"], ["b", "manifest_shop_b.yaml"]]) {
        await Deno.mkdir(join(root, sub!));
        await Deno.copyFile(join(FIXTURES, fixture!), join(root, sub!, "manifest.yaml"));
      }
      const [a, b] = await Promise.all([
        runCli(["-f", "a/manifest.yaml", "init"], { cwd: root }),
        runCli(["-f", "b/manifest.yaml", "init"], { cwd: root }),
      ]);
      assert.equal(a!.code, 0, describe(a!));
      assert.equal(b!.code, 0, describe(b!));
      assert.deepEqual(
        [...(await snapshot(root)).keys()].sort(),
        [
          "a/",
          "a/docker-compose.yml",
          "a/manifest.yaml",
          "a/nginx.conf",
          "a/policy_data.json",
          "b/",
          "b/docker-compose.yml",
          "b/manifest.yaml",
          "b/nginx.conf",
          "b/policy_data.json",
        ],
      );
      const fa = await readGenerated(join(root, "a"));
      const fb = await readGenerated(join(root, "b"));
      assert.match(fa["nginx.conf"]!, /listen 18081;/);
      assert.doesNotMatch(fa["nginx.conf"]!, /18082/);
      assert.match(fa["nginx.conf"]!, /shop-a@example\.com/);
      assert.match(fb["nginx.conf"]!, /listen 18082;/);
      assert.doesNotMatch(fb["nginx.conf"]!, /18081/);
      assert.match(fb["nginx.conf"]!, /shop-b@example\.com/);
      assert.match(fa["docker-compose.yml"]!, /shop-a-nginx/);
      assert.doesNotMatch(fa["docker-compose.yml"]!, /shop-b/);
      assert.match(fb["docker-compose.yml"]!, /shop-b-nginx/);
      assert.doesNotMatch(fb["docker-compose.yml"]!, /shop-a/);
      assert.match(fb["docker-compose.yml"]!, /MODE[=:] ?"?canary/);

      const checkA = await runCli(["-f", join(root, "a", "manifest.yaml"), "init", "--check"]);
      assert.equal(checkA.code, 0, describe(checkA));
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test(
  "every stack-scoped command refuses a manifest with environments and no -e (exit 2, the names listed), writing nothing",
  opts,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-envs-" });
    try {
      const path = join(dir, "manifest.yaml");
      await Deno.writeTextFile(
        path,
        `project: envs
services:
  image: app:1
  port: 3000
  version: "1.0.0"
nginx:
  image: nginx:1
  port: 18080
opa:
  image: opa:1
environments:
  - name: dev
    nginx: { port: 18081 }
    opa: { port: 18082 }
  - name: prod
    nginx: { port: 18083 }
    opa: { port: 18084 }
`,
      );
      const before = await snapshot(dir);
      for (
        const args of [
          ["token", "create", "--name", "a", "--scope", "read"],
          ["token", "list"],
          ["releases"],
          ["releases", "show", "1"],
          ["releases", "prune", "--dry-run"],
          ["rollback"],
          ["rollout", "status"],
          ["status", "--once"],
          ["audit"],
          ["teardown"],
          ["lock", "status"],
          ["serve"],
        ]
      ) {
        const r = await runCli(["-f", path, ...args]);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
        assert.match(
          r.stderr,
          /declares environments "dev", "prod" and none was chosen/,
          args.join(" "),
        );
        assert.match(r.stderr, /-e\/--env/, args.join(" "));
      }
      assert.deepEqual(await snapshot(dir), before, "nothing written");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
