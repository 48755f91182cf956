/**
 * Segments: the active file is archived as history.<n>.jsonl at a size, one
 * chain runs through all files, and tampering at a boundary is detected.
 */

import { sha256Hex } from "../digest/mod.ts";
import assert from "node:assert/strict";
import {
  appendEvent,
  formatLine,
  headPath,
  historyFiles,
  type HistoryProblem,
  parseLine,
  readHistory,
  segmentPath,
  verifyHistory,
  type VerifyResult,
  ZERO_HASH,
} from "./mod.ts";

/** About 190 bytes a line: a 1,000-byte segment holds 5 to 6 lines. */
const SEGMENT = 1000;

async function segmented(count: number) {
  const root = await Deno.makeTempDir({ prefix: "swiftdeploy_segments_" });
  await Deno.mkdir(`${root}/project`);
  const file = `${root}/project/history.jsonl`;
  const keys = `${root}/keys`;
  const append = (i: number) =>
    appendEvent(file, "chaos_change", { mode: "error", rate: i / 100 }, {
      actor: { user: "ops", host: "h", pid: 1 },
      now: () => new Date(Date.UTC(2026, 10, 21, 12, 0, i % 60)),
      segmentBytes: SEGMENT,
      keyDir: keys,
    });
  for (let i = 1; i <= count; i++) await append(i);
  return {
    file,
    keys,
    append,
    verify: () => verifyHistory(file, { keyDir: keys }),
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true });
    },
  };
}

async function linesOf(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path)).slice(0, -1).split("\n");
}

function assertFails(result: VerifyResult, line: number, problem: HistoryProblem): void {
  assert.equal(result.ok, false, `expected "${problem}" at line ${line}, got a pass`);
  if (result.ok) return;
  assert.equal(result.problem, problem, result.message);
  assert.equal(result.line, line, result.message);
}

Deno.test("appendEvent() archives the active file at the segment size and chains across segments", async () => {
  await using h = await segmented(20);
  const files = await historyFiles(h.file);
  assert.ok(files.length >= 3, `expected several segments, got ${files.join(", ")}`);
  assert.deepEqual(
    files.slice(0, -1),
    files.slice(0, -1).map((_, i) => segmentPath(h.file, i + 1)),
  );
  assert.equal(segmentPath(h.file, 2).endsWith("/project/history.2.jsonl"), true);
  let prev = ZERO_HASH;
  let total = 0;
  for (const f of files) {
    const lines = await linesOf(f);
    // A segment is archived once it reached the size: never much more than that.
    if (f !== h.file) assert.ok((await Deno.stat(f)).size >= SEGMENT);
    for (const line of lines) {
      const parsed = parseLine(line);
      assert.ok(
        parsed.ok && parsed.event.prev === prev,
        `line ${total + 1} links to the one before`,
      );
      prev = sha256Hex(line);
      total++;
    }
  }
  assert.equal(total, 20);
  const result = await h.verify();
  assert.ok(result.ok, result.ok ? "" : result.message);
  assert.deepEqual([result.lines, result.files, result.head, result.seals.checkpoint], [
    20,
    files.length,
    "match",
    "match",
  ]);
  const read = await readHistory(h.file);
  assert.deepEqual(
    read.events.map((e) => e.data["rate"]),
    Array.from({ length: 20 }, (_, i) => (i + 1) / 100),
  );
});

Deno.test("verifyHistory() detects tampering at a segment boundary", async (t) => {
  await t.step("the last line of a segment removed", async () => {
    await using h = await segmented(14);
    const seg = segmentPath(h.file, 1);
    const lines = await linesOf(seg);
    await Deno.writeTextFile(seg, lines.slice(0, -1).map((l) => l + "\n").join(""));
    // The next segment's first line no longer links: a line is missing there.
    assertFails(await h.verify(), lines.length, "removed");
  });
  await t.step("the first line of the next segment edited", async () => {
    await using h = await segmented(14);
    const seg = segmentPath(h.file, 2);
    const first = (await linesOf(segmentPath(h.file, 1))).length + 1;
    const lines = await linesOf(seg);
    lines[0] = lines[0]!.replace('"pid":1', '"pid":2');
    await Deno.writeTextFile(seg, lines.map((l) => l + "\n").join(""));
    assertFails(await h.verify(), first, "edited");
  });
  await t.step("a whole segment removed", async () => {
    await using h = await segmented(14);
    await Deno.remove(segmentPath(h.file, 1));
    const result = await h.verify();
    assertFails(result, 1, "removed");
    if (!result.ok) assert.match(result.message, /Segment ".*history\.1\.jsonl" is missing/);
  });
  await t.step("two segments swapped", async () => {
    await using h = await segmented(14);
    const [a, b] = [segmentPath(h.file, 1), segmentPath(h.file, 2)];
    const [ta, tb] = [await Deno.readTextFile(a), await Deno.readTextFile(b)];
    await Deno.writeTextFile(a, tb);
    await Deno.writeTextFile(b, ta);
    assertFails(await h.verify(), 1, "reordered"); // line 1 follows a line further down
  });
  await t.step("a segment that does not end with a newline", async () => {
    await using h = await segmented(14);
    const seg = segmentPath(h.file, 1);
    const count = (await linesOf(seg)).length;
    await Deno.writeTextFile(seg, (await Deno.readTextFile(seg)).slice(0, -1));
    assertFails(await h.verify(), count, "truncated");
  });
});

Deno.test("a history written before segments keeps verifying and goes on in segments", async () => {
  await using h = await segmented(0);
  // 8 lines as today's version wrote them: one file, v1, no seal.
  let prev = ZERO_HASH;
  const old: string[] = [];
  for (let i = 1; i <= 8; i++) {
    const line = formatLine({
      ts: `2026-11-20T10:00:0${i}.000Z`,
      event: "deploy_noop",
      actor: { user: "ops", host: "h", pid: 1 },
      data: { mode: "stable", version: String(i) },
      prev,
    });
    old.push(line);
    prev = sha256Hex(line);
  }
  await Deno.writeTextFile(h.file, old.map((l) => l + "\n").join(""));
  await Deno.writeTextFile(headPath(h.file), JSON.stringify({ v: 1, lines: 8, last: prev }) + "\n");
  const before = await h.verify();
  assert.ok(before.ok && before.files === 1 && before.seals.unsealed === 8);

  await h.append(9); // the old file is over the size: archived as segment 1
  assert.deepEqual(await historyFiles(h.file), [segmentPath(h.file, 1), h.file]);
  assert.equal(await Deno.readTextFile(segmentPath(h.file, 1)), old.map((l) => l + "\n").join(""));
  const after = await h.verify();
  assert.ok(after.ok, after.ok ? "" : after.message);
  assert.deepEqual([after.lines, after.files, after.seals.unsealed, after.seals.sealed], [
    9,
    2,
    8,
    1,
  ]);
});

Deno.test("appendEvent() after a crash between archiving and writing chains to the last segment", async () => {
  await using h = await segmented(6);
  const files = await historyFiles(h.file);
  const lines = (await h.verify()).lines;
  // As if the process died right after renaming the active file away.
  await Deno.rename(h.file, segmentPath(h.file, files.length));
  const next = await h.append(7);
  assert.equal(next.line, lines + 1);
  const last = (await linesOf(segmentPath(h.file, files.length))).at(-1)!;
  assert.equal(next.record.prev, sha256Hex(last));
  const result = await h.verify();
  assert.ok(result.ok, result.ok ? "" : result.message);
  assert.equal(result.lines, lines + 1);
});
