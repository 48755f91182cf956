/**
 * history.jsonl: the append-only, hash-chained, sealed record of every action.
 *
 * Each line is `{"v":2,"ts":…,"event":…,"actor":{"user","host","pid"},
 * "data":{…},"prev":<sha256 hex of the previous line's bytes>,"key":<key id>,
 * "mac":<HMAC-SHA256 of the line before "mac">}` (keys in that order; 64
 * zeros for the first line's prev; lines written before sealing are `v: 1`
 * without key and mac). `<file>.head` holds the line count and the last
 * line's hash so that removing the last lines is seen too; `<file>.lock`
 * serialises appenders across processes. The history is segmented
 * (`_segments.ts`), sealed with a key kept outside the project
 * (`_seal.ts`); see `_verify.ts` for what verification detects and what
 * each problem means.
 *
 * @module
 */

export {
  type Actor,
  type ChaosChangeData,
  type ChaosState,
  type ContainerOomKilledData,
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
  type ReleaseRef,
  type RolloutAbortedData,
  type RolloutAnalysisData,
  type RolloutCompletedData,
  type RolloutFiguresData,
  type RolloutPausedData,
  type RolloutPromotedData,
  type RolloutStartedData,
  type RolloutStepData,
  type RolloutVariantData,
  type StatusScrapeData,
  type TeardownData,
  type WebhookDeliveryData,
} from "./_events.ts";
export { appendEvent, type AppendOptions, type AppendResult, defaultActor } from "./_append.ts";
export { formatLine, formatSealedLine, parseLine, ZERO_HASH } from "./_line.ts";
export { headPath, type HistoryHead } from "./_head.ts";
export {
  type HistoryLine,
  parseHistory,
  readHistory,
  readHistoryLines,
  type ReadHistoryResult,
} from "./_read.ts";
export { SealKey } from "./_mac.ts";
export { keyDir, keyIdFor, keyLocation, loadOrCreateKey } from "./_seal.ts";
export { historyFiles, SEGMENT_BYTES, segmentPath } from "./_segments.ts";
export {
  DETECTED,
  type HeadStatus,
  type HistoryProblem,
  NOT_DETECTED,
  type SealStatus,
  verifyHistory,
  type VerifyOptions,
  type VerifyResult,
} from "./_verify.ts";
export { redact, REDACTED, SECRET_KEY } from "./_redact.ts";
