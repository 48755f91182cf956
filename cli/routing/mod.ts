/**
 * Routing: which app container nginx sends each request to (stable, and an
 * optional canary with a weight), changed through nginx's admin socket
 * without a reload and persisted beside nginx.conf so a restarted nginx
 * follows the same split (issue 13 item 3).
 */
export type { Routes, RouteTarget } from "./_routes.ts";
export {
  addressProblem,
  describeRoutes,
  encodeRoutes,
  MAX_REVISION,
  MAX_ROUTE_TEXT,
  parseRoutes,
  ROUTES_FILE_NAME,
  routesFilePath,
  routesProblems,
} from "./_codec.ts";
export {
  applyRoutes,
  readRoutes,
  ROUTES_PATH,
  type RoutesOptions,
  routesSocketPath,
} from "./_apply_routes.ts";
