import assert from "node:assert/strict";
import { join } from "node:path";
import { findUnreadable, mayRead, parseUser } from "./_readable.ts";

const NGINX = { uid: 10002, gid: 10002 };

Deno.test("mayRead() applies the owner's, else the group's, else the others' bits", () => {
  const cases: [number, number, number, boolean, boolean][] = [
    // mode, uid, gid, isDirectory, expected for uid/gid 10002
    [0o644, 0, 0, false, true],
    [0o640, 0, 0, false, false], // umask 027 file: others get nothing
    [0o750, 0, 0, true, false], // umask 027 folder
    [0o755, 0, 0, true, true],
    [0o744, 0, 0, true, false], // r without x: cannot enter
    [0o711, 0, 0, true, false], // x without r: cannot list
    [0o640, 0, 10002, false, true], // the group's bits
    [0o604, 0, 10002, false, false], // group matches: the others' bits do not apply
    [0o400, 10002, 0, false, true], // the owner's bits
    [0o044, 10002, 0, false, false], // owner matches: group and others do not apply
  ];
  for (const [mode, uid, gid, dir, expected] of cases) {
    assert.equal(
      mayRead({ mode, uid, gid }, NGINX, dir),
      expected,
      `${mode.toString(8)} ${uid}:${gid} ${dir ? "dir" : "file"}`,
    );
  }
  assert.equal(mayRead({ mode: 0o000, uid: 5, gid: 5 }, { uid: 0, gid: 0 }, false), true);
});

Deno.test("parseUser() reads numeric Engine API users only", () => {
  assert.deepEqual(parseUser("10002:10002"), { uid: 10002, gid: 10002 });
  assert.deepEqual(parseUser("10003"), { uid: 10003, gid: 10003 });
  assert.equal(parseUser("nginx"), undefined);
  assert.equal(parseUser(undefined), undefined);
});

Deno.test("findUnreadable() finds the first folder or file a user cannot read, following links", async () => {
  const root = await Deno.makeTempDir();
  try {
    const sub = join(root, "sub");
    await Deno.mkdir(sub);
    await Deno.writeTextFile(join(sub, "a.rego"), "package a\n");
    for (
      const [path, mode] of [[root, 0o755], [sub, 0o755], [join(sub, "a.rego"), 0o644]] as const
    ) {
      await Deno.chmod(path, mode);
    }
    const owner = (await Deno.stat(root)).uid;
    const stranger = { uid: owner === 10002 ? 10003 : 10002, gid: 4242 };
    assert.equal(await findUnreadable(root, stranger), undefined);
    assert.equal(await findUnreadable(join(root, "missing"), stranger), undefined);

    await Deno.chmod(join(sub, "a.rego"), 0o640);
    assert.deepEqual(await findUnreadable(root, stranger), {
      path: join(sub, "a.rego"),
      detail: `mode 0640, owner ${owner}:${(await Deno.stat(root)).gid}`,
    });
    await Deno.chmod(sub, 0o750);
    assert.equal((await findUnreadable(root, stranger))?.path, sub);
    // A link is judged by what it points to, as the container sees it.
    await Deno.chmod(sub, 0o755);
    await Deno.chmod(join(sub, "a.rego"), 0o644);
    await Deno.writeTextFile(join(root, "secret"), "x");
    await Deno.chmod(join(root, "secret"), 0o600);
    await Deno.symlink(join(root, "secret"), join(sub, "link.rego"));
    const found = await findUnreadable(sub, stranger);
    assert.equal(found?.path, join(sub, "link.rego"));
    assert.match(found?.detail ?? "", /^mode 0600/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
