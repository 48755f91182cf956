/**
 * privatePathsConf(): the nginx text that keeps /chaos and /metrics private
 * (issue 17), for the engine's nginx.conf and, later, the swarm's.
 */
import assert from "node:assert/strict";
import { notFoundBody } from "../../service/not_found.ts";
import { PRIVATE_PATHS, privatePathsConf } from "./mod.ts";

const PROXY = ["proxy_pass http://app_pool;"];

Deno.test("privatePathsConf() admits loopback and the listed sources, and the network gateway", () => {
  const conf = privatePathsConf({
    sources: ["203.0.113.7", "10.0.0.0/8"],
    host: { kind: "network-gateway" },
    proxy: PROXY,
  });
  assert.match(
    conf.http,
    /geo \$swiftdeploy_private_source \{\n {4}default 0;\n {4}127\.0\.0\.1 1;\n {4}203\.0\.113\.7 1;\n {4}10\.0\.0\.0\/8 1;\n\}/,
  );
  // The gateway: the .1 of the /24 holding nginx's own address.
  assert.match(conf.http, /map "\$remote_addr \$server_addr" \$swiftdeploy_private \{/);
  const rule = new RegExp(conf.http.match(/"~(.*)" 1;/)![1]!);
  assert.ok(rule.test("10.201.3.1 10.201.3.129"));
  assert.ok(!rule.test("10.201.4.1 10.201.3.129"), "another network's gateway");
  assert.ok(!rule.test("10.201.3.7 10.201.3.129"), "a container on the network");
  assert.ok(!rule.test("110.201.3.1 10.201.3.129"));
});

Deno.test("privatePathsConf() answers strangers with the app's own 404 body for each path", () => {
  const conf = privatePathsConf({ sources: [], host: { kind: "network-gateway" }, proxy: PROXY });
  for (const path of PRIVATE_PATHS) {
    // nginx reads \\ as \ inside a single-quoted string: the body as the app sends it.
    const quoted = notFoundBody(path).replaceAll("\\", "\\\\");
    assert.ok(
      conf.locations.includes(
        `location = ${path} {\n    if ($swiftdeploy_private = 0) {\n        return 404 '${quoted}';\n    }\n    proxy_pass http://app_pool;\n}`,
      ),
      conf.locations,
    );
  }
});

Deno.test("privatePathsConf() with fixed host sources has no gateway map (the swarm's form)", () => {
  const conf = privatePathsConf({
    sources: [],
    host: { kind: "sources", sources: ["172.18.0.1"] },
    proxy: PROXY,
    indent: "  ",
  });
  assert.match(
    conf.http,
    /geo \$swiftdeploy_private \{\n {4}default 0;\n {4}127\.0\.0\.1 1;\n {4}172\.18\.0\.1 1;\n\}/,
  );
  assert.ok(!conf.http.includes("map "));
  assert.ok(conf.locations.startsWith("  location = /chaos {"));
});

Deno.test("privatePathsConf() refuses text that is no IPv4 address or CIDR", () => {
  for (const bad of ["1.2.3.4; deny all", "example.com", "::1"]) {
    assert.throws(
      () => privatePathsConf({ sources: [bad], host: { kind: "network-gateway" }, proxy: PROXY }),
      /not an IPv4 address or CIDR/,
    );
  }
});
