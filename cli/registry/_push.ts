/**
 * Pushing the built images to a registry through the host's engine
 * (`POST /images/{name}/tag`, then `POST /images/{name}/push` with
 * `X-Registry-Auth`), reading each digest from the push stream, and
 * recording `{role: "<pull address>/<repo>@sha256:…"}` in
 * `.swiftdeploy/images.json` for the swarm driver. An image the registry
 * already holds under its tag (the registry's manifest digest is one the
 * engine recorded for this very image, or the manifest's config digest is
 * the image's ID) is not pushed again.
 */
import { join } from "node:path";
import { type EngineClient, readJsonLines } from "../engine/mod.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { atomicWrite, ensureDir, readIfExists } from "../fs/mod.ts";
import { engineAuthHeader } from "./_auth.ts";
import { RegistryClient } from "./_client.ts";
import { pushEvent } from "./_push_stream.ts";
import { DIGEST_REF_PATTERN, digestReference, registryTarget } from "./_reference.ts";
import { scrubSecrets, type Secret } from "./_secret.ts";
import type { RegistryTarget } from "./_target.ts";

/** The file the swarm driver reads: role → by-digest reference. */
export const IMAGES_FILE = "images.json";

/** One image to push: its role (app, nginx, opa, prometheus) and its local tag. */
export interface ImageToPush {
  role: string;
  localRef: string;
}

/** What a push did. */
export interface PushedImage {
  role: string;
  /** `<pull address>/<repository>@sha256:…`: what the nodes run. */
  ref: string;
  digest: string;
  /** `<push address>/<repository>:<tag>`: the tag pushed. */
  pushedTag: string;
  /** False when the registry already held this image under its tag. */
  pushed: boolean;
  /** Wall-clock seconds of the check and (when needed) the push. */
  seconds: number;
}

function failure(
  target: RegistryTarget,
  image: string,
  message: string,
  cause?: unknown,
): SwiftDeployError {
  const secrets: Secret[] = target.credentials ? [target.credentials.password] : [];
  const text = scrubSecrets(message, secrets);
  const auth = /unauthori[sz]ed|authentication required|denied|401|403/i.test(text);
  return new SwiftDeployError(
    auth ? "REGISTRY_AUTH_FAILED" : "REGISTRY_PUSH_FAILED",
    `Cannot push "${image}" to ${target.label}: ${text}`,
    {
      ...(cause === undefined ? {} : { cause }),
      hint: auth
        ? "check registry.username and its password (registry.password_env or password_file)"
        : "is the registry running and listed as insecure by the engine when it speaks plain HTTP?",
    },
  );
}

/**
 * Pushes one local image (unless the registry already holds it) and
 * returns its by-digest reference as the nodes pull it.
 *
 * @throws SwiftDeployError IMAGE_BUILD_FAILED when the local image does not
 *   exist; REGISTRY_PUSH_FAILED / REGISTRY_AUTH_FAILED (exit 1) when the
 *   engine or the registry refuses, naming the registry, never a credential
 */
export async function pushImage(
  engine: EngineClient,
  registry: RegistryClient,
  target: RegistryTarget,
  image: ImageToPush,
  log: (line: string) => void,
): Promise<PushedImage> {
  const t0 = performance.now();
  const local = await engine.imageInspect(image.localRef) as
    | (Awaited<ReturnType<EngineClient["imageInspect"]>> & { RepoDigests?: string[] | null })
    | undefined;
  if (!local) {
    throw new SwiftDeployError(
      "IMAGE_BUILD_FAILED",
      `Cannot push "${image.localRef}": no such image on the engine`,
      { hint: "run `swiftdeploy build` first" },
    );
  }
  const dest = registryTarget(image.localRef, target.push);
  const repoAt = `${target.push}/${dest.repository}@`;
  const known = new Set(
    (local.RepoDigests ?? []).filter((d) => d.startsWith(repoAt)).map((d) =>
      d.slice(repoAt.length)
    ),
  );
  // Unchanged when the registry's manifest under the tag is one the engine
  // recorded for this image, or points at this image's config (its ID).
  const remote = await registry.manifest(dest.repository, dest.tag);
  const done = (digest: string, pushed: boolean): PushedImage => ({
    role: image.role,
    ref: digestReference(target.pull, dest.repository, digest),
    digest,
    pushedTag: dest.ref,
    pushed,
    seconds: (performance.now() - t0) / 1000,
  });
  if (remote !== undefined && (known.has(remote.digest) || remote.configDigest === local.Id)) {
    return done(remote.digest, false);
  }

  const name = `${target.push}/${dest.repository}`;
  let digest: string | undefined;
  try {
    await engine.imageTag(local.Id, name, dest.tag);
    const res = await engine.request("POST", `/images/${encodeURIComponent(name)}/push`, {
      query: { tag: dest.tag },
      headers: { "X-Registry-Auth": engineAuthHeader(target.push, target.credentials).reveal() },
      timeoutMs: 0,
    });
    const layers = new Map<string, string>();
    for await (const message of readJsonLines(res.body)) {
      const event = pushEvent(message);
      if (event.kind === "error") throw failure(target, image.localRef, event.message);
      if (event.kind === "digest") digest = event.digest;
      if (event.kind === "layer" && layers.get(event.id) !== event.status) {
        layers.set(event.id, event.status);
        if (/^(Pushed|Layer already exists|Mounted from)/.test(event.status)) {
          log(`  ${image.role}: layer ${event.id} ${event.status.toLowerCase()}`);
        }
      }
    }
  } catch (error) {
    if (error instanceof SwiftDeployError && error.code.startsWith("REGISTRY_")) throw error;
    throw failure(target, image.localRef, (error as Error)?.message ?? String(error), error);
  }
  if (digest === undefined) {
    throw failure(target, image.localRef, "the engine's push stream ended without a digest");
  }
  // The registry must now name the same manifest under the tag: what the nodes resolve.
  const stored = await registry.manifestDigest(dest.repository, dest.tag);
  if (stored !== digest) {
    throw failure(
      target,
      image.localRef,
      `the push reported ${digest} but the registry's tag "${dest.tag}" names ${
        stored ?? "nothing"
      }`,
    );
  }
  return done(digest, true);
}

/** Options of {@link pushImages}. */
export interface PushImagesOptions {
  /** The deployment's state folder (`.swiftdeploy` beside the manifest): images.json goes here. */
  stateDir: string;
  /** Progress lines (stderr in the CLI). Never given a credential. */
  log: (line: string) => void;
  /** Called once per image when it is done (for the command's own line). */
  onImage?: (image: PushedImage) => void;
}

/**
 * Checks the registry (`GET /v2/`), pushes each image in order, and records
 * each by-digest reference in `<stateDir>/images.json` as soon as it is
 * known. Entries of other roles are kept when they point at the same pull
 * address, dropped otherwise (a reference into another registry is stale).
 */
export async function pushImages(
  engine: EngineClient,
  target: RegistryTarget,
  images: readonly ImageToPush[],
  opts: PushImagesOptions,
): Promise<PushedImage[]> {
  const registry = new RegistryClient(target.push, {
    insecure: target.insecure,
    credentials: target.credentials,
  });
  await registry.ping();
  const file = join(opts.stateDir, IMAGES_FILE);
  const recorded = await readPushedImages(opts.stateDir).catch(() => undefined) ?? {};
  const refs: Record<string, string> = {};
  for (const [role, ref] of Object.entries(recorded)) {
    if (ref.startsWith(`${target.pull}/`)) refs[role] = ref;
  }
  const out: PushedImage[] = [];
  for (const image of images) {
    opts.log(`checking ${image.localRef} against ${target.label}`);
    const pushed = await pushImage(engine, registry, target, image, opts.log);
    out.push(pushed);
    refs[image.role] = pushed.ref;
    await ensureDir(opts.stateDir, 0o755);
    await atomicWrite(file, imagesFileText(refs), { mode: 0o644 });
    opts.onImage?.(pushed);
  }
  return out;
}

/** images.json's text: the roles sorted, one per line, a newline at the end. */
export function imagesFileText(refs: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(refs).sort(([a], [b]) => a < b ? -1 : 1));
  return JSON.stringify(sorted, null, 2) + "\n";
}

/**
 * Parses images.json's text: role → `<address>/<repo>@sha256:…`.
 *
 * @throws Error naming what is wrong when it is not such a mapping
 */
export function parseImagesFile(text: string): Record<string, string> {
  const data = JSON.parse(text) as unknown;
  if (!data || typeof data !== "object" || Array.isArray(data)) {
    throw new Error("not a mapping of role to image reference");
  }
  const out: Record<string, string> = {};
  for (const [role, ref] of Object.entries(data)) {
    if (typeof ref !== "string" || !DIGEST_REF_PATTERN.test(ref)) {
      throw new Error(`"${role}" is not a reference by digest (got ${JSON.stringify(ref)})`);
    }
    out[role] = ref;
  }
  return out;
}

/**
 * The by-digest references the last push recorded (`<stateDir>/images.json`),
 * or undefined when nothing was pushed yet. For the swarm driver.
 *
 * @throws SwiftDeployError REGISTRY_PUSH_FAILED (exit 1) when the file is
 *   not a mapping of role to `<address>/<repo>@sha256:<64 hex>`
 */
export async function readPushedImages(
  stateDir: string,
): Promise<Record<string, string> | undefined> {
  const file = join(stateDir, IMAGES_FILE);
  const text = await readIfExists(file);
  if (text === undefined) return undefined;
  try {
    return parseImagesFile(text);
  } catch (error) {
    throw new SwiftDeployError(
      "REGISTRY_PUSH_FAILED",
      `Cannot read "${file}": ${(error as Error).message}`,
      { hint: "run `swiftdeploy build` again to push the images and rewrite it", cause: error },
    );
  }
}
