/** The Docker Engine: a typed API client and the project's own daemon. */
export {
  type ApiRange,
  CLIENT_API_RANGE,
  compareApiVersions,
  negotiateApiVersion,
  type Negotiation,
  type NegotiationProblem,
  parseApiVersion,
} from "./_api_version.ts";
export {
  CLIENT_API_VERSION,
  EngineApiError,
  EngineApiVersionError,
  EngineClient,
  EngineConflictError,
  EngineNotFoundError,
  EngineUnreachableError,
} from "./_client.ts";
export {
  candidateEndpoints,
  DockerHostError,
  type Endpoint,
  parseDockerHost,
} from "./_endpoint.ts";
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
