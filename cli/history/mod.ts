/**
 * history.jsonl: the append-only, hash-chained record of every action.
 *
 * Each line is `{"v":1,"ts":…,"event":…,"actor":{"user","host","pid"},
 * "data":{…},"prev":<sha256 hex of the previous line's bytes>}` (keys in that
 * order; 64 zeros for the first line). `<file>.head` holds the line count and
 * the last line's hash so that removing the last lines is seen too;
 * `<file>.lock` serialises appenders across processes. See `_verify.ts` for
 * what each verification problem means.
 *
 * @module
 */

export {
  type Actor,
  type ChaosChangeData,
  type ChaosState,
  type DecisionData,
  type DeployBlockedData,
  type DeployData,
  type DeployFailedData,
  type DeployNoopData,
  EVENT_NAMES,
  type EventDataMap,
  type EventName,
  type HistoryEvent,
  type HistoryRecord,
  isEventName,
  type LockTakenOverData,
  type Mode,
  type PolicyResult,
  type PolicyViolationData,
  type PromoteBlockedData,
  type PromoteData,
  type PromoteFailedData,
  type StatusScrapeData,
  type TeardownData,
} from "./_events.ts";
export { appendEvent, type AppendOptions, type AppendResult, defaultActor } from "./_append.ts";
export { formatLine, parseLine, sha256Hex, ZERO_HASH } from "./_line.ts";
export { headPath, type HistoryHead } from "./_head.ts";
export { parseHistory, readHistory, type ReadHistoryResult } from "./_read.ts";
export {
  type HeadStatus,
  type HistoryProblem,
  verifyHistory,
  verifyHistoryBytes,
  type VerifyResult,
} from "./_verify.ts";
export { redact, REDACTED, SECRET_KEY } from "./_redact.ts";
