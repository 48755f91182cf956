/**
 * The nginx text both targets' nginx.conf share (templates/nginx.conf.tmpl
 * for the engine target, cli/swarm's `renderSwarmNginxConf` for the swarm):
 * the edge counters' Lua and the private paths. Pure, and a door of
 * cli/render of its own so that pure renderers elsewhere import it without
 * `readTemplates`' file reads.
 *
 * @module
 */
import { DURATION_BUCKETS } from "../../service/buckets.ts";
import { SwiftDeployError } from "../errors/mod.ts";
import { NGINX_ADMIN_SOCKET } from "../plan/mod.ts";

export {
  type HostRule,
  PRIVATE_PATHS,
  type PrivatePathsConf,
  privatePathsConf,
  type PrivatePathsOptions,
} from "./_private_paths.ts";

/**
 * The latency bucket bounds as Lua table items `{ 0.0005, "0.0005" }, …`:
 * each bound as a number (for comparing) and as the `le` label the edge
 * histogram prints (JavaScript's shortest text of the number, the form
 * cli/metrics parses back to the same value).
 *
 * @throws SwiftDeployError INTERNAL when a bound is not a positive finite
 *   number or the list is not strictly increasing
 */
export function luaBuckets(bounds: readonly number[]): string {
  bounds.forEach((b, i) => {
    if (!(Number.isFinite(b) && b > 0) || (i > 0 && !(b > bounds[i - 1]!))) {
      throw new SwiftDeployError(
        "INTERNAL",
        `Cannot render nginx.conf: latency bucket ${b} is not a positive number above the one before`,
      );
    }
  });
  return bounds.map((b) => `{ ${b}, "${b}" }`).join(", ");
}

/**
 * The edge counters' Lua, one source for both targets: a part of the
 * `init_by_lua_block` that builds the `swiftdeploy` module, every line
 * indented 8 spaces (the template's `{{ edge_counters_lua }}` slot stands
 * at column 0). It defines the latency buckets (service/buckets.ts),
 * `M.count()` (the public server's log phase: every answer but /healthz,
 * /metrics and /chaos, by `$swiftdeploy_variant` and status class, and as a
 * latency histogram), `M.edge_metrics()` (the admin socket's
 * /edge-metrics, Prometheus text 0.0.4, the families cli/edge parses) and
 * a local `new_instance()` (call it once at the end of the block: a fresh
 * start gets a new instance id and start time; true when fresh).
 *
 * The enclosing block must already have `M` (the module table) and `edge`
 * (`ngx.shared.swiftdeploy_edge`), must define `M.current()` (the routing
 * table in effect, or nil: `{ revision?, weight?, stable = { address,
 * version, container }, canary? }`), and the public server must `set
 * $swiftdeploy_variant`. The admin socket's path is {@link NGINX_ADMIN_SOCKET}.
 */
export function edgeCountersLua(): string {
  const adminSocket = NGINX_ADMIN_SOCKET;
  if (!/^\/[A-Za-z0-9._/-]+$/.test(adminSocket)) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot render nginx.conf: the nginx admin socket "${adminSocket}" is not a plain path`,
    );
  }
  return String.raw`        -- Latency buckets, seconds, and their "le" labels: service/buckets.ts.
        local BOUNDS = { ${luaBuckets(DURATION_BUCKETS)} }
        local CLASSES = { "1xx", "2xx", "3xx", "4xx", "5xx", "other" }
        local VARIANTS = { "stable", "canary" }

        -- Log phase of the public server: application requests only (as the
        -- app counts them: not /healthz, /metrics, /chaos).
        function M.count()
            local uri = ngx.var.uri
            if uri == "/healthz" or uri == "/metrics" or uri == "/chaos" then
                return
            end
            local s = ngx.status
            local class = "other"
            if s >= 100 and s <= 599 then
                class = math.floor(s / 100) .. "xx"
            end
            -- Totals by class are the sum over variants ("none": no variant
            -- was chosen, e.g. no routing table): one update, not two.
            local v = ngx.var.swiftdeploy_variant
            if v ~= "stable" and v ~= "canary" then
                edge:incr("vr:none:" .. class, 1, 0)
                return
            end
            edge:incr("vr:" .. v .. ":" .. class, 1, 0)
            -- $request_time, without a variable lookup.
            local t = ngx.now() - ngx.req.start_time()
            local bucket = "inf"
            for i, b in ipairs(BOUNDS) do
                if t <= b[1] then
                    bucket = i
                    break
                end
            end
            edge:incr("vb:" .. v .. ":" .. bucket, 1, 0)
            edge:incr("vs:" .. v, t, 0)
        end

        local function label(s)
            return (s:gsub("\\", "\\\\"):gsub('"', '\\"'))
        end

        -- The admin socket's /edge-metrics (Prometheus text 0.0.4).
        function M.edge_metrics()
            local out = {
                "# HELP swiftdeploy_edge_requests_total Application requests answered to clients by nginx, by status class.",
                "# TYPE swiftdeploy_edge_requests_total counter",
            }
            for _, class in ipairs(CLASSES) do
                -- (a bare class key: counted by the config before per-variant counts)
                local n = edge:get(class) or 0
                for _, v in ipairs({ "stable", "canary", "none" }) do
                    n = n + (edge:get("vr:" .. v .. ":" .. class) or 0)
                end
                out[#out + 1] = string.format('swiftdeploy_edge_requests_total{class="%s"} %.0f', class, n)
            end
            out[#out + 1] = "# HELP swiftdeploy_edge_instance_info The counting nginx: new at every start, kept across reloads."
            out[#out + 1] = "# TYPE swiftdeploy_edge_instance_info gauge"
            out[#out + 1] = string.format('swiftdeploy_edge_instance_info{instance="%s"} 1', edge:get("instance"))
            out[#out + 1] = "# HELP swiftdeploy_edge_start_time_seconds When the counting nginx started, epoch seconds."
            out[#out + 1] = "# TYPE swiftdeploy_edge_start_time_seconds gauge"
            out[#out + 1] = string.format("swiftdeploy_edge_start_time_seconds %.3f", edge:get("start_time"))
            out[#out + 1] = "# HELP swiftdeploy_edge_variant_requests_total Application requests answered to clients, by the variant chosen and status class."
            out[#out + 1] = "# TYPE swiftdeploy_edge_variant_requests_total counter"
            for _, v in ipairs(VARIANTS) do
                for _, class in ipairs(CLASSES) do
                    out[#out + 1] = string.format('swiftdeploy_edge_variant_requests_total{variant="%s",class="%s"} %.0f',
                        v, class, edge:get("vr:" .. v .. ":" .. class) or 0)
                end
            end
            out[#out + 1] = "# HELP swiftdeploy_edge_variant_request_duration_seconds Time from the client's request to nginx's last byte, by variant."
            out[#out + 1] = "# TYPE swiftdeploy_edge_variant_request_duration_seconds histogram"
            for _, v in ipairs(VARIANTS) do
                local cum = 0
                for i, b in ipairs(BOUNDS) do
                    cum = cum + (edge:get("vb:" .. v .. ":" .. i) or 0)
                    out[#out + 1] = string.format(
                        'swiftdeploy_edge_variant_request_duration_seconds_bucket{variant="%s",le="%s"} %.0f', v, b[2], cum)
                end
                cum = cum + (edge:get("vb:" .. v .. ":inf") or 0)
                out[#out + 1] = string.format(
                    'swiftdeploy_edge_variant_request_duration_seconds_bucket{variant="%s",le="+Inf"} %.0f', v, cum)
                out[#out + 1] = string.format(
                    'swiftdeploy_edge_variant_request_duration_seconds_sum{variant="%s"} %.6f', v, edge:get("vs:" .. v) or 0)
                out[#out + 1] = string.format(
                    'swiftdeploy_edge_variant_request_duration_seconds_count{variant="%s"} %.0f', v, cum)
            end
            local r = M.current()
            out[#out + 1] = "# HELP swiftdeploy_edge_route_info The app container each variant is sent to."
            out[#out + 1] = "# TYPE swiftdeploy_edge_route_info gauge"
            for _, v in ipairs(VARIANTS) do
                local t = r and r[v]
                if t then
                    out[#out + 1] = string.format(
                        'swiftdeploy_edge_route_info{variant="%s",address="%s",version="%s",container="%s"} 1',
                        v, t.address, label(t.version), t.container)
                end
            end
            out[#out + 1] = "# HELP swiftdeploy_edge_canary_weight Percent of unpinned requests sent to the canary."
            out[#out + 1] = "# TYPE swiftdeploy_edge_canary_weight gauge"
            out[#out + 1] = string.format("swiftdeploy_edge_canary_weight %d", r and r.canary and r.weight or 0)
            out[#out + 1] = "# HELP swiftdeploy_edge_routes_revision Revision of the routing table in effect (0: none)."
            out[#out + 1] = "# TYPE swiftdeploy_edge_routes_revision gauge"
            out[#out + 1] = string.format("swiftdeploy_edge_routes_revision %.0f", r and r.revision or 0)
            ngx.print(table.concat(out, "\n"), "\n")
        end

        -- A fresh start, not a reload (the dictionary survives reloads): a
        -- new instance id and start time, and the admin socket a killed
        -- nginx left removed (it would make the bind fail). True when fresh.
        local function new_instance()
            if edge:get("instance") ~= nil then return false end
            os.remove("${adminSocket}")
            local id
            local f = io.open("/proc/sys/kernel/random/uuid", "r")
            if f then
                id = f:read("*l")
                f:close()
            end
            edge:set("instance", id or string.format("%.6f", ngx.now()))
            edge:set("start_time", ngx.now())
            return true
        end`;
}
