/**
 * Image references as a registry sees them (pure): where a local image goes
 * in a registry, and the by-digest reference the nodes run. Follows the
 * grammar of Docker's `distribution/reference`: a first component holding a
 * "." or ":" (or "localhost") is a registry domain, the rest is the
 * repository path, then `:tag` and/or `@digest`.
 */

/** A content digest as registries name manifests: `sha256:` and 64 lowercase hex digits. */
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** A reference by digest: `<address>/<path>@sha256:<64 hex>`. */
export const DIGEST_REF_PATTERN = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

export interface ImageReference {
  /** The registry part, e.g. "registry.example.com:5000"; null when none was written. */
  domain: string | null;
  /** The repository path, e.g. "openpolicyagent/opa". */
  path: string;
  /** The tag; null when none was written (Docker reads "latest"). */
  tag: string | null;
  /** The digest; null when none was written. */
  digest: string | null;
}

/**
 * Splits a reference such as `registry:5000/team/app:1.0@sha256:…`.
 *
 * @throws RangeError when the path is empty or not lowercase
 *   (`[a-z0-9]+` separated by ".", "_", "__" or "-", components joined by "/")
 */
export function parseImageReference(ref: string): ImageReference {
  let rest = ref.trim();
  let digest: string | null = null;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_PATTERN.test(digest)) {
      throw new RangeError(`Invalid image reference "${ref}": bad digest "${digest}"`);
    }
  }
  let domain: string | null = null;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      domain = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) {
      throw new RangeError(`Invalid image reference "${ref}": bad tag "${tag}"`);
    }
  }
  const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
  if (!rest || !rest.split("/").every((c) => component.test(c))) {
    throw new RangeError(
      `Invalid image reference "${ref}": the repository "${rest}" must be lowercase letters, digits and separators`,
    );
  }
  return { domain, path: rest, tag, digest };
}

/**
 * Where a local image goes in a registry: its repository path with any
 * domain it was written with replaced by `address`, and its tag
 * ("latest" when none).
 *
 * @example registryTarget("openpolicyagent/opa:latest-static", "127.0.0.1:5000")
 *   // { repository: "openpolicyagent/opa", tag: "latest-static",
 *   //   ref: "127.0.0.1:5000/openpolicyagent/opa:latest-static" }
 */
export function registryTarget(
  localRef: string,
  address: string,
): { repository: string; tag: string; ref: string } {
  const parsed = parseImageReference(localRef);
  const tag = parsed.tag ?? "latest";
  return { repository: parsed.path, tag, ref: `${address}/${parsed.path}:${tag}` };
}

/** `<address>/<repository>@<digest>`: what every node pulls, the same bytes everywhere. */
export function digestReference(address: string, repository: string, digest: string): string {
  if (!DIGEST_PATTERN.test(digest)) throw new RangeError(`Invalid digest "${digest}"`);
  return `${address}/${repository}@${digest}`;
}
