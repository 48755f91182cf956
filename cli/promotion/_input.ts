/**
 * The promotion gate's input (policies/promotion.rego), built from facts
 * the shell gathered: the source release's record (its evidence), the
 * images as the release's manifest names them, what the source
 * environment runs now, the policy bundle that would gate the target, and
 * the clock. Pure: no I/O, no clock of its own.
 */
import type { ReleaseImage, ReleaseRecord } from "../release/mod.ts";
import { parseImageReference } from "../registry/mod.ts";

/** Docker's registry for a name written without one (`nginx:1` is `docker.io/library/nginx:1`). */
export const DEFAULT_REGISTRY = "docker.io";

/** One image as the policy judges it. */
export interface PromotionImage {
  /** `app`, `nginx`, `opa`, `prometheus`. */
  role: string;
  /** The reference the release's manifest writes, e.g. `shop:1.2.0`. */
  ref: string;
  /** Its registry (`docker.io` when none is written). */
  registry: string;
  /** Its tag; null when none is written (with no digest Docker reads `latest`). */
  tag: string | null;
  /**
   * The content digest the promotion runs it by: a repo digest the engine
   * recorded for it (`RepoDigests`), else its image id (the sha256 of its
   * content, how the engine target addresses it); null when the release
   * recorded neither, so it cannot be pinned.
   */
  digest: string | null;
}

/** The facts `promotionInput` needs, gathered by the shell. */
export interface PromotionFacts {
  /** Release N of the source environment, as its bundle records it. */
  release: ReleaseRecord;
  /** The image references of the release's manifest text, by role (its `services.image`, …). */
  refs: Record<string, string>;
  /** The newest good release of the source environment whose app still runs there, or null. */
  currentRelease: number | null;
  /** Every container of the source environment's stack is running and healthy now. */
  sourceHealthy: boolean;
  /** Hash of the policy bundle that will gate the target (build/policy/policy.json). */
  policyBundleHash: string | null;
  now: Date;
}

/** The digest the release recorded for `image`: a repo digest first, else its image id. */
export function contentDigest(image: ReleaseImage | undefined): string | null {
  if (!image) return null;
  const repo = image.digests.map((d) => d.slice(d.indexOf("@") + 1)).find((d) =>
    /^sha256:[0-9a-f]{64}$/.test(d)
  );
  return repo ?? (image.id && /^sha256:[0-9a-f]{64}$/.test(image.id) ? image.id : null);
}

/** `ref` split into what the policy judges; a reference that does not parse keeps its text. */
export function describeImage(
  role: string,
  ref: string,
  image: ReleaseImage | undefined,
): PromotionImage {
  let registry = DEFAULT_REGISTRY;
  let tag: string | null = null;
  let written: string | null = null;
  try {
    const parsed = parseImageReference(ref);
    registry = parsed.domain ?? DEFAULT_REGISTRY;
    tag = parsed.tag;
    written = parsed.digest;
  } catch {
    // Not a reference the registry grammar reads (e.g. a bare image id): judged as written.
    registry = "(unparsable reference)";
  }
  return { role, ref, registry, tag, digest: written ?? contentDigest(image) };
}

/** Unix seconds of an ISO 8601 / RFC 3339 time, whole; null when it is not one. */
export function unixSeconds(iso: string | undefined): number | null {
  if (iso === undefined) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/**
 * The input of `swiftdeploy.promotion` (see policies/promotion.rego). The
 * release is healthy since it was recorded good (`created_at`: the deploy
 * recorded it once its containers were healthy and traffic switched); it
 * stayed healthy while it is still the source's current release and the
 * stack is healthy now. Images are listed in role order of the refs.
 */
export function promotionInput(f: PromotionFacts): Record<string, unknown> {
  const byRole = new Map(f.release.images.map((i) => [i.role, i]));
  const images = Object.entries(f.refs).map(([role, ref]) =>
    describeImage(role, ref, byRole.get(role))
  );
  return {
    now: f.now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    now_s: Math.floor(f.now.getTime() / 1000),
    release: {
      number: f.release.number,
      environment: f.release.environment ?? null,
      status: f.release.status,
      healthy_since: f.release.created_at,
      healthy_since_s: unixSeconds(f.release.created_at),
      policy_bundle_hash: f.release.policy.bundle_hash,
    },
    source: { current_release: f.currentRelease, healthy: f.sourceHealthy },
    images,
    policy_bundle_hash: f.policyBundleHash,
  };
}

/**
 * The images the target runs, by role: the content address of each image
 * release N ran, so the promoted stack runs the identical artefact whatever
 * its tag names now. On the engine target that is the image id; undefined
 * for a role the release recorded no id for (the policy then refuses an
 * unpinned image in production, and the deploy runs the reference).
 */
export function pinnedImages(
  release: ReleaseRecord,
): Partial<Record<"app" | "nginx" | "opa" | "prometheus", string>> {
  const out: Partial<Record<"app" | "nginx" | "opa" | "prometheus", string>> = {};
  for (const image of release.images) {
    if (!["app", "nginx", "opa", "prometheus"].includes(image.role) || !image.id) continue;
    out[image.role as "app"] = image.id;
  }
  return out;
}
