/**
 * Releases (issue 15): numbered, content-addressed evidence bundles of every
 * change under `.swiftdeploy/releases/`, their pure logic (hash, gates.tsv,
 * retention, rollback target) and the store. See types.ts for the record
 * and the bundle layout.
 *
 * @module
 */
export type {
  ActionEntry,
  DecisionEntry,
  FileHashes,
  GateRow,
  ReleaseContainer,
  ReleaseDraft,
  ReleaseEvidence,
  ReleaseImage,
  ReleaseKind,
  ReleasePointer,
  ReleaseRecord,
  ReleaseStatus,
  ReleaseSummary,
} from "./types.ts";
export {
  actionEntries,
  BUNDLE_FILES,
  bundleFiles,
  decisionGate,
  DEFAULT_RETAIN,
  finishRecord,
  GATES_HEADER,
  gatesTsv,
  hashFiles,
  isDecisionEntry,
  jsonLines,
  latestGood,
  namedImages,
  parseGatesTsv,
  pointerText,
  protectedImageIds,
  prunePlan,
  releaseHash,
  retainedReleases,
  rollbackTarget,
  verifyRecord,
} from "./_record.ts";
export {
  listRecords,
  listReleases,
  readBundleFile,
  readRelease,
  releaseDir,
  releasesDir,
  removePartialBundles,
  summarize,
  verifyRelease,
  writeRelease,
} from "./_store.ts";
export { type RecorderSnapshot, ReleaseRecorder } from "./_recorder.ts";
export { describeKeyChanges, type KeyChange, manifestKeyChanges } from "./_manifest_diff.ts";
