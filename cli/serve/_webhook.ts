/**
 * `POST /v1/hooks/git` (issue 16 part 4). Owned by W2; this is the mount
 * point the router calls. Authentication here is the HMAC signature, not a
 * bearer token.
 *
 * @module
 */
import type { HookDeps } from "./_types.ts";

/** Handles one git push delivery. Until part 4 lands: 501. */
export function handleGitHook(_req: Request, _deps: HookDeps): Promise<Response> {
  return Promise.resolve(
    Response.json({ error: "not_implemented", message: "webhook deploys are not built yet" }, {
      status: 501,
    }),
  );
}
