import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { acquireLock, readLock, releaseLock } from "./mod.ts";

Deno.test("acquireLock() refuses a second holder and names the first", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "lock.json");
  const lock = await acquireLock(path, "deploy");
  const info = await readLock(path);
  assert.equal(info?.pid, Deno.pid);
  assert.equal(info?.command, "deploy");
  await assert.rejects(() => acquireLock(path, "promote canary"), (e: Error) => {
    assert.match(e.message, /another change holds the lock: "deploy" \(pid \d+/);
    assert.equal((e as { exitCode?: number }).exitCode, 4);
    return true;
  });
  await lock.release();
  assert.equal(await readLock(path), undefined);
  const again = await acquireLock(path, "teardown");
  await again.release();
});

Deno.test("acquireLock() takes over a lock whose process is dead", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "lock.json");
  const child = new Deno.Command("true").spawn();
  await child.status; // its pid is now free
  const dead = {
    pid: child.pid,
    host: hostname(),
    command: "deploy",
    started_at: "2026-01-01T00:00:00Z",
  };
  await Deno.writeTextFile(path, JSON.stringify(dead));
  const lock = await acquireLock(path, "promote stable");
  assert.deepEqual(lock.takenOverFrom, dead);
  assert.equal((await readLock(path))?.command, "promote stable");
  await lock.release();
});

Deno.test("releaseLock() removes any holder's lock and reports it", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "lock.json");
  await acquireLock(path, "deploy");
  const holder = await releaseLock(path);
  assert.equal(holder?.command, "deploy");
  assert.equal(await releaseLock(path), undefined);
});
