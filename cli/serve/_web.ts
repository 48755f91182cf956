/**
 * The web dashboard (issue 16 part 5). Owned by W2; this is the mount point
 * the router calls for `GET /` and `/assets/*` on the HTTP listener.
 *
 * @module
 */

/**
 * Answers a request for the dashboard.
 *
 * @returns the response, or null when `req` is not a dashboard path
 */
export function serveWeb(_req: Request): Promise<Response | null> {
  return Promise.resolve(null);
}
