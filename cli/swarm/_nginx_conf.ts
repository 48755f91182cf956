/**
 * nginx.conf for `target: swarm`. Pure.
 *
 * On one host, nginx's Lua balancer sends each request to the container a
 * routing table names (issue 13). On a swarm the app is a service of
 * `replicas` tasks that Swarm starts, replaces and rolls back itself, on any
 * node; it has no VIP (`endpoint_mode: dnsrr`: this kernel has no IPVS, and
 * one design serves swarms with and without it). nginx finds the tasks
 * through Docker's DNS: `tasks.<project>-app` holds the address of every
 * running, healthy task (Swarm keeps starting and unhealthy tasks out).
 *
 * Open-source nginx resolves the host of a plain `upstream` once, at start
 * (re-resolving `server … resolve` is NGINX Plus only), so the name goes
 * through a variable: `proxy_pass http://$swiftdeploy_app:<port>` is
 * resolved per request through `resolver 127.0.0.11 valid=1s`, and a
 * connection error moves to the next address of the answer
 * (`proxy_next_upstream error`). No upstream keepalive pool exists for a
 * variable target: each request opens a connection to a task.
 */
import type { ResolvedManifest } from "../manifest/types.ts";
import { NGINX_ADMIN_SOCKET, NGINX_HEALTH_PORT } from "../plan/mod.ts";
import { DURATION_BUCKETS } from "../../service/buckets.ts";

/** Docker's embedded DNS server, in every container attached to a user-defined network. */
export const DOCKER_DNS = "127.0.0.11";

/** Seconds nginx keeps a `tasks.<service>` answer: a stopped task leaves the rotation this fast. */
export const DNS_VALID_SECONDS = 1;

/** The app service's name on a swarm. */
export function appServiceName(project: string): string {
  return `${project}-app`;
}

/**
 * The edge counters' Lua module of the swarm nginx (`require("swiftdeploy")`):
 * the same shared dictionary keys, exclusions (/healthz, /metrics, /chaos),
 * status classes, latency buckets (service/buckets.ts) and /edge-metrics
 * families as templates/nginx.conf.tmpl's `M.count` and `M.edge_metrics`,
 * so cli/edge reads both alike. A swarm has no routing table: every
 * request counts as variant "stable", routed to `tasks.<app>:<port>` (all
 * replicas run one mode), the weight is 0 and the revision 0.
 */
function edgeLua(app: string, appPort: string): string {
  const bounds = DURATION_BUCKETS.map((b) => `{ ${b}, "${b}" }`).join(", ");
  return `    init_by_lua_block {
        local M = {}
        local edge = ngx.shared.swiftdeploy_edge
        -- Latency buckets, seconds, and their "le" labels: service/buckets.ts.
        local BOUNDS = { ${bounds} }
        local CLASSES = { "1xx", "2xx", "3xx", "4xx", "5xx", "other" }
        local VARIANTS = { "stable", "canary" }
        local ROUTE = { address = "tasks.${app}:${appPort}", container = "${app}" }

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
            edge:incr("vr:stable:" .. class, 1, 0)
            local t = ngx.now() - ngx.req.start_time()
            local bucket = "inf"
            for i, b in ipairs(BOUNDS) do
                if t <= b[1] then
                    bucket = i
                    break
                end
            end
            edge:incr("vb:stable:" .. bucket, 1, 0)
            edge:incr("vs:stable", t, 0)
        end

        -- The admin socket's /edge-metrics (Prometheus text 0.0.4).
        function M.edge_metrics()
            local out = {
                "# HELP swiftdeploy_edge_requests_total Application requests answered to clients by nginx, by status class.",
                "# TYPE swiftdeploy_edge_requests_total counter",
            }
            for _, class in ipairs(CLASSES) do
                out[#out + 1] = string.format('swiftdeploy_edge_requests_total{class="%s"} %.0f', class,
                    edge:get("vr:stable:" .. class) or 0)
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
            out[#out + 1] = "# HELP swiftdeploy_edge_route_info The app each variant is sent to."
            out[#out + 1] = "# TYPE swiftdeploy_edge_route_info gauge"
            out[#out + 1] = string.format(
                'swiftdeploy_edge_route_info{variant="stable",address="%s",version="",container="%s"} 1',
                ROUTE.address, ROUTE.container)
            out[#out + 1] = "# HELP swiftdeploy_edge_canary_weight Percent of unpinned requests sent to the canary."
            out[#out + 1] = "# TYPE swiftdeploy_edge_canary_weight gauge"
            out[#out + 1] = "swiftdeploy_edge_canary_weight 0"
            out[#out + 1] = "# HELP swiftdeploy_edge_routes_revision Revision of the routing table in effect (0: none)."
            out[#out + 1] = "# TYPE swiftdeploy_edge_routes_revision gauge"
            out[#out + 1] = "swiftdeploy_edge_routes_revision 0"
            ngx.print(table.concat(out, "\\n"), "\\n")
        end

        package.loaded.swiftdeploy = M

        if edge:get("instance") == nil then
            -- A fresh start, not a reload: a socket left by a killed nginx
            -- would make the bind fail.
            os.remove("${NGINX_ADMIN_SOCKET}")
            local id
            local f = io.open("/proc/sys/kernel/random/uuid", "r")
            if f then
                id = f:read("*l")
                f:close()
            end
            edge:set("instance", id or string.format("%.6f", ngx.now()))
            edge:set("start_time", ngx.now())
        end
    }
`;
}

/** A JSON string literal for the inside of a single-quoted nginx string (`$` via `${dollar}`). */
function nginxJson(value: string): string {
  return JSON.stringify(value).replace(/[\\']/g, (c) => `\\${c}`).replaceAll(
    "$",
    () => "${dollar}",
  );
}

function port(what: string, value: number): string {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new RangeError(`Cannot render ${what}: expected a port, got ${value}`);
  }
  return String(value);
}

/**
 * The whole nginx.conf of the swarm target, for `manifest`: the public
 * server on `nginx.port` proxying to `tasks.<project>-app:<services.port>`,
 * and the loopback health server the service's healthcheck asks. Errors
 * nginx produces itself get the JSON bodies of the engine target. The
 * bytes depend on the nginx-related keys only: the config's name is its
 * content hash, and a new name restarts nginx (stop-first: its port is
 * bound on one node).
 */
export function renderSwarmNginxConf(manifest: ResolvedManifest): string {
  const app = appServiceName(manifest.project);
  const service = nginxJson(app);
  const contact = nginxJson(manifest.nginx.contact);
  const body = (code: number, text: string) =>
    `'{"error":"${text}","code":${code},"service":${service},"contact":${contact}}'`;
  const timeout = manifest.nginx.proxy_timeout;
  const appPort = port("services.port", manifest.services.port);
  return `# Generated by swiftdeploy for target swarm from the manifest of project ${
    JSON.stringify(manifest.project)
  }.
# Travels as a Swarm config named after its content hash: never edited in place.
# It names no manifest hash: an edit elsewhere in the manifest must not restart nginx.
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;

worker_processes auto;
pid /tmp/nginx.pid;
error_log stderr warn;

events {
    worker_connections 1024;
}

http {
    client_body_temp_path /tmp/client_body_temp;
    proxy_temp_path /tmp/proxy_temp;
    fastcgi_temp_path /tmp/fastcgi_temp;
    uwsgi_temp_path /tmp/uwsgi_temp;
    scgi_temp_path /tmp/scgi_temp;

    server_tokens off;
    default_type application/json;
    access_log off;

    # Docker's DNS: tasks.${app} lists the running, healthy tasks.
    resolver ${DOCKER_DNS} valid=${DNS_VALID_SECONDS}s ipv6=off;
    resolver_timeout 2s;

    # Edge counters: every application answer of the public server, by
    # status class and as a latency histogram, counted once it was sent
    # (nginx's own 502 and 504 included), as the engine target's nginx
    # counts them; a fresh nginx starts from zero under a new instance id.
    # Served on the admin socket only (the CLI's promotion gate reads them).
    lua_shared_dict swiftdeploy_edge 1m;
${edgeLua(app, appPort)}
    # A literal "$" for quoted strings below (nginx has no escape for it).
    geo $dollar {
        default "$";
    }

    server {
        listen ${port("nginx.port", manifest.nginx.port)};

        log_by_lua_block {
            require("swiftdeploy").count()
        }

        add_header X-Deployed-By swiftdeploy always;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_connect_timeout 1s;
        proxy_send_timeout ${timeout}s;
        proxy_read_timeout ${timeout}s;
        # A task that stopped (its address still in a cached answer) refuses
        # the connection: the next address of the answer is tried. A slow
        # answer is never sent again.
        proxy_next_upstream error;
        proxy_next_upstream_tries 3;
        recursive_error_pages on;

        error_page 502 @bad_gateway;
        error_page 503 @service_unavailable;
        error_page 504 @gateway_timeout;

        location / {
            set $swiftdeploy_app tasks.${app};
            proxy_pass http://$swiftdeploy_app:${appPort};
        }

        location @bad_gateway {
            return 502 ${body(502, "Bad Gateway")};
        }

        location @service_unavailable {
            return 503 ${body(503, "Service Unavailable")};
        }

        location @gateway_timeout {
            return 504 ${body(504, "Gateway Timeout")};
        }
    }

    # Admin listener: a unix socket in the manager's folder
    # <manifest dir>/.swiftdeploy/nginx-admin (0700, nginx's user), read by
    # the CLI as root. No TCP port.
    server {
        listen unix:${NGINX_ADMIN_SOCKET};
        access_log off;

        location = /edge-metrics {
            default_type "text/plain; version=0.0.4";
            content_by_lua_block {
                require("swiftdeploy").edge_metrics()
            }
        }

        location / {
            return 404;
        }
    }

    # Health of nginx itself, for the service's healthcheck; loopback only.
    server {
        listen 127.0.0.1:${NGINX_HEALTH_PORT};

        location = /nginx-health {
            access_log off;
            return 200 '{"status":"ok"}';
        }
    }
}
`;
}
