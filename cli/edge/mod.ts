/**
 * The edge: what clients received from nginx, counted by nginx itself (its
 * own 502 and 504 included) and read by the CLI over nginx's admin unix
 * socket, so the promotion gate judges errors where users see them
 * (issue 11 case 2).
 */
export { EDGE_CLASSES, EDGE_METRIC_NAMES, edgeSampleFromText } from "./_parse_edge.ts";
export {
  EDGE_METRICS_PATH,
  edgeAdminDir,
  edgeSocketPath,
  ensureEdgeAdminDir,
  MAX_SOCKET_PATH_BYTES,
  planAdminDir,
  readEdgeSample,
  readVariantSample,
} from "./_read_edge.ts";
export {
  type Variant,
  VARIANT_METRIC_NAMES,
  type VariantCounts,
  type VariantRoute,
  VARIANTS,
  type VariantSample,
  variantSampleFromText,
  variantWindow,
  type VariantWindowFigures,
} from "./_variants.ts";
export {
  collectGateWindow,
  decodeEdgeSample,
  EDGE_KEPT_FORMAT,
  EDGE_PAIR_TOLERANCE_MS,
  edgeKeptDir,
  encodeEdgeSample,
  type GateWindow,
  type GateWindowOptions,
  keptEdgeNear,
  readAndKeepEdge,
} from "./_gate_window.ts";
