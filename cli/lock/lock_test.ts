import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { acquireLock, clearLock, lockStatus, parseLockInfo } from "./mod.ts";

const WORKER = new URL("./_lock_worker.ts", import.meta.url).pathname;

function isLocked(e: unknown): boolean {
  const err = e as { exitCode?: number; code?: string };
  assert.equal(err.code, "LOCKED", String(e));
  assert.equal(err.exitCode, 4);
  return true;
}

/** A record as another process would have written it. */
function record(pid: number, command = "deploy"): string {
  return JSON.stringify({ pid, host: hostname(), command, started_at: "2026-01-02T03:04:05Z" }) +
    "\n";
}

/** Spawns `_lock_worker.ts hold <path>` and waits until it holds the lock. */
async function spawnHolder(path: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WORKER, "hold", path],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  assert.match(new TextDecoder().decode(value), /ready/);
  return child;
}

async function kill(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* already gone */ }
  await child.stdout.cancel().catch(() => {});
  await child.status;
}

Deno.test("acquireLock() refuses a second holder with exit 4 and names the first", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "lock.json");
  const lock = await acquireLock(path, "deploy");
  assert.equal(parseLockInfo(await Deno.readTextFile(path))?.pid, Deno.pid);
  await assert.rejects(() => acquireLock(path, "promote canary"), (e: Error) => {
    assert.match(e.message, /another change holds the lock: "deploy" \(pid \d+/);
    return isLocked(e);
  });
  assert.deepEqual(await lockStatus(path), { held: true, holder: lock.info });
  await lock.release();
  await lock.release(); // twice is harmless
  assert.deepEqual(await lockStatus(path), { held: false, interrupted: undefined });
  assert.ok((await Deno.stat(path)).isFile, "the lock file is never removed");
  const again = await acquireLock(path, "teardown");
  assert.equal(again.interrupted, undefined, "a released lock leaves no record");
  await again.release();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("acquireLock() from 12 processes at once: never two inside, every entry made", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "lock.json");
  const probe = join(dir, "probe");
  // Start from the state that let three in at once before: a dead holder's record.
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  await Deno.writeTextFile(path, record(gone.pid));
  const WORKERS = 12;
  const ENTRIES = 15;
  const started = performance.now();
  const outputs = await Promise.all(
    Array.from({ length: WORKERS }, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", WORKER, "contend", path, probe, String(ENTRIES)],
        stdout: "piped",
        stderr: "piped",
      }).output()),
  );
  const elapsed = performance.now() - started;
  const decoder = new TextDecoder();
  outputs.forEach((o, w) => assert.equal(o.code, 0, `worker ${w}: ${decoder.decode(o.stderr)}`));
  const refusals = outputs.reduce((n, o) => n + Number(decoder.decode(o.stdout).trim()), 0);

  const marks = (await Deno.readTextFile(probe)).trim().split("\n");
  assert.equal(marks.length, 2 * WORKERS * ENTRIES);
  let inside = 0;
  let most = 0;
  for (const m of marks) {
    inside += m.startsWith("+") ? 1 : -1;
    most = Math.max(most, inside);
  }
  assert.equal(most, 1, "at most one process inside the lock at any time");
  assert.equal(inside, 0);
  assert.ok(refusals > 0, "the workers did contend");
  console.log(
    `${WORKERS} processes x ${ENTRIES} entries in ${elapsed.toFixed(0)} ms, ` +
      `${refusals} refusals (exit 4), at most ${most} inside`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("acquireLock() is refused while the holder has not written its record yet", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "lock.json");
  // A holder between taking the kernel lock and writing its record: an empty, locked file.
  const early = await Deno.open(path, { read: true, write: true, create: true });
  assert.ok(await early.tryLock(true));
  await assert.rejects(() => acquireLock(path, "teardown"), (e: Error) => {
    assert.match(e.message, /has just started/);
    return isLocked(e);
  });
  assert.deepEqual(await lockStatus(path), { held: true, holder: undefined });
  early.close();
  // An empty file that nobody holds is simply free.
  const lock = await acquireLock(path, "teardown");
  assert.equal(lock.interrupted, undefined);
  await lock.release();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("acquireLock() is not blocked by a record naming a live unrelated process (pid reuse)", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "lock.json");
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    for (const pid of [1, other.pid]) {
      await Deno.writeTextFile(path, record(pid));
      assert.deepEqual(await lockStatus(path), {
        held: false,
        interrupted: parseLockInfo(record(pid)),
      });
      const lock = await acquireLock(path, "deploy");
      assert.equal(lock.interrupted?.pid, pid, "the left-over record is reported");
      await lock.release();
    }
  } finally {
    other.kill("SIGKILL");
    await other.status;
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("acquireLock() succeeds at once after the holder is killed and reports it", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "lock.json");
  const holder = await spawnHolder(path);
  await assert.rejects(() => acquireLock(path, "deploy"), (e: Error) => {
    assert.match(e.message, new RegExp(`"hold" \\(pid ${holder.pid} on `));
    return isLocked(e);
  });
  const status = await lockStatus(path);
  assert.ok(status.held && status.holder?.pid === holder.pid);
  await assert.rejects(() => clearLock(path), (e: Error) => {
    assert.match(e.message, /Cannot release the lock: a running change holds it/);
    assert.match((e as { hint?: string }).hint ?? "", new RegExp(`kill ${holder.pid}`));
    return isLocked(e);
  });
  await kill(holder);
  const started = performance.now();
  const lock = await acquireLock(path, "deploy");
  console.log(`lock taken ${(performance.now() - started).toFixed(1)} ms after SIGKILL`);
  assert.equal(lock.interrupted?.pid, holder.pid);
  assert.equal(lock.interrupted?.command, "hold");
  await lock.release();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("clearLock() clears a killed change's record and leaves a free lock free", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "lock.json");
  assert.equal(await clearLock(path), undefined, "no lock file: nothing to clear");
  await Deno.writeTextFile(path, record(4242, "promote canary"));
  assert.equal((await clearLock(path))?.command, "promote canary");
  assert.deepEqual(await lockStatus(path), { held: false, interrupted: undefined });
  assert.equal(await clearLock(path), undefined);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseLockInfo() shows no holder for an empty, half-written or foreign file", () => {
  assert.equal(parseLockInfo(""), undefined);
  assert.equal(parseLockInfo('{"pid":12,"host":"a"'), undefined);
  assert.equal(parseLockInfo('{"pid":"12","host":"a","command":"x","started_at":"y"}'), undefined);
  assert.equal(parseLockInfo("null"), undefined);
  assert.deepEqual(parseLockInfo(record(7)), {
    pid: 7,
    host: hostname(),
    command: "deploy",
    started_at: "2026-01-02T03:04:05Z",
  });
});
