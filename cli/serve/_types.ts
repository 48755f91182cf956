/**
 * Shapes shared by the server's parts (router, operations, webhooks, web
 * dashboard). Types only: no I/O.
 *
 * @module
 */
import type { EventDataMap, EventName } from "../history/mod.ts";

/** A change started as a child process of this CLI (see `_operations.ts`). */
export interface OperationRef {
  /** Opaque id, URL-safe. */
  id: string;
  /** Where to follow it: `/v1/operations/{id}`. */
  url: string;
}

/**
 * What the git webhook handler (`_webhook.ts`) gets from the server.
 *
 * `startOperation` starts `swiftdeploy <argv…>` against this manifest as the
 * given actor (recorded in the history as `SWIFTDEPLOY_ACTOR`), or throws
 * SwiftDeployError LOCKED (exit 4) while another operation of this server
 * runs (SERVE_FAILED while the server stops). A change lock held by another
 * process is met by the child itself: its operation fails with exit code 4.
 */
export interface HookDeps {
  /** Absolute path of the manifest this server serves. */
  manifestPath: string;
  /** `.swiftdeploy/` beside the manifest. */
  stateDir: string;
  startOperation(argv: string[], actor: string): OperationRef;
  /** Appends one event to the manifest's history (sealed, chained) as this server. */
  appendHistory<E extends EventName>(event: E, data: EventDataMap[E]): Promise<void>;
}
