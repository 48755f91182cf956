/** The Docker Engine: a typed API client and the project's own daemon. */
export {
  CLIENT_API_VERSION,
  EngineApiError,
  EngineClient,
  EngineConflictError,
  EngineNotFoundError,
  EngineUnreachableError,
} from "./_client.ts";
export { candidateEndpoints, type Endpoint, parseDockerHost } from "./_endpoint.ts";
export { demuxLogs, readJsonLines } from "./_stream.ts";
export * from "./_types.ts";
export {
  type DaemonPaths,
  daemonPaths,
  engineStart,
  type EngineStatus,
  engineStatus,
  engineStop,
} from "./daemon.ts";
