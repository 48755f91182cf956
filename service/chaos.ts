/**
 * Chaos injection: the state set through `POST /chaos`, the validation of
 * that command and the decision taken for each application request. The
 * random source and the sleep are injected so tests are deterministic.
 */

export type ChaosState =
  | { readonly mode: "none" }
  | { readonly mode: "slow"; readonly duration: number }
  | { readonly mode: "error"; readonly rate: number };

/** What chaos does to one application request. */
export type ChaosDecision =
  | { readonly action: "pass" }
  | { readonly action: "delay"; readonly seconds: number }
  | { readonly action: "fail" };

/** Value of the `chaos_active` gauge: 0 none, 1 slow, 2 error. */
export type ChaosActiveCode = 0 | 1 | 2;

export const MAX_SLOW_SECONDS = 30;
/** Used when a slow command has no `duration` (as the original service did). */
export const DEFAULT_SLOW_SECONDS = 2;
/** Used when an error command has no `rate` (as the original service did). */
export const DEFAULT_ERROR_RATE = 0.5;

export const NO_CHAOS: ChaosState = Object.freeze({ mode: "none" });

/** The body of `POST /chaos` is not a valid command; the handler answers 400. */
export class ChaosCommandError extends Error {
  constructor(problem: string) {
    super(`Invalid chaos command: ${problem}`);
    this.name = "ChaosCommandError";
  }
}

const ALLOWED_KEYS = {
  slow: ["mode", "operation", "duration"],
  error: ["mode", "operation", "rate"],
  recover: ["mode", "operation"],
} as const;

/**
 * Validates a parsed JSON body: `{"mode":"slow","duration":S}` with
 * 0 < S <= 30, `{"mode":"error","rate":R}` with 0 <= R <= 1, or
 * `{"mode":"recover"}`. `operation` is accepted in place of `mode`.
 *
 * @returns the chaos state the command sets (`recover` gives `{mode: "none"}`)
 * @throws {ChaosCommandError} naming the problem
 */
export function parseChaosCommand(body: unknown): ChaosState {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ChaosCommandError(`body must be a JSON object, got ${describe(body)}`);
  }
  const fields = body as Record<string, unknown>;
  const mode = readMode(fields);
  const allowed: readonly string[] = ALLOWED_KEYS[mode];
  const unexpected = Object.keys(fields).find((key) => !allowed.includes(key));
  if (unexpected !== undefined) {
    throw new ChaosCommandError(
      `unexpected key ${JSON.stringify(unexpected)} for mode ${JSON.stringify(mode)}`,
    );
  }
  switch (mode) {
    case "slow": {
      const duration = Object.hasOwn(fields, "duration") ? fields.duration : DEFAULT_SLOW_SECONDS;
      if (!isFiniteNumber(duration) || duration <= 0 || duration > MAX_SLOW_SECONDS) {
        throw new ChaosCommandError(
          `"duration" must be a number of seconds greater than 0 and at most ${MAX_SLOW_SECONDS}, got ${
            describe(duration)
          }`,
        );
      }
      return Object.freeze({ mode: "slow", duration });
    }
    case "error": {
      const rate = Object.hasOwn(fields, "rate") ? fields.rate : DEFAULT_ERROR_RATE;
      if (!isFiniteNumber(rate) || rate < 0 || rate > 1) {
        throw new ChaosCommandError(
          `"rate" must be a number between 0 and 1, got ${describe(rate)}`,
        );
      }
      return Object.freeze({ mode: "error", rate });
    }
    case "recover":
      return NO_CHAOS;
  }
}

function readMode(fields: Record<string, unknown>): keyof typeof ALLOWED_KEYS {
  const hasMode = Object.hasOwn(fields, "mode");
  const hasOperation = Object.hasOwn(fields, "operation");
  if (hasMode && hasOperation && fields.mode !== fields.operation) {
    throw new ChaosCommandError(
      `"mode" and "operation" disagree: ${describe(fields.mode)} and ${describe(fields.operation)}`,
    );
  }
  if (!hasMode && !hasOperation) {
    throw new ChaosCommandError('missing "mode": expected "slow", "error" or "recover"');
  }
  const key = hasMode ? "mode" : "operation";
  const value = fields[key];
  if (value === "slow" || value === "error" || value === "recover") return value;
  throw new ChaosCommandError(
    `unknown ${key} ${describe(value)}: expected "slow", "error" or "recover"`,
  );
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  return JSON.stringify(value) ?? String(value);
}

/** The `chaos_active` gauge value of a state. */
export function chaosActiveCode(state: ChaosState): ChaosActiveCode {
  switch (state.mode) {
    case "none":
      return 0;
    case "slow":
      return 1;
    case "error":
      return 2;
  }
}

/**
 * What chaos does to one application request. Error chaos fails when
 * `random()` (uniform in [0, 1)) is below the rate, so rate 0 never fails
 * and rate 1 always does.
 */
export function decideChaos(state: ChaosState, random: () => number): ChaosDecision {
  switch (state.mode) {
    case "none":
      return { action: "pass" };
    case "slow":
      return { action: "delay", seconds: state.duration };
    case "error":
      return random() < state.rate ? { action: "fail" } : { action: "pass" };
  }
}

export interface ChaosDeps {
  /** Uniform in [0, 1). */
  random: () => number;
  /** Resolves after `ms` milliseconds without blocking other requests. */
  sleep: (ms: number) => Promise<void>;
}

/** The chaos state of one service instance. */
export class Chaos {
  #state: ChaosState = NO_CHAOS;
  readonly #deps: ChaosDeps;

  constructor(deps: ChaosDeps) {
    this.#deps = deps;
  }

  get state(): ChaosState {
    return this.#state;
  }

  set(state: ChaosState): void {
    this.#state = state;
  }

  /**
   * Applies the current chaos to one application request: waits when slow
   * (asynchronously, other requests go on), and tells whether it must fail.
   */
  async apply(): Promise<"pass" | "fail"> {
    const decision = decideChaos(this.#state, this.#deps.random);
    if (decision.action === "delay") {
      await this.#deps.sleep(decision.seconds * 1000);
      return "pass";
    }
    return decision.action;
  }
}

/** A sleep on the event loop's timers. */
export function timerSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The variable that enables the test-only `{"mode":"allocate"}` command
 * (issue 17). No SwiftDeploy plan or build sets it: only an image a test
 * builds on top of the app's (`ENV SWIFTDEPLOY_TEST_ALLOCATE_CHAOS=1`). Without it
 * the command is an unknown mode (400), as it always was.
 */
export const ALLOCATE_CHAOS_ENV = "SWIFTDEPLOY_TEST_ALLOCATE_CHAOS";

/** True for a `POST /chaos` body `{"mode":"allocate"}` (or `operation`), nothing else in it. */
export function isAllocateCommand(body: unknown): boolean {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const fields = body as Record<string, unknown>;
  const keys = Object.keys(fields);
  return keys.length > 0 &&
    keys.every((k) => (k === "mode" || k === "operation") && fields[k] === "allocate");
}

/** Bytes allocated per step by `allocateWithoutBound`: 8 MiB. */
export const ALLOCATE_STEP_BYTES = 8 * 1024 * 1024;

/**
 * Allocates memory without bound, `ALLOCATE_STEP_BYTES` every `intervalMs`,
 * each buffer written so its pages are resident and kept, until the process
 * is killed (by the container's memory cap: the engine then restarts it).
 * `keep` receives each buffer (tests pass their own and stop by throwing).
 */
export async function allocateWithoutBound(
  keep: (buffer: Uint8Array) => void,
  sleep: (ms: number) => Promise<void> = timerSleep,
  intervalMs = 10,
): Promise<never> {
  while (true) {
    keep(new Uint8Array(ALLOCATE_STEP_BYTES).fill(1));
    await sleep(intervalMs);
  }
}
