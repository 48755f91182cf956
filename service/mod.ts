/**
 * The SwiftDeploy application service. `createHandler` is the whole HTTP
 * surface; `service/main.ts` is the process (listen, signals, healthcheck,
 * exit codes) and the entry point of the bundled image (`deno bundle`).
 *
 * @module
 */

export { createHandler, MAX_CHAOS_BODY_BYTES } from "./handler.ts";
export type { Handler, HandlerConfig, HandlerDeps } from "./handler.ts";
export { ConfigError, DEFAULT_CONFIG, ENV_VARIABLES, parseConfig } from "./config.ts";
export type { EnvVariable, Mode, ServiceConfig } from "./config.ts";
export {
  ChaosCommandError,
  DEFAULT_ERROR_RATE,
  DEFAULT_SLOW_SECONDS,
  MAX_SLOW_SECONDS,
  parseChaosCommand,
} from "./chaos.ts";
export type { ChaosActiveCode, ChaosState } from "./chaos.ts";
export { DURATION_BUCKETS, KNOWN_METHODS, KNOWN_PATHS } from "./metrics.ts";
export type { MethodLabel, PathLabel } from "./metrics.ts";
