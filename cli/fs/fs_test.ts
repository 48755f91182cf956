import assert from "node:assert/strict";
import { join } from "node:path";

const FSUTIL = new URL("./mod.ts", import.meta.url).href;

/** Runs `code` in a child deno under `umask 027`, as an operator's shell might. */
async function underUmask027(code: string): Promise<void> {
  const script = `import { atomicWrite, ensureDir } from ${JSON.stringify(FSUTIL)};\n${code}`;
  const out = await new Deno.Command("sh", {
    args: ["-c", 'umask 027 && exec "$0" eval "$1"', Deno.execPath(), script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

const modeOf = async (path: string) => ((await Deno.stat(path)).mode! & 0o777).toString(8);

Deno.test("ensureDir() and atomicWrite() give explicit modes whatever the umask", async () => {
  const root = await Deno.makeTempDir();
  try {
    const deep = join(root, "state", "nginx");
    const file = join(deep, "nginx.conf");
    await underUmask027(
      `await ensureDir(${JSON.stringify(deep)}, 0o755);\n` +
        `await atomicWrite(${JSON.stringify(file)}, "x");\n` +
        `await Deno.mkdir(${JSON.stringify(join(root, "plain"))});`,
    );
    assert.equal(await modeOf(join(root, "plain")), "750", "the umask does apply to mkdir");
    assert.equal(await modeOf(join(root, "state")), "755", "a parent it created");
    assert.equal(await modeOf(deep), "755");
    assert.equal(await modeOf(file), "644");
    // An existing folder of ours with the wrong mode is repaired; its parent is left alone.
    await Deno.chmod(deep, 0o700);
    await Deno.chmod(join(root, "state"), 0o711);
    await underUmask027(`await ensureDir(${JSON.stringify(deep)}, 0o755);`);
    assert.equal(await modeOf(deep), "755");
    assert.equal(await modeOf(join(root, "state")), "711");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
