/**
 * The routing table as text: the one form the CLI writes to nginx's admin
 * socket, persists beside nginx.conf and reads back. Pure.
 *
 * Encoding: `application/x-www-form-urlencoded` (what nginx's Lua parses
 * with `ngx.decode_args`, no extra C module), keys in this order:
 *
 * `revision=7&stable=10.0.0.16:3000&stable_version=1.0.0&stable_container=shop-app-a`
 * `&canary=10.0.0.17:3000&canary_version=1.1.0&canary_container=shop-app-b&weight=10`
 *
 * The canary keys are all present or all absent. nginx checks the same rules
 * (templates/nginx.conf.tmpl, `swiftdeploy.routes`), so a table one side
 * accepts the other does too.
 */
import { join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import type { StackPlan } from "../plan/mod.ts";
import type { Routes, RouteTarget } from "./_routes.ts";

/** File name of the persisted table in nginx's config folder (`.swiftdeploy/nginx/routes`). */
export const ROUTES_FILE_NAME = "routes";

/** Longest version (UTF-8 bytes) or container name (characters) a table carries. */
export const MAX_ROUTE_TEXT = 128;

/** Highest revision: integers stay exact in both JavaScript and LuaJIT doubles. */
export const MAX_REVISION = Number.MAX_SAFE_INTEGER;

const ADDRESS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/;
/** Docker's container name rule (as the manifest checks `*.container_name`). */
const CONTAINER = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const KEYS = [
  "revision",
  "stable",
  "stable_version",
  "stable_container",
  "canary",
  "canary_version",
  "canary_container",
  "weight",
] as const;

/** Why `address` is not `IPv4:port` with octets 0–255 and port 1–65535; undefined when it is. */
export function addressProblem(address: string): string | undefined {
  const m = ADDRESS.exec(address);
  if (!m) return "must be IPv4:port";
  if (m.slice(1, 5).some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith("0")))) {
    return "must be IPv4:port with octets from 0 to 255";
  }
  const port = Number(m[5]);
  if (port < 1 || port > 65535 || m[5]!.startsWith("0")) return "must have a port from 1 to 65535";
  return undefined;
}

function targetProblems(prefix: string, t: RouteTarget): string[] {
  const out: string[] = [];
  const a = addressProblem(t.address);
  if (a) out.push(`${prefix}: "${t.address}" ${a}`);
  // Bytes of UTF-8, as nginx's Lua counts them.
  const bytes = new TextEncoder().encode(t.version).length;
  if (bytes < 1 || bytes > MAX_ROUTE_TEXT || CONTROL.test(t.version)) {
    out.push(
      `${prefix}_version: must be 1 to ${MAX_ROUTE_TEXT} characters (UTF-8 bytes) without control characters`,
    );
  }
  if (t.container.length > MAX_ROUTE_TEXT || !CONTAINER.test(t.container)) {
    out.push(`${prefix}_container: "${t.container}" must be a Docker container name`);
  }
  return out;
}

/** Every rule `r` breaks, as `field: problem` lines; empty when nginx will take it. */
export function routesProblems(r: Routes): string[] {
  const out: string[] = [];
  if (!Number.isInteger(r.revision) || r.revision < 1 || r.revision > MAX_REVISION) {
    out.push(`revision: must be an integer from 1 to ${MAX_REVISION}, got ${r.revision}`);
  }
  out.push(...targetProblems("stable", r.stable));
  if (r.canary) {
    out.push(...targetProblems("canary", r.canary));
    const w = r.canary.weight;
    if (!Number.isInteger(w) || w < 0 || w > 100) {
      out.push(`weight: must be an integer from 0 to 100, got ${w}`);
    }
  }
  return out;
}

/**
 * The text form of `r` (see the module comment); ends without a newline.
 *
 * @throws SwiftDeployError INTERNAL when `r` breaks a rule (`routesProblems`):
 *   the CLI never sends nginx a table it would refuse
 */
export function encodeRoutes(r: Routes): string {
  const problems = routesProblems(r);
  if (problems.length > 0) {
    throw new SwiftDeployError("INTERNAL", `Cannot encode the routing table: ${problems[0]}`);
  }
  const p = new URLSearchParams();
  p.set("revision", String(r.revision));
  p.set("stable", r.stable.address);
  p.set("stable_version", r.stable.version);
  p.set("stable_container", r.stable.container);
  if (r.canary) {
    p.set("canary", r.canary.address);
    p.set("canary_version", r.canary.version);
    p.set("canary_container", r.canary.container);
    p.set("weight", String(r.canary.weight));
  }
  // URLSearchParams writes spaces as "+", which ngx.decode_args reads back too.
  return p.toString();
}

/**
 * Reads a table from its text form. `source` names where the text came from
 * (a file path, "nginx's admin socket") and starts every message.
 *
 * @throws SwiftDeployError ROUTES_INVALID naming the source and the field:
 *   an unknown, repeated or missing key, a value that is not canonical
 *   (revision and weight as plain integers), a partial canary, or a rule
 *   `routesProblems` states
 */
export function parseRoutes(text: string, source: string): Routes {
  const bad = (detail: string) =>
    new SwiftDeployError(
      "ROUTES_INVALID",
      `Cannot read the routing table from ${source}: ${detail}`,
      {
        hint: "run `swiftdeploy deploy` to write the routing table again",
      },
    );
  const body = text.trim();
  if (body === "") throw bad("it is empty");
  const seen = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(body)) {
    if (!(KEYS as readonly string[]).includes(key)) throw bad(`unknown key "${key}"`);
    if (seen.has(key)) throw bad(`${key}: given twice`);
    seen.set(key, value);
  }
  const integer = (key: string): number => {
    const v = seen.get(key);
    if (v === undefined) throw bad(`${key}: missing`);
    if (!/^\d{1,16}$/.test(v)) throw bad(`${key}: must be a whole number, got "${v}"`);
    return Number(v);
  };
  const target = (prefix: string): RouteTarget => {
    const get = (key: string) => {
      const v = seen.get(key);
      if (v === undefined) throw bad(`${key}: missing`);
      return v;
    };
    return {
      address: get(prefix),
      version: get(`${prefix}_version`),
      container: get(`${prefix}_container`),
    };
  };
  const routes: Routes = { revision: integer("revision"), stable: target("stable") };
  const canaryKeys = KEYS.filter((k) => k.startsWith("canary") || k === "weight");
  if (canaryKeys.some((k) => seen.has(k))) {
    routes.canary = { ...target("canary"), weight: integer("weight") };
  }
  const problems = routesProblems(routes);
  if (problems.length > 0) throw bad(problems[0]!);
  return routes;
}

/**
 * The host path of the persisted table: `routes` in the folder the plan binds
 * on nginx's config folder (`<manifest dir>/.swiftdeploy/nginx/routes`,
 * which nginx reads as `/etc/nginx/swiftdeploy/routes` at a fresh start).
 */
export function routesFilePath(plan: StackPlan): string {
  return join(plan.hostDirs.nginxConfigDir, ROUTES_FILE_NAME);
}

/** One line for people: `stable 1.0.0 (90 %), canary 1.1.0 (10 %)`, or `stable 1.0.0 (100 %)`. */
export function describeRoutes(r: Routes): string {
  if (!r.canary) return `stable ${r.stable.version} (100 %)`;
  const w = r.canary.weight;
  return `stable ${r.stable.version} (${100 - w} %), canary ${r.canary.version} (${w} %)`;
}
