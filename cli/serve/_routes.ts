/**
 * The admin API's route table and its matcher. Pure: no I/O.
 *
 * Every `/v1` route names the scope a token needs (see cli/token). The git
 * webhook authenticates by its HMAC signature instead (`auth: "hmac"`), and
 * the dashboard's pages are public (`auth: "none"`, HTTP listener only).
 *
 * @module
 */
import type { Scope } from "../token/mod.ts";

/** What a route is (the handler key) and who may call it. */
export interface RouteSpec {
  method: "GET" | "POST";
  /** Path with `{param}` segments, e.g. `/v1/operations/{id}`. */
  pattern: string;
  /** Handler key. */
  name: RouteName;
  /** `read`/`deploy`: a bearer token of that scope; `hmac`: the webhook's signature. */
  auth: Scope | "hmac";
  /** A change: run as an operation, refused with 409 while another change holds the lock. */
  change?: boolean;
}

export type RouteName =
  | "status"
  | "history"
  | "releases"
  | "release"
  | "events"
  | "operations"
  | "operation"
  | "operation_events"
  | "deploy"
  | "promote"
  | "rollout"
  | "rollback"
  | "hook";

/** The routes of `/v1`, in the order docs/api.md lists them. */
export const ROUTES: readonly RouteSpec[] = [
  { method: "GET", pattern: "/v1/status", name: "status", auth: "read" },
  { method: "GET", pattern: "/v1/history", name: "history", auth: "read" },
  { method: "GET", pattern: "/v1/releases", name: "releases", auth: "read" },
  { method: "GET", pattern: "/v1/releases/{id}", name: "release", auth: "read" },
  { method: "GET", pattern: "/v1/events", name: "events", auth: "read" },
  { method: "GET", pattern: "/v1/operations", name: "operations", auth: "read" },
  { method: "GET", pattern: "/v1/operations/{id}", name: "operation", auth: "read" },
  { method: "GET", pattern: "/v1/operations/{id}/events", name: "operation_events", auth: "read" },
  { method: "POST", pattern: "/v1/deploy", name: "deploy", auth: "deploy", change: true },
  { method: "POST", pattern: "/v1/promote", name: "promote", auth: "deploy", change: true },
  {
    method: "POST",
    pattern: "/v1/rollout/{action}",
    name: "rollout",
    auth: "deploy",
    change: true,
  },
  { method: "POST", pattern: "/v1/rollback", name: "rollback", auth: "deploy", change: true },
  { method: "POST", pattern: "/v1/hooks/git", name: "hook", auth: "hmac" },
];

/** The verbs of `POST /v1/rollout/{action}`. */
export const ROLLOUT_ACTIONS = ["pause", "resume", "promote", "abort"] as const;

export type RouteMatch =
  | { ok: true; route: RouteSpec; params: Record<string, string> }
  /** 404: no route has this path; 405: some do, with other methods (`allow`). */
  | { ok: false; status: 404 | 405; allow: string[] };

/** A path parameter: letters, digits, `.`, `_`, `-` (no `/`, no `..` alone, at most 128). */
const PARAM_RE = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith("{") && w.endsWith("}")) {
      if (!PARAM_RE.test(g)) return undefined;
      params[w.slice(1, -1)] = g;
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}

/**
 * Finds the route for `method` and `path` (the URL's pathname, already
 * normalised by the URL parser; a trailing slash is not the same path).
 * `HEAD` matches the `GET` routes.
 */
export function matchRoute(
  method: string,
  path: string,
  routes: readonly RouteSpec[] = ROUTES,
): RouteMatch {
  const allow = new Set<string>();
  const m = method === "HEAD" ? "GET" : method;
  for (const route of routes) {
    const params = matchPattern(route.pattern, path);
    if (!params) continue;
    if (route.method === m) return { ok: true, route, params };
    allow.add(route.method);
  }
  return allow.size > 0
    ? { ok: false, status: 405, allow: [...allow].sort() }
    : { ok: false, status: 404, allow: [] };
}
