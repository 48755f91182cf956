/**
 * Reading the Engine API's push stream (`POST /images/{name}/push`), pure:
 * one JSON message at a time, what it says. The digest comes from the final
 * `{"aux":{"Tag","Digest","Size"}}` message, or (engines that send no aux)
 * from the status line `<tag>: digest: sha256:… size: N`.
 */
import { DIGEST_PATTERN } from "./_reference.ts";

export type PushEvent =
  /** The registry stored the manifest under this digest. */
  | { kind: "digest"; digest: string; tag: string | null; size: number | null }
  /** The push failed; the engine's message. */
  | { kind: "error"; message: string }
  /** A layer changed state ("Pushed", "Layer already exists", "Preparing"…). */
  | { kind: "layer"; id: string; status: string }
  /** Any other status line. */
  | { kind: "status"; status: string }
  /** Nothing to report (progress bars, empty messages). */
  | { kind: "none" };

const STATUS_DIGEST = /^(\S+): digest: (sha256:[0-9a-f]{64}) size: (\d+)$/;

/** What one message of the push stream says (see {@link PushEvent}). */
export function pushEvent(message: unknown): PushEvent {
  if (!message || typeof message !== "object") return { kind: "none" };
  const m = message as {
    status?: unknown;
    id?: unknown;
    error?: unknown;
    errorDetail?: { message?: unknown };
    aux?: { Tag?: unknown; Digest?: unknown; Size?: unknown };
    progressDetail?: { current?: unknown };
  };
  const error = typeof m.errorDetail?.message === "string" && m.errorDetail.message
    ? m.errorDetail.message
    : typeof m.error === "string" && m.error
    ? m.error
    : undefined;
  if (error !== undefined) return { kind: "error", message: error.trim() };
  if (m.aux && typeof m.aux.Digest === "string" && DIGEST_PATTERN.test(m.aux.Digest)) {
    return {
      kind: "digest",
      digest: m.aux.Digest,
      tag: typeof m.aux.Tag === "string" ? m.aux.Tag : null,
      size: typeof m.aux.Size === "number" ? m.aux.Size : null,
    };
  }
  if (typeof m.status !== "string" || !m.status) return { kind: "none" };
  const s = STATUS_DIGEST.exec(m.status.trim());
  if (s) return { kind: "digest", digest: s[2]!, tag: s[1]!, size: Number(s[3]) };
  // Progress bars repeat "Pushing" with byte counts: only state changes are news.
  if (m.progressDetail && typeof m.progressDetail.current === "number") return { kind: "none" };
  if (typeof m.id === "string" && m.id) return { kind: "layer", id: m.id, status: m.status };
  return { kind: "status", status: m.status };
}

/**
 * The digest a whole push stream ends with.
 *
 * @throws Error with the engine's message when the stream reports an error,
 *   or when it ends without a digest
 */
export function pushedDigest(messages: Iterable<unknown>): string {
  let digest: string | undefined;
  for (const message of messages) {
    const event = pushEvent(message);
    if (event.kind === "error") throw new Error(event.message);
    if (event.kind === "digest") digest = event.digest;
  }
  if (digest === undefined) throw new Error("the push stream ended without a digest");
  return digest;
}
