/**
 * Durations as the manifest writes them: `30s`, `2m`, `1h`, `1m30s`,
 * `1h30m` (hours, minutes, seconds in that order, each at most once, whole
 * numbers only), or a plain whole number of seconds (`30`, as YAML integer or
 * string). Go's and Prometheus' spelling without fractions or milliseconds:
 * every duration the manifest takes is whole seconds.
 */

const UNITS = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const PLAIN = /^\d+$/;
/** Integer YAML literals as written: no sign, float, hex or octal. */
const INTEGER_SOURCE = /^\d+$/;

/**
 * The number of seconds `value` stands for, or undefined when it is not a
 * duration. `source` is the scalar as written, so that `30.0` or `0x1e`
 * (numbers YAML reads as whole) are refused like any other non-duration.
 */
export function durationSeconds(value: unknown, source: string): number | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 && INTEGER_SOURCE.test(source)
      ? value
      : undefined;
  }
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (PLAIN.test(text)) return safe(Number(text));
  const match = UNITS.exec(text);
  if (match === null || text === "") return undefined;
  const [, h = "0", m = "0", s = "0"] = match;
  return safe(Number(h) * 3600 + Number(m) * 60 + Number(s));
}

function safe(n: number): number | undefined {
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `90` → "1m30s", `3600` → "1h", `0` → "0s": how messages show seconds. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
}
