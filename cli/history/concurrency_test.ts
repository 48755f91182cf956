import assert from "node:assert/strict";
import { parseLine, verifyHistory } from "./mod.ts";

const WORKERS = 8;
const EACH = 500;

Deno.test("appendEvent() from 8 processes x 500 events gives 4,000 whole lines in one intact chain", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_concurrency_" });
  await Deno.mkdir(`${dir}/project`);
  const file = `${dir}/project/history.jsonl`;
  const keyDir = `${dir}/keys`;
  const script = new URL("./_append_many.ts", import.meta.url).pathname;
  try {
    const children = Array.from({ length: WORKERS }, (_, w) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "--allow-sys",
          script,
          file,
          String(EACH),
          String(w),
        ],
        env: { SWIFTDEPLOY_KEY_DIR: keyDir },
        stdout: "null",
        stderr: "piped",
      }).spawn());
    const outputs = await Promise.all(children.map((c) => c.output()));
    outputs.forEach((o, w) =>
      assert.equal(o.code, 0, `worker ${w}: ${new TextDecoder().decode(o.stderr)}`)
    );

    const text = await Deno.readTextFile(file);
    assert.ok(text.endsWith("\n"));
    const lines = text.slice(0, -1).split("\n");
    assert.equal(lines.length, WORKERS * EACH);

    const seen = new Map<string, number[]>();
    for (const line of lines) {
      const parsed = parseLine(line);
      assert.ok(parsed.ok, `not a valid line: ${line.slice(0, 120)}`);
      const worker = String(parsed.event.data["domain"]);
      const seq = Number(parsed.event.data["error_rate_percent"]);
      seen.set(worker, [...(seen.get(worker) ?? []), seq]);
    }
    // Every worker's events are all there, each once, in the order it wrote them.
    assert.equal(seen.size, WORKERS);
    for (const [worker, seqs] of seen) {
      assert.deepEqual(seqs, Array.from({ length: EACH }, (_, i) => i), worker);
    }
    const verified = await verifyHistory(file, { keyDir });
    assert.equal(verified.ok, true, verified.ok ? "" : verified.message);
    if (verified.ok) {
      assert.deepEqual(
        [verified.lines, verified.head, verified.seals.sealed, verified.seals.checkpoint],
        [WORKERS * EACH, "match", WORKERS * EACH, "match"],
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
