/**
 * The manifest: parse and validate manifest.yaml into a ResolvedManifest
 * (every default applied), load it from disk, and change one value in place
 * without touching comments or formatting.
 *
 * @module
 */

export { parseManifest } from "./_parse_manifest.ts";
export { parseYaml } from "./_yaml.ts";
export { editManifestText, type ManifestValue } from "./_edit_manifest.ts";
export {
  applySelection,
  loadManifest,
  type ManifestSelection,
  manifestSelection,
  selectManifest,
  setManifestValue,
} from "./_load_manifest.ts";
export {
  DEFAULT_ALLOWED_REGISTRIES,
  environmentDir,
  ENVIRONMENTS_DIR,
  previousEnvironment,
  selectEnvironment,
} from "./_environments.ts";
export {
  DEFAULT_PROJECT,
  defaultNetworkName,
  defaultPrometheus,
  defaultRegistry,
  defaultRollout,
  DEFAULTS,
  defaultSwarm,
  defaultVolumeName,
  EXAMPLE_CANARY_STEPS,
  registrySpec,
  swarmSpec,
  targetOf,
} from "./_defaults.ts";
export { durationSeconds, formatDuration } from "./_duration.ts";
export {
  DEFAULT_CONTAINER_LOGS,
  DEFAULT_NGINX_LOGS,
  DEFAULT_RESOURCES,
  defaultHardening,
  hardeningSpec,
  ipv4Number,
  privateSourcesWarning,
  RESOURCE_ROLES,
  sizeBytes,
  sourceSize,
} from "./hardening.ts";
export type {
  AnalysisSource,
  ContainerResources,
  EnvironmentSpec,
  FreezeSpec,
  HardeningSpec,
  LoadedManifest,
  Mode,
  NetworkDriver,
  PromotionSpec,
  RegistrySpec,
  ResolvedManifest,
  ResourceRole,
  RestartPolicy,
  RolloutSpec,
  RolloutStep,
  RolloutStrategy,
  SourceSpec,
  SwarmSpec,
  Target,
  UpdateFailureAction,
  UpdateOrder,
} from "./types.ts";
