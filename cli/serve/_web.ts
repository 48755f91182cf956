/**
 * The web dashboard (issue 16 part 5): `GET /` and `/assets/*` on the HTTP
 * listener, served from the installation's `web/` folder (no CDN, no build
 * step: it works offline). Only the files listed in `WEB_FILES` are served,
 * so no path can reach anything else; each is read once and kept in memory.
 *
 * The page itself holds no data: it calls the `/v1` API with a token the
 * user types (kept in sessionStorage only) and follows `/v1/events`.
 *
 * @module
 */

/** URL path → file under `web/` and its media type. */
export const WEB_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/assets/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/assets/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  "/assets/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
};

/**
 * Headers of every dashboard response: a strict Content-Security-Policy
 * (only this origin; no inline script, so an injected string cannot run),
 * no sniffing, no framing, no referrer, and no caching of stale code.
 */
export const WEB_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

const cache = new Map<string, Uint8Array>();

/** The folder the files come from: `web/` of this installation. */
const WEB_DIR = new URL("../../web/", import.meta.url);

/**
 * Answers a request for the dashboard.
 *
 * @returns the response (200, with `WEB_HEADERS`; HEAD without a body), or
 *   null when `req` is not a dashboard path (the router answers it then)
 */
export async function serveWeb(req: Request): Promise<Response | null> {
  if (req.method !== "GET" && req.method !== "HEAD") return null;
  const path = new URL(req.url).pathname;
  const entry = Object.hasOwn(WEB_FILES, path) ? WEB_FILES[path] : undefined;
  if (!entry) return null;
  let bytes = cache.get(entry.file);
  if (!bytes) {
    bytes = await Deno.readFile(new URL(entry.file, WEB_DIR));
    cache.set(entry.file, bytes);
  }
  const headers = {
    ...WEB_HEADERS,
    "content-type": entry.type,
    "content-length": String(bytes.byteLength),
  };
  return new Response(req.method === "HEAD" ? null : bytes as Uint8Array<ArrayBuffer>, {
    status: 200,
    headers,
  });
}
