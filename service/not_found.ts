/**
 * The app's answer to a path it has no route for: one JSON body, shared
 * with nginx's configuration (cli/render), which gives a stranger the same
 * body for the private paths /chaos and /metrics (issue 17), so they look
 * like any unknown path.
 */

/** The 404 body for `pathname`, e.g. `{"error":"Not found: no route for \"/x\""}`. */
export function notFoundBody(pathname: string): string {
  return JSON.stringify({ error: `Not found: no route for ${JSON.stringify(pathname)}` });
}
