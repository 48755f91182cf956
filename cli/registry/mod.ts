/**
 * Images for many nodes (issue 14): a small Distribution v2 client (ping,
 * tag → digest), pushes through the host's engine, and the by-digest
 * references the swarm driver runs (`.swiftdeploy/images.json`).
 *
 * @module
 */
export {
  type AuthChallenge,
  basicAuthorization,
  engineAuthHeader,
  parseChallenge,
  type RegistryCredentials,
} from "./_auth.ts";
export { MANIFEST_ACCEPT, RegistryClient, type RegistryClientOptions } from "./_client.ts";
export {
  IMAGES_FILE,
  imagesFileText,
  type ImageToPush,
  parseImagesFile,
  type PushedImage,
  pushImage,
  pushImages,
  type PushImagesOptions,
  readPushedImages,
} from "./_push.ts";
export { pushedDigest, type PushEvent, pushEvent } from "./_push_stream.ts";
export {
  DIGEST_PATTERN,
  DIGEST_REF_PATTERN,
  digestReference,
  type ImageReference,
  parseImageReference,
  registryTarget,
} from "./_reference.ts";
export { REDACTED, scrubSecrets, Secret } from "./_secret.ts";
export {
  chooseRegistry,
  readRegistryPassword,
  type RegistryTarget,
  resolveRegistry,
} from "./_target.ts";
