/**
 * How `releases prune` takes an image off the engine without touching what
 * others use. Image tags are shared by every project on the engine (two
 * projects that `deploy --ref` the same commit both run
 * `<app repo>:git-<sha12>`), so prune never removes an image by id with
 * force (that drops every tag of it, other projects' included): it removes
 * only the tags this project's releases named that still point at the image
 * (`DELETE /images/{name}:{tag}`, not forced), and the engine deletes the
 * image itself only when no tag is left and no container, running or
 * stopped, uses it (409 otherwise). An image left with another tag stays.
 */
import { type EngineClient, EngineConflictError } from "../engine/mod.ts";

/** Docker's `<none>:<none>`: an untagged image's placeholder in RepoTags. */
const NONE = "<none>:<none>";

/**
 * A reference as the engine lists it in RepoTags: `docker.io/library/` and
 * `docker.io/` dropped, `:latest` added when it has no tag. Undefined for a
 * digest reference (`name@sha256:…`), which is not a tag.
 */
export function tagForm(ref: string): string | undefined {
  if (ref.includes("@")) return undefined;
  const short = ref.replace(/^docker\.io\/library\//, "").replace(/^docker\.io\//, "");
  const lastPart = short.slice(short.lastIndexOf("/") + 1);
  return lastPart.includes(":") ? short : `${short}:latest`;
}

/**
 * Splits an image's current tags (`repoTags`, GET /images/{id}/json) into
 * the ones this project's releases named (`ours`, refs as recorded), which
 * prune may remove, and the others, which it never touches.
 *
 * @returns `untag` and `others`, each sorted
 */
export function splitTags(
  ours: readonly string[],
  repoTags: readonly string[] | null | undefined,
): { untag: string[]; others: string[] } {
  const mine = new Set(ours.map(tagForm).filter((t): t is string => t !== undefined));
  const tags = [...new Set(repoTags ?? [])].filter((t) => t !== NONE).sort();
  return { untag: tags.filter((t) => mine.has(t)), others: tags.filter((t) => !mine.has(t)) };
}

/** What prune did (or, in a dry run, would do) with one image. */
export interface PruneOutcome {
  /** The image is gone from the engine (or would be). */
  removed: boolean;
  /** The tags removed (or that would be). */
  untagged: string[];
  /** Why the image stays, when it does. */
  kept?: string;
}

/**
 * Removes this project's tags from image `id` (refs as its releases named
 * it), never forced; then the image itself when it is left untagged and
 * unused. A dry run inspects only.
 *
 * @throws EngineError for an engine failure other than a 409 conflict
 */
export async function pruneImage(
  engine: EngineClient,
  id: string,
  refs: readonly string[],
  dryRun: boolean,
): Promise<PruneOutcome> {
  const before = await engine.imageInspect(id);
  if (!before) return { removed: true, untagged: [] };
  const { untag, others } = splitTags(refs, before.RepoTags);
  const stays = others.length > 0 ? `still tagged ${others.join(", ")}` : undefined;
  if (dryRun) {
    return stays
      ? { removed: false, untagged: untag, kept: stays }
      : { removed: true, untagged: untag };
  }
  const untagged: string[] = [];
  const conflict = (error: unknown): PruneOutcome => {
    if (!(error instanceof EngineConflictError)) throw error;
    return { removed: false, untagged, kept: error.message };
  };
  for (const tag of untag) {
    try {
      await engine.imageRemove(tag, { force: false });
      untagged.push(tag);
    } catch (error) {
      return conflict(error);
    }
  }
  const after = await engine.imageInspect(id);
  if (!after) return { removed: true, untagged };
  const left = splitTags([], after.RepoTags).others;
  if (left.length > 0) return { removed: false, untagged, kept: `still tagged ${left.join(", ")}` };
  try {
    await engine.imageRemove(id, { force: false });
  } catch (error) {
    return conflict(error);
  }
  return { removed: true, untagged };
}
