import assert from "node:assert/strict";
import {
  Chaos,
  chaosActiveCode,
  ChaosCommandError,
  decideChaos,
  NO_CHAOS,
  parseChaosCommand,
} from "./chaos.ts";
import { deferred, mulberry32 } from "./_testing.ts";

function rejects(body: unknown, message: RegExp): void {
  assert.throws(() => parseChaosCommand(body), (error: unknown) => {
    assert.ok(error instanceof ChaosCommandError, String(error));
    assert.match(error.message, /^Invalid chaos command: /);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("parseChaosCommand() accepts slow durations when 0 < duration <= 30", () => {
  for (const duration of [0.001, 1, 2.5, 30]) {
    assert.deepEqual(parseChaosCommand({ mode: "slow", duration }), { mode: "slow", duration });
  }
});

Deno.test("parseChaosCommand() rejects slow durations when out of range or not a number", () => {
  for (const duration of [0, -1, 30.0001, 31, 1e9]) {
    rejects(
      { mode: "slow", duration },
      new RegExp(
        `"duration" must be a number of seconds greater than 0 and at most 30, got ${duration}`,
      ),
    );
  }
  rejects({ mode: "slow", duration: "2" }, /"duration" must be .*, got "2"$/);
  rejects({ mode: "slow", duration: null }, /got null$/);
  rejects({ mode: "slow", duration: true }, /got true$/);
  rejects({ mode: "slow", duration: [1] }, /got \[1\]$/);
});

Deno.test("parseChaosCommand() accepts error rates when 0 <= rate <= 1", () => {
  for (const rate of [0, 0.25, 0.5, 1]) {
    assert.deepEqual(parseChaosCommand({ mode: "error", rate }), { mode: "error", rate });
  }
});

Deno.test("parseChaosCommand() rejects error rates when out of range or not a number", () => {
  for (const rate of [-0.0001, -1, 1.0001, 2]) {
    rejects(
      { mode: "error", rate },
      new RegExp(`"rate" must be a number between 0 and 1, got ${rate}`),
    );
  }
  rejects({ mode: "error", rate: "0.5" }, /"rate" must be .*, got "0.5"$/);
  rejects({ mode: "error", rate: null }, /got null$/);
});

Deno.test("parseChaosCommand() applies the original defaults when duration or rate is missing", () => {
  assert.deepEqual(parseChaosCommand({ mode: "slow" }), { mode: "slow", duration: 2 });
  assert.deepEqual(parseChaosCommand({ mode: "error" }), { mode: "error", rate: 0.5 });
});

Deno.test("parseChaosCommand() returns no chaos when the mode is recover", () => {
  assert.deepEqual(parseChaosCommand({ mode: "recover" }), { mode: "none" });
});

Deno.test("parseChaosCommand() accepts operation as a synonym of mode", () => {
  assert.deepEqual(parseChaosCommand({ operation: "error", rate: 0.1 }), {
    mode: "error",
    rate: 0.1,
  });
  assert.deepEqual(parseChaosCommand({ operation: "recover" }), { mode: "none" });
  assert.deepEqual(parseChaosCommand({ mode: "slow", operation: "slow", duration: 1 }), {
    mode: "slow",
    duration: 1,
  });
});

Deno.test("parseChaosCommand() rejects the body when mode and operation disagree", () => {
  rejects(
    { mode: "slow", operation: "error" },
    /"mode" and "operation" disagree: "slow" and "error"/,
  );
});

Deno.test("parseChaosCommand() rejects the body when the mode is missing, unknown or not a string", () => {
  rejects({}, /missing "mode": expected "slow", "error" or "recover"/);
  rejects({ duration: 1 }, /missing "mode"/);
  rejects({ mode: "explode" }, /unknown mode "explode": expected "slow", "error" or "recover"/);
  rejects({ operation: "SLOW" }, /unknown operation "SLOW"/);
  rejects({ mode: 1 }, /unknown mode 1/);
  rejects({ mode: null }, /unknown mode null/);
});

Deno.test("parseChaosCommand() rejects the body when it is not a JSON object", () => {
  rejects(null, /body must be a JSON object, got null/);
  rejects([], /body must be a JSON object, got \[\]/);
  rejects("slow", /got "slow"/);
  rejects(3, /got 3/);
});

Deno.test("parseChaosCommand() rejects the body when a key does not belong to the mode", () => {
  rejects({ mode: "slow", duration: 1, rate: 0.5 }, /unexpected key "rate" for mode "slow"/);
  rejects({ mode: "error", rate: 0.5, duration: 1 }, /unexpected key "duration" for mode "error"/);
  rejects({ mode: "recover", rate: 0 }, /unexpected key "rate" for mode "recover"/);
});

Deno.test("chaosActiveCode() maps none, slow and error to 0, 1 and 2", () => {
  assert.equal(chaosActiveCode(NO_CHAOS), 0);
  assert.equal(chaosActiveCode({ mode: "slow", duration: 1 }), 1);
  assert.equal(chaosActiveCode({ mode: "error", rate: 0 }), 2);
});

Deno.test("decideChaos() fails exactly when random() is below the rate", () => {
  const state = { mode: "error", rate: 0.3 } as const;
  assert.deepEqual(decideChaos(state, () => 0.2999), { action: "fail" });
  assert.deepEqual(decideChaos(state, () => 0.3), { action: "pass" });
  assert.deepEqual(decideChaos({ mode: "error", rate: 0 }, () => 0), { action: "pass" });
  assert.deepEqual(decideChaos({ mode: "error", rate: 1 }, () => 0.999999), { action: "fail" });
});

Deno.test("decideChaos() delays by the duration when slow and passes when none", () => {
  const never = () => assert.fail("random() is not used");
  assert.deepEqual(decideChaos({ mode: "slow", duration: 1.5 }, never), {
    action: "delay",
    seconds: 1.5,
  });
  assert.deepEqual(decideChaos(NO_CHAOS, never), { action: "pass" });
});

Deno.test("Chaos.apply() sleeps the duration in milliseconds when slow", async () => {
  const slept: number[] = [];
  const gate = deferred();
  const chaos = new Chaos({
    random: Math.random,
    sleep: (ms) => (slept.push(ms), gate.promise),
  });
  chaos.set({ mode: "slow", duration: 0.25 });
  let settled = false;
  const pending = chaos.apply().then((result) => ((settled = true), result));
  await Promise.resolve();
  assert.deepEqual(slept, [250]);
  assert.equal(settled, false, "apply() waits for the sleep");
  gate.resolve();
  assert.equal(await pending, "pass");
});

Deno.test("Chaos.apply() fails about rate of the calls when error chaos is set", async () => {
  const chaos = new Chaos({ random: mulberry32(42), sleep: () => assert.fail("no sleep") });
  chaos.set({ mode: "error", rate: 0.2 });
  let failures = 0;
  for (let i = 0; i < 5000; i++) if (await chaos.apply() === "fail") failures++;
  assert.ok(Math.abs(failures / 5000 - 0.2) < 0.02, `got ${failures} failures`);
  chaos.set(NO_CHAOS);
  assert.equal(await chaos.apply(), "pass");
  assert.equal(chaos.state.mode, "none");
});
