/**
 * The last per-variant edge reading `status` took, kept as JSON in
 * `<state dir>/status_variant_sample.json`, so the next refresh (or the
 * next `status --once`) has the start of its interval, as kept scrapes do
 * for the app's window. Pure: encoding, decoding and whether a kept reading
 * may serve; the command does the file I/O.
 *
 * @module
 */
import type { VariantSample } from "../edge/mod.ts";

/** File name of the kept reading in the state folder. */
export const VARIANT_KEEP_FILE = "status_variant_sample.json";

/**
 * A kept reading older than this (seconds) does not start an interval: the
 * figures would describe minutes ago as "now". Beyond it the dashboard
 * shows no per-variant figures until its next refresh.
 */
export const VARIANT_BASELINE_MAX_AGE_SECONDS = 300;

/** `sample` as one JSON line; bucket bounds of +Inf are written "+Inf" (JSON has no Infinity). */
export function encodeVariantSample(sample: VariantSample): string {
  return JSON.stringify(sample, (_k, v) => (v === Infinity ? "+Inf" : v));
}

const isNum = (v: unknown): v is number => typeof v === "number";

/**
 * The reading `text` holds, or undefined when it is not one (a damaged or
 * foreign file is no baseline: never an error on the dashboard).
 */
export function decodeVariantSample(text: string): VariantSample | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text, (_k, v) => (v === "+Inf" ? Infinity : v));
  } catch {
    return undefined;
  }
  const s = value as Partial<VariantSample> | null;
  if (
    typeof s !== "object" || s === null || !isNum(s.atMs) || typeof s.instance !== "string" ||
    !isNum(s.revision) || !isNum(s.weight) || typeof s.variants !== "object" || s.variants === null
  ) return undefined;
  for (const v of ["stable", "canary"] as const) {
    const c = s.variants[v];
    if (
      typeof c !== "object" || c === null || typeof c.classes !== "object" ||
      c.classes === null || !Object.values(c.classes).every(isNum) || !Array.isArray(c.buckets) ||
      !c.buckets.every((b) => isNum(b?.le) && isNum(b?.count)) || !isNum(c.sum) ||
      !isNum(c.count)
    ) return undefined;
  }
  return s as VariantSample;
}

/**
 * True when a reading taken at `baseAtMs` may start the interval ending at
 * `nowAtMs`: it is earlier, and at most VARIANT_BASELINE_MAX_AGE_SECONDS old.
 */
export function usableBaseline(baseAtMs: number, nowAtMs: number): boolean {
  const age = nowAtMs - baseAtMs;
  return age > 0 && age <= VARIANT_BASELINE_MAX_AGE_SECONDS * 1000;
}
