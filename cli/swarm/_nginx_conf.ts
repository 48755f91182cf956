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
 * (re-resolving `server … resolve` is NGINX Plus only), and a `proxy_pass`
 * through a variable (resolved per request) has no keepalive pool: a
 * connection per request, which measured 0.12–0.16 of the engine target's
 * throughput and ran out of ports (TIME_WAIT) under sustained load. So each
 * nginx worker asks Docker's DNS for `tasks.<app>` itself, every
 * {@link DNS_REFRESH_SECONDS} s (a timer, an A query over UDP, TCP when the
 * answer is truncated: {@link dnsLua}), and a `balancer_by_lua` upstream
 * with `keepalive` picks among the addresses of the last answer, round
 * robin; a connection error or connect timeout moves to the next address
 * (idempotent requests only, nginx's rule), so a stopped task that is
 * still in the answer costs a retry, never a failure.
 */
import { hardeningSpec } from "../manifest/hardening.ts";
import type { ResolvedManifest } from "../manifest/types.ts";
import { NGINX_ADMIN_SOCKET, NGINX_HEALTH_PORT } from "../plan/mod.ts";
import { edgeCountersLua, type HostRule, privatePathsConf } from "../render/nginx_shared.ts";

/** Docker's embedded DNS server, in every container attached to a user-defined network. */
export const DOCKER_DNS = "127.0.0.11";

/**
 * Seconds between two `tasks.<app>` queries of each nginx worker: a task
 * Swarm stopped leaves the rotation within this (plus Docker's own delay
 * in dropping it from DNS), as with the `resolver … valid=1s` before.
 */
export const DNS_REFRESH_SECONDS = 1;

/** Idle kept-alive connections each nginx worker keeps to the app's tasks (all tasks together). */
export const UPSTREAM_KEEPALIVE = 32;

/** Seconds to connect to a task; on the overlay a live task answers in well under this. */
const CONNECT_TIMEOUT_SECONDS = 1;

/** Seconds from a request's first try during which nginx may try another task (connect failures only, in effect). */
const NEXT_UPSTREAM_SECONDS = 2;

/** Longest wait of a fresh nginx worker's first request for the worker's first DNS answer, s. */
const FIRST_ANSWER_SECONDS = 3;

/** Most addresses one request is tried on (the first, then others after connection errors). */
export const MAX_TRIES = 3;

/** The app service's name on a swarm. */
export function appServiceName(project: string): string {
  return `${project}-app`;
}

/**
 * The swarm nginx's Lua module (`require("swiftdeploy")`): the edge
 * counters of both targets, one source (cli/render's `edgeCountersLua`:
 * the same shared dictionary keys, exclusions, status classes, latency
 * buckets and /edge-metrics families, so cli/edge reads both alike), and
 * the task balancer ({@link peersLua}). A swarm has no routing table: its
 * `M.current()` names `tasks.<app>:<port>` as the stable route (all
 * replicas run one mode), with revision and weight 0; the public server
 * sets `$swiftdeploy_variant` to "stable" for every request.
 */
function edgeLua(app: string, appPort: string): string {
  return `    init_by_lua_block {
        local M = {}
        local edge = ngx.shared.swiftdeploy_edge
        -- No routing table on a swarm: every request goes to the app's tasks.
        local ROUTE = {
            stable = { address = "tasks.${app}:${appPort}", version = "", container = "${app}" },
        }
        function M.current()
            return ROUTE
        end

${edgeCountersLua()}

${peersLua(app, appPort)}
        package.loaded.swiftdeploy = M

        new_instance()
    }
`;
}

/**
 * The Lua that keeps each nginx worker's list of the app's task addresses
 * and picks one per try (part of the `swiftdeploy` module):
 *
 * - `M.resolve(name)`: the IPv4 addresses of `name`'s A records from Docker's
 *   DNS ({@link DOCKER_DNS}:53), sorted; `{}` for NXDOMAIN (no task runs);
 *   nil and why on a timeout or a malformed answer. A minimal stub resolver
 *   of our own, after RFC 1035: the query and answer layout of §4.1 (header
 *   §4.1.1, question §4.1.2, resource records §4.1.3, name compression
 *   §4.1.4) and TCP's two-byte length prefix of §4.2.2 when the UDP answer is
 *   truncated (TC). Debian ships no lua-resty-dns (only lua-resty-core and
 *   lua-resty-lrucache are packaged), and one A query is all we need.
 * - `M.refresh()`: a per-worker timer every {@link DNS_REFRESH_SECONDS} s;
 *   a failed query keeps the last list (logged), an empty answer empties it.
 *   Each worker also writes its list to the `swiftdeploy_peers` dictionary
 *   for the admin socket's `/peers`.
 * - `M.ready()` (access phase): a worker that has had no answer yet asks
 *   itself, retrying for a few seconds (a fresh worker never guesses, and
 *   never fails a request because the timer's first query is in flight);
 *   502 when the answer lists no task.
 * - `M.balance()` (balancer phase): round robin over the list, never an
 *   address this request already tried; up to {@link MAX_TRIES} addresses
 *   per request.
 */
function peersLua(app: string, appPort: string): string {
  return `        local balancer = require("ngx.balancer")
        local peers_dict = ngx.shared.swiftdeploy_peers
        local DNS_SERVER = "${DOCKER_DNS}"
        local DNS_PORT = 53
        local DNS_TIMEOUT_MS = 1000
        local TASKS = "tasks.${app}"
        local APP_PORT = ${appPort}
        local MAX_TRIES = ${MAX_TRIES}

        -- This worker's addresses of the app's tasks (sorted), from the last answer.
        local peers = {}
        local answered = false
        local rr = 0
        local busy = false

        local function u16(buf, pos)
            local a, b = buf:byte(pos, pos + 1)
            if not b then return nil end
            return a * 256 + b
        end

        -- RFC 1035 4.1.1 header (id, RD set, one question) and 4.1.2
        -- question (labels, QTYPE A = 1, QCLASS IN = 1).
        local function question(id, name)
            local parts = { string.char(math.floor(id / 256), id % 256, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0) }
            for label in name:gmatch("[^.]+") do
                parts[#parts + 1] = string.char(#label) .. label
            end
            parts[#parts + 1] = string.char(0, 0, 1, 0, 1)
            return table.concat(parts)
        end

        -- Position after the name at pos (labels, or a 4.1.4 pointer that ends it).
        local function skip_name(buf, pos)
            for _ = 1, 128 do
                local len = buf:byte(pos)
                if not len then return nil end
                if len == 0 then return pos + 1 end
                if len >= 192 then return pos + 2 end
                if len >= 64 then return nil end
                pos = pos + 1 + len
            end
            return nil
        end

        -- The A records of an answer (4.1.3), or nil and why; a third
        -- result true when the answer was truncated (TC).
        function M.parse_answer(buf, id)
            if type(buf) ~= "string" or #buf < 12 then return nil, "short answer" end
            if u16(buf, 1) ~= id then return nil, "answer to another query" end
            local f1, f2 = buf:byte(3, 4)
            if f1 < 128 then return nil, "not an answer" end
            local rcode = f2 % 16
            if rcode == 3 then return {} end
            if rcode ~= 0 then return nil, "rcode " .. rcode end
            if math.floor(f1 / 2) % 2 == 1 then return nil, "truncated", true end
            local pos = 13
            for _ = 1, u16(buf, 5) do
                pos = skip_name(buf, pos)
                if not pos then return nil, "malformed question" end
                pos = pos + 4
            end
            local out = {}
            for _ = 1, u16(buf, 7) do
                pos = skip_name(buf, pos)
                if not pos then return nil, "malformed record" end
                local rtype, rclass, rdlen = u16(buf, pos), u16(buf, pos + 2), u16(buf, pos + 8)
                if not rdlen or pos + 9 + rdlen > #buf then return nil, "short record" end
                if rtype == 1 and rclass == 1 and rdlen == 4 then
                    local a, b, c, d = buf:byte(pos + 10, pos + 13)
                    out[#out + 1] = a .. "." .. b .. "." .. c .. "." .. d
                end
                pos = pos + 10 + rdlen
            end
            table.sort(out)
            return out
        end

        -- The same query over TCP (4.2.2: a two-byte length before each message).
        local function resolve_tcp(name, id)
            local sock = ngx.socket.tcp()
            sock:settimeout(DNS_TIMEOUT_MS)
            local ok, err = sock:connect(DNS_SERVER, DNS_PORT)
            if not ok then return nil, "tcp: " .. tostring(err) end
            local q = question(id, name)
            local head, buf
            ok, err = sock:send(string.char(math.floor(#q / 256), #q % 256) .. q)
            if ok then head, err = sock:receive(2) end
            if head then buf, err = sock:receive(u16(head, 1)) end
            sock:close()
            if not buf then return nil, "tcp: " .. tostring(err) end
            return M.parse_answer(buf, id)
        end

        function M.resolve(name)
            local id = math.random(0, 65535)
            local sock = ngx.socket.udp()
            sock:settimeout(DNS_TIMEOUT_MS)
            local ok, err = sock:setpeername(DNS_SERVER, DNS_PORT)
            if not ok then return nil, err end
            ok, err = sock:send(question(id, name))
            if not ok then
                sock:close()
                return nil, err
            end
            local buf
            buf, err = sock:receive()
            sock:close()
            if not buf then return nil, err end
            local list, perr, truncated = M.parse_answer(buf, id)
            if truncated then return resolve_tcp(name, id) end
            return list, perr
        end

        -- A query's outcome: a list replaces this worker's, a failure keeps it.
        local function apply(ok, list, err)
            if not ok or not list then
                ngx.log(ngx.WARN, "swiftdeploy: cannot resolve ", TASKS, ": ", tostring(ok and err or list),
                    "; keeping ", #peers, " addresses")
                return false
            end
            peers, answered = list, true
            peers_dict:set("w" .. ngx.worker.id(), string.format("%.3f ", ngx.now()) .. table.concat(list, " "))
            return true
        end

        -- The timer's query (one at a time per worker).
        function M.refresh(premature)
            if premature or busy then return end
            busy = true
            apply(pcall(M.resolve, TASKS))
            busy = false
        end

        function M.start_refresh()
            rr = math.random(0, 1000)
            ngx.timer.at(0, M.refresh)
            ngx.timer.every(${DNS_REFRESH_SECONDS}, M.refresh)
        end

        -- Access phase: a worker that has had no answer yet (it just started;
        -- Docker's DNS may not answer a container's first queries) asks
        -- itself, for up to ${FIRST_ANSWER_SECONDS} s, before sending anything. No task listed
        -- is nginx's 502 (as an unresolvable name was).
        function M.ready()
            local deadline = ngx.now() + ${FIRST_ANSWER_SECONDS}
            while not answered and ngx.now() < deadline do
                if not apply(pcall(M.resolve, TASKS)) then ngx.sleep(0.1) end
            end
            if #peers == 0 then
                ngx.log(ngx.ERR, "swiftdeploy: no task of ", TASKS, " to send to")
                return ngx.exit(502)
            end
        end

        -- Balancer of the app's tasks: the next address this request has not tried.
        function M.balance()
            local ctx = ngx.ctx
            local n = #peers
            if n == 0 then
                ngx.log(ngx.ERR, "swiftdeploy: no task of ", TASKS, " to send to")
                return ngx.exit(502)
            end
            local tried = ctx.swiftdeploy_tried
            if not tried then
                tried = {}
                ctx.swiftdeploy_tried = tried
                if n > 1 then balancer.set_more_tries(math.min(n, MAX_TRIES) - 1) end
            end
            local pick
            for _ = 1, n do
                rr = rr % n + 1
                if not tried[peers[rr]] then
                    pick = peers[rr]
                    break
                end
            end
            pick = pick or peers[rr % n + 1]
            tried[pick] = true
            local ok, err = balancer.set_current_peer(pick, APP_PORT)
            if not ok then
                ngx.log(ngx.ERR, "swiftdeploy: cannot set the peer ", pick, ": ", err)
                return ngx.exit(502)
            end
        end

        -- The admin socket's /peers: each worker's list, with its answer's time.
        function M.peers_api()
            local out = {}
            for w = 0, ngx.worker.count() - 1 do
                out[#out + 1] = "worker " .. w .. " " .. (peers_dict:get("w" .. w) or "-")
            end
            ngx.print(table.concat(out, "\\n"), "\\n")
        end
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
 * How the swarm nginx recognises the manager host (for /chaos and
 * /metrics): a request the manager host sends to its own loopback
 * (`127.0.0.1:<nginx.port>`, the host-mode published port) is relayed by
 * docker-proxy and reaches nginx from the gateway of the manager's
 * `docker_gwbridge` (measured on the lab, Docker 20.10: from 172.17.0.1,
 * the gwbridge being 172.17.0.0/16, nginx's address on it 172.17.0.3). A
 * request from another node, from the lab's host or from the manager's own
 * node address is DNATed and keeps its own source: foreign unless listed in
 * `nginx.private_sources`. `gateway` is that network's gateway as the
 * manager's engine reports it; without one (no such network yet), the
 * engine target's rule: the `.1` of the /24 holding nginx's own address.
 */
export function swarmHostRule(gateway: string | undefined): HostRule {
  return gateway ? { kind: "sources", sources: [gateway] } : { kind: "network-gateway" };
}

/**
 * The whole nginx.conf of the swarm target, for `manifest`: the public
 * server on `nginx.port` proxying to `tasks.<project>-app:<services.port>`,
 * /chaos and /metrics for the manager host (`host`, see
 * {@link swarmHostRule}) and `nginx.private_sources` only (the app's 404
 * body for anyone else), and the loopback health server the service's
 * healthcheck asks. Errors nginx produces itself get the JSON bodies of the
 * engine target. The bytes depend on the nginx-related keys and `host`
 * only: the config's name is its content hash, and a new name restarts
 * nginx (stop-first: its port is bound on one node).
 *
 * @throws RangeError when a port is out of range; Error when a host source
 *   is not an IPv4 address or CIDR
 */
export function renderSwarmNginxConf(
  manifest: ResolvedManifest,
  host: HostRule = { kind: "network-gateway" },
): string {
  const privatePaths = privatePathsConf({
    sources: hardeningSpec(manifest).private_sources,
    host,
    proxy: [
      "access_by_lua_block {",
      '    require("swiftdeploy").ready()',
      "}",
      "proxy_pass http://swiftdeploy_app;",
    ],
    indent: "        ",
  });
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

    # Edge counters: every application answer of the public server, by
    # status class and as a latency histogram, counted once it was sent
    # (nginx's own 502 and 504 included), as the engine target's nginx
    # counts them; a fresh nginx starts from zero under a new instance id.
    # Served on the admin socket only (the CLI's promotion gate reads them).
    lua_shared_dict swiftdeploy_edge 1m;
    # Each worker's addresses of tasks.${app} and when it got them (/peers).
    lua_shared_dict swiftdeploy_peers 64k;
${edgeLua(app, appPort)}
    # Each worker asks Docker's DNS for tasks.${app} every ${DNS_REFRESH_SECONDS} s.
    init_worker_by_lua_block {
        math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
        require("swiftdeploy").start_refresh()
    }

    # Kept-alive connections to the app's tasks. The server is a placeholder
    # nginx requires; the balancer sets each try's task address from the
    # worker's last tasks.${app} answer.
    upstream swiftdeploy_app {
        server 0.0.0.1;
        balancer_by_lua_block {
            require("swiftdeploy").balance()
        }
        keepalive ${UPSTREAM_KEEPALIVE};
    }

    ${privatePaths.http.replaceAll("\n", "\n    ")}

    # A literal "$" for quoted strings below (nginx has no escape for it).
    geo $dollar {
        default "$";
    }

    server {
        listen ${port("nginx.port", manifest.nginx.port)};

        # One variant on a swarm (the edge counters count by it).
        set $swiftdeploy_variant "stable";

        log_by_lua_block {
            require("swiftdeploy").count()
        }

        add_header X-Deployed-By swiftdeploy always;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_connect_timeout ${CONNECT_TIMEOUT_SECONDS}s;
        proxy_send_timeout ${timeout}s;
        proxy_read_timeout ${timeout}s;
        # A task that stopped (its address still in the last answer) refuses
        # the connection or does not answer it within the connect timeout
        # (its node is gone): the next address is tried. Retries happen only
        # within the first ${NEXT_UPSTREAM_SECONDS} s, so a slow answer (the read timeout) is
        # never sent again; nginx never resends a non-idempotent request.
        proxy_next_upstream error timeout;
        proxy_next_upstream_timeout ${NEXT_UPSTREAM_SECONDS}s;
        proxy_next_upstream_tries ${MAX_TRIES};
        recursive_error_pages on;

        error_page 502 @bad_gateway;
        error_page 503 @service_unavailable;
        error_page 504 @gateway_timeout;

        location / {
            access_by_lua_block {
                require("swiftdeploy").ready()
            }
            proxy_pass http://swiftdeploy_app;
        }

        # Private: the manager host and nginx.private_sources only; anyone
        # else gets the app's 404 for the path (see swarmHostRule).
${privatePaths.locations}

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

        location = /peers {
            default_type text/plain;
            content_by_lua_block {
                require("swiftdeploy").peers_api()
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
