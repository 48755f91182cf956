/**
 * The launcher (`./swiftdeploy`) trusts `.tools/toolchain.stamp` and runs
 * no tool while the stamp is newer than everything that could change what
 * the bootstrap would find: build/bootstrap.sh, build/tools/package.json,
 * the deno and opa binaries and dpkg's status file. Otherwise it falls back
 * to `build/bootstrap.sh --check`, and to a full bootstrap when that fails.
 *
 * Each test runs the real launcher, copied into a temp root (the launcher
 * finds its root from its own path), so the real .tools/ is never touched.
 * The bootstrap there is a recorder and deno a script that prints what it
 * got; the last tests use the real bootstrap.sh and the real binaries.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HOME } from "./_harness.ts";

const LAUNCHER = join(HOME, "swiftdeploy");
const DPKG_STATUS = "/var/lib/dpkg/status";

/** A temp root holding a copy of the launcher, a recording bootstrap and stand-in tools. */
interface Root {
  dir: string;
  launcher: string;
  stamp: string;
  bootstrap: string;
  packageJson: string;
  deno: string;
  opa: string;
  cleanup(): Promise<void>;
}

async function exe(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o755);
}

/**
 * A root whose stamp is fresh: every input 100 s old, the stamp 50 s old
 * (and newer than dpkg's status file). `bootstrap.sh --check` exits with the
 * number in `check_exit` (0 when absent); both record their arguments.
 */
async function makeRoot(): Promise<Root> {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-launcher-" });
  const launcher = join(dir, "swiftdeploy");
  await Deno.copyFile(LAUNCHER, launcher);
  await Deno.chmod(launcher, 0o755);
  for (const d of ["build/tools", ".tools/bin", ".tools/npm/node_modules/.bin"]) {
    await Deno.mkdir(join(dir, d), { recursive: true });
  }
  const root: Root = {
    dir,
    launcher,
    stamp: join(dir, ".tools", "toolchain.stamp"),
    bootstrap: join(dir, "build", "bootstrap.sh"),
    packageJson: join(dir, "build", "tools", "package.json"),
    deno: join(dir, ".tools", "npm", "node_modules", ".bin", "deno"),
    opa: join(dir, ".tools", "bin", "opa"),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
  await exe(
    root.bootstrap,
    `#!/bin/sh
root="$(cd "$(dirname "$0")/.." && pwd)"
echo "bootstrap $*" >>"$root/calls.log"
if [ "$1" = "--check" ]; then exit "$(cat "$root/check_exit" 2>/dev/null || echo 0)"; fi
exit 0
`,
  );
  await Deno.writeTextFile(root.packageJson, "{}\n");
  await exe(
    root.deno,
    `#!/bin/sh
echo "deno $*"
echo "SWIFTDEPLOY_HOME=$SWIFTDEPLOY_HOME"
echo "PATH=$PATH"
`,
  );
  await exe(root.opa, "#!/bin/sh\nexit 0\n");
  await Deno.writeTextFile(root.stamp, "deno\t2.9.6\nopa\tv1.22.2\n");
  const now = Date.now() / 1000;
  for (const p of [root.bootstrap, root.packageJson, root.deno, root.opa]) {
    await Deno.utime(p, now - 100, now - 100);
  }
  const dpkg = (await Deno.stat(DPKG_STATUS)).mtime!.getTime() / 1000;
  const stampAge = Math.max(now - 50, dpkg + 1);
  await Deno.utime(root.stamp, stampAge, stampAge);
  return root;
}

async function run(root: Root, args: string[] = ["--help"], launcher = root.launcher) {
  const out = await new Deno.Command(launcher, {
    args,
    cwd: root.dir,
    env: { PATH: "/usr/bin:/bin" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const calls = await Deno.readTextFile(join(root.dir, "calls.log")).catch(() => "");
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    bootstrapCalls: calls.split("\n").filter(Boolean),
  };
}

/** Sets the modification time of `path` to `secondsAgo` before now. */
async function age(path: string, secondsAgo: number): Promise<void> {
  const t = Date.now() / 1000 - secondsAgo;
  await Deno.utime(path, t, t);
}

Deno.test("launcher: a fresh stamp runs no bootstrap and execs the pinned deno with the CLI", async () => {
  const root = await makeRoot();
  try {
    const r = await run(root, ["-f", "x.yaml", "init", "--check"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.bootstrapCalls, []);
    const lines = r.stdout.split("\n");
    assert.equal(
      lines[0],
      `deno run -A --quiet --config ${root.dir}/deno.json ${root.dir}/cli/main.ts -f x.yaml init --check`,
    );
    assert.equal(lines[1], `SWIFTDEPLOY_HOME=${root.dir}`);
    assert.ok(
      lines[2]!.startsWith(`PATH=${root.dir}/.tools/bin:${root.dir}/.tools/npm/node_modules/.bin:`),
      lines[2],
    );
  } finally {
    await root.cleanup();
  }
});

Deno.test("launcher: a stamp older than any of its inputs falls back to bootstrap --check", async () => {
  const inputs: [string, (r: Root) => string][] = [
    ["build/bootstrap.sh (new pins)", (r) => r.bootstrap],
    ["build/tools/package.json (new Deno pin)", (r) => r.packageJson],
    ["the deno binary (reinstalled)", (r) => r.deno],
    ["the opa binary (rebuilt)", (r) => r.opa],
  ];
  for (const [what, path] of inputs) {
    const root = await makeRoot();
    try {
      await age(path(root), 10);
      const r = await run(root);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.bootstrapCalls, ["bootstrap --check"], what);
      assert.match(r.stdout, /^deno run /, what);
    } finally {
      await root.cleanup();
    }
  }
});

Deno.test("launcher: a stamp older than dpkg's status file (packages changed) is not trusted", async () => {
  const root = await makeRoot();
  try {
    const dpkg = (await Deno.stat(DPKG_STATUS)).mtime!.getTime() / 1000;
    for (const p of [root.bootstrap, root.packageJson, root.deno, root.opa]) {
      await Deno.utime(p, dpkg - 20, dpkg - 20);
    }
    await Deno.utime(root.stamp, dpkg - 10, dpkg - 10);
    const r = await run(root);
    assert.deepEqual(r.bootstrapCalls, ["bootstrap --check"]);
  } finally {
    await root.cleanup();
  }
});

Deno.test("launcher: no stamp, or a tool missing, falls back; a failed check bootstraps", async () => {
  const cases: [string, (r: Root) => Promise<void>][] = [
    ["no stamp", (r) => Deno.remove(r.stamp)],
    ["opa missing", (r) => Deno.remove(r.opa)],
    ["opa not executable", (r) => Deno.chmod(r.opa, 0o644)],
  ];
  for (const [what, breakIt] of cases) {
    const root = await makeRoot();
    try {
      await breakIt(root);
      const r = await run(root);
      assert.deepEqual(r.bootstrapCalls, ["bootstrap --check"], what);
    } finally {
      await root.cleanup();
    }
  }
  const root = await makeRoot();
  try {
    await Deno.remove(root.stamp);
    await Deno.writeTextFile(join(root.dir, "check_exit"), "1");
    const r = await run(root);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.bootstrapCalls, ["bootstrap --check", "bootstrap "]);
    assert.match(r.stdout, /^deno run /);
  } finally {
    await root.cleanup();
  }
});

Deno.test("launcher: run through a symlink it still finds its own root", async () => {
  const root = await makeRoot();
  const elsewhere = await Deno.makeTempDir({ prefix: "swiftdeploy-launcher-link-" });
  try {
    const link = join(elsewhere, "swiftdeploy");
    await Deno.symlink(root.launcher, link);
    const r = await run(root, ["--help"], link);
    assert.deepEqual(r.bootstrapCalls, []);
    assert.match(r.stdout, new RegExp(`SWIFTDEPLOY_HOME=${root.dir}\n`));
  } finally {
    await root.cleanup();
    await Deno.remove(elsewhere, { recursive: true });
  }
});

/** The median (upper middle) of `values`. */
function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

Deno.test("launcher: its own cost with a fresh stamp is a few ms (median over 25 alternating runs)", async () => {
  const root = await makeRoot();
  try {
    await exe(root.deno, "#!/bin/sh\nexit 0\n");
    await age(root.deno, 100);
    const time = async (cmd: string) => {
      const t = performance.now();
      const { code } = await new Deno.Command(cmd, {
        args: ["--help"],
        stdout: "null",
        stderr: "null",
      }).output();
      assert.equal(code, 0);
      return performance.now() - t;
    };
    const viaLauncher: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < 26; i++) {
      const a = await time(root.launcher);
      const b = await time(root.deno);
      if (i > 0) viaLauncher.push(a), direct.push(b);
    }
    const overhead = median(viaLauncher) - median(direct);
    console.log(
      `launcher overhead: ${overhead.toFixed(1)} ms (launcher + stand-in deno ${
        median(viaLauncher).toFixed(1)
      } ms, stand-in deno alone ${median(direct).toFixed(1)} ms)`,
    );
    assert.deepEqual((await run(root)).bootstrapCalls, [], "the stamp was trusted throughout");
    assert.ok(overhead < 10, `launcher overhead ${overhead.toFixed(1)} ms, expected a few ms`);
  } finally {
    await root.cleanup();
  }
});

Deno.test("bootstrap.sh --check writes the stamp exactly when nothing is missing, and the launcher trusts it", async () => {
  const root = await makeRoot();
  try {
    // The real bootstrap and the real tools (linked), in the temp root.
    await Deno.copyFile(join(HOME, "build", "bootstrap.sh"), root.bootstrap);
    await Deno.copyFile(join(HOME, "build", "tools", "package.json"), root.packageJson);
    await Deno.remove(root.deno);
    await Deno.remove(root.opa);
    await Deno.symlink(join(HOME, ".tools", "npm", "node_modules", ".bin", "deno"), root.deno);
    await Deno.symlink(join(HOME, ".tools", "bin", "opa"), root.opa);
    await Deno.remove(root.stamp);
    const check = await new Deno.Command(root.bootstrap, {
      args: ["--check"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stamp = await Deno.readTextFile(root.stamp).catch(() => undefined);
    if (check.code === 0) {
      assert.ok(stamp, "a passing check leaves a stamp");
      assert.match(stamp, /^deno\t2\.9\.6\nopa\tv1\.22\.2\n/);
      assert.match(stamp, /^apt:nginx\t\S+$/m);
      // The launcher then trusts it: a check would have replaced the file (new inode).
      const before = await Deno.stat(root.stamp);
      await new Deno.Command(root.launcher, { args: ["--help"], stdout: "null", stderr: "null" })
        .output();
      const after = await Deno.stat(root.stamp);
      assert.equal(after.ino, before.ino, "the launcher ran no bootstrap");
      assert.equal(after.mtime?.getTime(), before.mtime?.getTime());
    } else {
      assert.equal(stamp, undefined, "a failing check leaves no stamp");
      assert.match(new TextDecoder().decode(check.stderr), /missing: /);
    }
  } finally {
    await root.cleanup();
  }
});
