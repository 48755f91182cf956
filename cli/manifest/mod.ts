/**
 * The manifest: parse and validate manifest.yaml into a ResolvedManifest
 * (every default applied), load it from disk, and change one value in place
 * without touching comments or formatting.
 *
 * @module
 */

export { parseManifest } from "./_parse_manifest.ts";
export { editManifestText, type ManifestValue } from "./_edit_manifest.ts";
export { loadManifest, setManifestValue } from "./_load_manifest.ts";
export { DEFAULT_PROJECT, defaultNetworkName, DEFAULTS, defaultVolumeName } from "./_defaults.ts";
export type {
  LoadedManifest,
  Mode,
  NetworkDriver,
  ResolvedManifest,
  RestartPolicy,
} from "./types.ts";
