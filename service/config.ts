/**
 * Service configuration: the environment turned into a typed, validated
 * value. Pure: callers pass the variables in, so tests need no real env.
 */

export type Mode = "stable" | "canary";

export interface ServiceConfig {
  /** `MODE`: stable or canary (default stable). */
  mode: Mode;
  /** `APP_VERSION`: reported in `/` and `/healthz` (default 1.0.0). */
  version: string;
  /** `APP_PORT`: TCP port the server listens on (default 3000). */
  port: number;
  /** `SHUTDOWN_TIMEOUT_SECONDS`: longest wait for in-flight requests on SIGTERM (default 10). */
  shutdownTimeoutSeconds: number;
}

export const DEFAULT_CONFIG: Readonly<ServiceConfig> = Object.freeze({
  mode: "stable",
  version: "1.0.0",
  port: 3000,
  shutdownTimeoutSeconds: 10,
});

/** The names of every variable the service reads. */
export const ENV_VARIABLES = [
  "MODE",
  "APP_VERSION",
  "APP_PORT",
  "SHUTDOWN_TIMEOUT_SECONDS",
] as const;
export type EnvVariable = (typeof ENV_VARIABLES)[number];

/** A variable holds a value the service cannot start with. `main.ts` exits 2 on it. */
export class ConfigError extends Error {
  readonly variable: EnvVariable;
  readonly value: string;
  readonly exitCode = 2;

  constructor(variable: EnvVariable, value: string, problem: string) {
    super(`Invalid environment variable ${variable}: ${problem}, got ${JSON.stringify(value)}`);
    this.name = "ConfigError";
    this.variable = variable;
    this.value = value;
  }
}

const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
const PORT_PATTERN = /^[0-9]{1,5}$/;
const SECONDS_PATTERN = /^[0-9]{1,4}(\.[0-9]{1,3})?$/;
const MAX_SHUTDOWN_TIMEOUT_SECONDS = 3600;

/**
 * Parses the service's variables. An unset variable takes its default; a set
 * but empty or malformed one is an error (checked in the order of
 * `ENV_VARIABLES`, the first problem wins).
 *
 * @throws {ConfigError} naming the variable, the rule and the value
 */
export function parseConfig(env: (name: string) => string | undefined): ServiceConfig {
  return {
    mode: parseMode(env("MODE")),
    version: parseVersion(env("APP_VERSION")),
    port: parsePort(env("APP_PORT")),
    shutdownTimeoutSeconds: parseShutdownTimeout(env("SHUTDOWN_TIMEOUT_SECONDS")),
  };
}

function parseMode(raw: string | undefined): Mode {
  if (raw === undefined) return DEFAULT_CONFIG.mode;
  if (raw === "stable" || raw === "canary") return raw;
  throw new ConfigError("MODE", raw, 'must be "stable" or "canary"');
}

function parseVersion(raw: string | undefined): string {
  if (raw === undefined) return DEFAULT_CONFIG.version;
  if (VERSION_PATTERN.test(raw)) return raw;
  throw new ConfigError(
    "APP_VERSION",
    raw,
    "must be 1 to 64 letters, digits or . + _ - starting with a letter or digit",
  );
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_CONFIG.port;
  const port = PORT_PATTERN.test(raw) ? Number(raw) : NaN;
  if (port >= 1 && port <= 65535) return port;
  throw new ConfigError("APP_PORT", raw, "must be an integer between 1 and 65535");
}

function parseShutdownTimeout(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_CONFIG.shutdownTimeoutSeconds;
  const seconds = SECONDS_PATTERN.test(raw) ? Number(raw) : NaN;
  if (seconds >= 0 && seconds <= MAX_SHUTDOWN_TIMEOUT_SECONDS) return seconds;
  throw new ConfigError(
    "SHUTDOWN_TIMEOUT_SECONDS",
    raw,
    `must be a number of seconds between 0 and ${MAX_SHUTDOWN_TIMEOUT_SECONDS}`,
  );
}
