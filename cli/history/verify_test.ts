import assert from "node:assert/strict";
import {
  appendEvent,
  headPath,
  type HistoryProblem,
  keyIdFor,
  verifyHistory,
  type VerifyResult,
} from "./mod.ts";

const LINES = 10;

/**
 * A temp dir with a verified 10-line sealed history (`project/history.jsonl`,
 * its key in `keys/`, outside the project); `lines()` / `write()` tamper
 * with it, `verify()` verifies it with that key folder.
 */
async function history() {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_verify_" });
  await Deno.mkdir(`${dir}/project`);
  const file = `${dir}/project/history.jsonl`;
  const keyDir = `${dir}/keys`;
  for (let i = 1; i <= LINES; i++) {
    await appendEvent(file, "status_scrape", {
      mode: "canary",
      chaos: "none",
      version: "1.0.0",
      requests_per_second: i,
      error_rate_percent: 0,
      p99_latency_ms: 12.5,
      request_count: 100 + i,
      window_seconds: 30,
      policy: { infrastructure: "PASS", canary: "PASS" },
    }, {
      actor: { user: "root", host: "h", pid: 1 },
      now: () => new Date(Date.UTC(2026, 10, 21, 12, 0, i)),
      keyDir,
    });
  }
  return {
    file,
    keyDir,
    verify(): Promise<VerifyResult> {
      return verifyHistory(file, { keyDir });
    },
    append(): Promise<unknown> {
      return appendEvent(file, "teardown", { clean: false, removed: [] }, { keyDir });
    },
    async lines(): Promise<string[]> {
      const text = await Deno.readTextFile(file);
      return text.slice(0, -1).split("\n");
    },
    async write(lines: string[], newline = true): Promise<void> {
      await Deno.writeTextFile(file, lines.join("\n") + (newline ? "\n" : ""));
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Asserts a passing verification with these figures (seal figures checked where given). */
function assertOk(
  result: VerifyResult,
  want: { lines: number; head: string; sealed?: number; unsealed?: number; checkpoint?: string },
): void {
  assert.equal(result.ok, true, result.ok ? "" : result.message);
  if (!result.ok) return;
  assert.equal(result.lines, want.lines);
  assert.equal(result.head, want.head);
  if (want.sealed !== undefined) assert.equal(result.seals.sealed, want.sealed);
  if (want.unsealed !== undefined) assert.equal(result.seals.unsealed, want.unsealed);
  if (want.checkpoint !== undefined) assert.equal(result.seals.checkpoint, want.checkpoint);
}

function assertProblem(result: VerifyResult, line: number, problem: HistoryProblem): void {
  assert.equal(result.ok, false, `expected a "${problem}" at line ${line}, got ok`);
  if (result.ok) return;
  assert.equal(result.problem, problem, result.message);
  assert.equal(result.line, line, result.message);
  assert.match(result.message, new RegExp(`[Ll]ine ${line}\\b`));
}

Deno.test("verifyHistory() passes an untouched history and a missing one", async () => {
  await using h = await history();
  assertOk(await h.verify(), {
    lines: LINES,
    head: "match",
    sealed: LINES,
    unsealed: 0,
    checkpoint: "match",
  });
  assertOk(await verifyHistory(h.file + ".none", { keyDir: h.keyDir }), {
    lines: 0,
    head: "missing",
    sealed: 0,
    checkpoint: "missing",
  });
});

Deno.test("verifyHistory() names a line edited in the middle as edited", async () => {
  await using h = await history();
  const lines = await h.lines();
  // One byte in the middle of line 5, JSON still valid: "request_count":105 -> 905.
  lines[4] = lines[4]!.replace('"request_count":105', '"request_count":905');
  await h.write(lines);
  assertProblem(await h.verify(), 5, "edited");
});

Deno.test("verifyHistory() names a line edited in its prev field as edited", async () => {
  await using h = await history();
  const lines = await h.lines();
  lines[3] = lines[3]!.replace(
    /"prev":"(.)/,
    (_m, c: string) => `"prev":"${c === "a" ? "b" : "a"}`,
  );
  await h.write(lines);
  assertProblem(await h.verify(), 4, "edited");
});

Deno.test("verifyHistory() names an edit that breaks the JSON as malformed", async () => {
  await using h = await history();
  const lines = await h.lines();
  lines[5] = lines[5]!.replace('"event":', '"event"');
  await h.write(lines);
  assertProblem(await h.verify(), 6, "malformed");
});

Deno.test("verifyHistory() names a removed middle line as removed", async () => {
  await using h = await history();
  const lines = await h.lines();
  lines.splice(4, 1); // line 5 gone: the old line 6 is now line 5
  await h.write(lines);
  assertProblem(await h.verify(), 5, "removed");
});

Deno.test("verifyHistory() names a removed first line as removed", async () => {
  await using h = await history();
  await h.write((await h.lines()).slice(1));
  assertProblem(await h.verify(), 1, "removed");
});

Deno.test("verifyHistory() names the removed last line from the head file", async () => {
  await using h = await history();
  await h.write((await h.lines()).slice(0, -1));
  assertProblem(await h.verify(), 10, "removed");
});

Deno.test("verifyHistory() names an edited last line from the head file", async () => {
  await using h = await history();
  const lines = await h.lines();
  lines[9] = lines[9]!.replace('"request_count":110', '"request_count":111');
  await h.write(lines);
  assertProblem(await h.verify(), 10, "edited");
});

Deno.test("verifyHistory() names a truncated last line", async () => {
  await using h = await history();
  const text = await Deno.readTextFile(h.file);
  await Deno.writeTextFile(h.file, text.slice(0, text.length - 40));
  assertProblem(await h.verify(), 10, "truncated");
});

Deno.test("verifyHistory() names a file cut in the middle as truncated at the cut line", async () => {
  await using h = await history();
  const lines = await h.lines();
  const cut = lines.slice(0, 6).join("\n") + "\n" + lines[6]!.slice(0, 50);
  await Deno.writeTextFile(h.file, cut);
  assertProblem(await h.verify(), 7, "truncated");
});

Deno.test("verifyHistory() names a whole last line without its newline as truncated", async () => {
  await using h = await history();
  await h.write(await h.lines(), false);
  assertProblem(await h.verify(), 10, "truncated");
});

Deno.test("verifyHistory() names two swapped lines as reordered", async () => {
  await using h = await history();
  const lines = await h.lines();
  [lines[2], lines[6]] = [lines[6]!, lines[2]!];
  await h.write(lines);
  assertProblem(await h.verify(), 3, "reordered");
});

Deno.test("verifyHistory() names two swapped neighbours as reordered", async () => {
  await using h = await history();
  const lines = await h.lines();
  [lines[8], lines[9]] = [lines[9]!, lines[8]!];
  await h.write(lines);
  assertProblem(await h.verify(), 9, "reordered");
});

Deno.test("verifyHistory() names a duplicated line as inserted", async () => {
  await using h = await history();
  const lines = await h.lines();
  lines.splice(4, 0, lines[3]!); // line 4 twice
  await h.write(lines);
  // Lines 4 and 5 are identical; line 5 links to line 3, so one of them is extra.
  assertProblem(await h.verify(), 4, "inserted");
});

Deno.test("verifyHistory() names a forged line with a valid prev as inserted", async () => {
  await using h = await history();
  const lines = await h.lines();
  const forged = JSON.parse(lines[3]!);
  forged.data.request_count = 1; // a made-up line linked to line 3, placed after it
  lines.splice(3, 0, JSON.stringify(forged));
  await h.write(lines);
  assertProblem(await h.verify(), 4, "inserted");
});

Deno.test("verifyHistory() names lines appended without the head as inserted", async () => {
  await using h = await history();
  const head = await Deno.readTextFile(headPath(h.file));
  await h.append();
  await h.append();
  await Deno.writeTextFile(headPath(h.file), head);
  assertProblem(await h.verify(), 11, "inserted");
});

Deno.test("verifyHistory() names an emptied history whose head records lines as removed", async () => {
  await using h = await history();
  await Deno.writeTextFile(h.file, "");
  assertProblem(await h.verify(), 1, "removed");
});

Deno.test("verifyHistory() without a head still sees a removed last line by the checkpoint beside the key", async () => {
  await using h = await history();
  await Deno.remove(headPath(h.file));
  await h.write((await h.lines()).slice(0, -1));
  assertProblem(await h.verify(), 10, "removed");
});

Deno.test("verifyHistory() without a head or checkpoint cannot see a removed last line and says so", async () => {
  await using h = await history();
  await Deno.remove(headPath(h.file));
  await Deno.remove(`${h.keyDir}/${await keyIdFor(h.file)}.checkpoint`);
  await h.write((await h.lines()).slice(0, -1));
  assertOk(await h.verify(), { lines: 9, head: "missing", sealed: 9, checkpoint: "missing" });
  // A removed middle line still breaks the chain; without the count it reads as an edit.
  const lines = await h.lines();
  lines.splice(4, 1);
  await h.write(lines);
  assertProblem(await h.verify(), 4, "edited");
});

Deno.test("verifyHistory() reports an unreadable head as invalid, not as a pass with a head", async () => {
  await using h = await history();
  await Deno.writeTextFile(headPath(h.file), "garbage");
  assertOk(await h.verify(), { lines: LINES, head: "invalid", checkpoint: "match" });
});
