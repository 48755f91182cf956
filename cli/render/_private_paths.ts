/**
 * /chaos and /metrics are private (issue 17): through nginx they answer the
 * host itself and the manifest's `nginx.private_sources`; anyone else gets
 * the app's 404 body for that path, as for any unknown path. Pure: the
 * nginx text only, for the engine target's nginx.conf and for the swarm's.
 *
 * What nginx sees (measured on Docker 20.10 with its defaults, iptables on
 * and the userland proxy on; the same without the userland proxy, where the
 * hairpin rule masquerades): a process on the host calling
 * `127.0.0.1:<port>` or `localhost:<port>` reaches nginx through
 * docker-proxy, which connects from the gateway of nginx's network, the
 * `.1` of SwiftDeploy's /24. So does a container of any network on the same
 * engine that calls a host address's published port (its traffic is
 * relayed by docker-proxy too): for nginx both are "the host". A request
 * from another host or network namespace is DNATed and keeps its own source
 * address; so does the host calling its own non-loopback address (e.g.
 * `192.0.2.2:<port>`), which is therefore treated as foreign unless listed.
 * A container on the project network calling nginx's address directly is
 * seen with its own address: foreign too. Inside nginx's container,
 * 127.0.0.1 is nginx itself (its healthcheck).
 */
import { notFoundBody } from "../../service/not_found.ts";
import { nginxQuotedText } from "./_escape.ts";

/** The paths only the host and the listed sources reach through nginx. */
export const PRIVATE_PATHS = ["/chaos", "/metrics"] as const;

/** How nginx recognises the host (see the module comment). */
export type HostRule =
  /** The `.1` of the /24 nginx's own address ($server_addr) is on: the engine target. */
  | { kind: "network-gateway" }
  /** Fixed addresses or CIDRs (e.g. a swarm's docker_gwbridge gateway). */
  | { kind: "sources"; sources: readonly string[] };

export interface PrivatePathsOptions {
  /** `nginx.private_sources`: IPv4 addresses or CIDRs, already validated. */
  sources: readonly string[];
  host: HostRule;
  /**
   * The body of each private location after the access check: how the
   * request reaches the app (e.g. the variant choice and `proxy_pass`),
   * without the braces, one directive per line.
   */
  proxy: readonly string[];
  /** Spaces before each line of the locations (the server block's indent). */
  indent?: string;
}

/** The nginx text of the private paths: an `http`-level map and the server's locations. */
export interface PrivatePathsConf {
  /**
   * For the `http` block: `geo` of the listed sources and loopback, and (with
   * the network-gateway rule) a `map` that also admits the gateway, into
   * `$swiftdeploy_private` ("1" admitted, "0" not).
   */
  http: string;
  /** For the `server` block: `location = /chaos` and `location = /metrics`. */
  locations: string;
}

const IPV4_OR_CIDR = /^\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?$/;

/**
 * The `geo`/`map` and the locations that keep /chaos and /metrics private.
 * A refused request is answered in nginx's rewrite phase (`return 404`, the
 * one directive that is safe inside `if` in a location) with the exact body
 * the app gives an unknown path (service/not_found.ts): it never reaches the
 * app, so it changes no chaos and no counter.
 *
 * @throws Error when a source is not an IPv4 address or CIDR (the manifest
 *   validates them; this keeps other text out of nginx.conf whatever the caller)
 */
export function privatePathsConf(opts: PrivatePathsOptions): PrivatePathsConf {
  const hostSources = opts.host.kind === "sources" ? opts.host.sources : [];
  for (const s of [...opts.sources, ...hostSources]) {
    if (!IPV4_OR_CIDR.test(s)) throw new Error(`not an IPv4 address or CIDR: ${JSON.stringify(s)}`);
  }
  const geoVar = opts.host.kind === "network-gateway"
    ? "$swiftdeploy_private_source"
    : "$swiftdeploy_private";
  const listed = [...new Set(["127.0.0.1", ...hostSources, ...opts.sources])];
  const http = [
    "# /chaos and /metrics: the host and nginx.private_sources only (see the",
    '# private locations below); "1" admitted.',
    `geo ${geoVar} {`,
    "    default 0;",
    ...listed.map((s) => `    ${s} 1;`),
    "}",
    ...(opts.host.kind === "network-gateway"
      ? [
        "# The host reaches nginx through Docker's port mapping, from the gateway",
        "# of nginx's network: the .1 of the /24 holding nginx's own address.",
        'map "$remote_addr $server_addr" $swiftdeploy_private {',
        '    "~^(\\d+\\.\\d+\\.\\d+)\\.1 \\1\\.\\d+$" 1;',
        "    default $swiftdeploy_private_source;",
        "}",
      ]
      : []),
  ].join("\n");
  const pad = opts.indent ?? "";
  const locations = PRIVATE_PATHS.map((path) =>
    [
      `location = ${path} {`,
      "    if ($swiftdeploy_private = 0) {",
      `        return 404 '${nginxQuotedText(notFoundBody(path))}';`,
      "    }",
      ...opts.proxy.map((line) => `    ${line}`),
      "}",
    ].map((line) => (line === "" ? "" : pad + line)).join("\n")
  ).join("\n\n");
  return { http, locations };
}
