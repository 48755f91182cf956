import assert from "node:assert/strict";
import { edgeCountersLua } from "./nginx_shared.ts";
import { nginxQuotedText } from "./_escape.ts";
import { loadVariant, VARIANTS } from "./_testing.ts";
import { renderSwarmNginxConf, swarmHostRule } from "../swarm/mod.ts";
import { notFoundBody } from "../../service/not_found.ts";

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1;
}

Deno.test("edgeCountersLua() is the one edge-counter source: the identical block in the engine target's and the swarm's nginx.conf", async () => {
  const block = edgeCountersLua();
  assert.ok(block.includes("function M.count()") && block.includes("function M.edge_metrics()"));
  for (const variant of VARIANTS) {
    const loaded = await loadVariant(variant);
    const engine = loaded.files["nginx.conf"];
    const swarm = renderSwarmNginxConf(loaded.manifest, swarmHostRule("172.17.0.1"));
    for (const [name, conf] of [["engine", engine], ["swarm", swarm]] as const) {
      assert.equal(
        occurrences(conf, block),
        1,
        `${variant.name} ${name}: the block once, byte for byte`,
      );
      // No second copy of any of its functions anywhere else in the file.
      for (
        const fn of [
          "function M.count()",
          "function M.edge_metrics()",
          "local function new_instance()",
        ]
      ) {
        assert.equal(occurrences(conf, fn), 1, `${variant.name} ${name}: ${fn}`);
      }
      assert.equal(occurrences(conf, "local BOUNDS = "), 1, `${variant.name} ${name}: BOUNDS`);
      // new_instance() is called once, at the end of init_by_lua_block.
      assert.equal(
        conf.match(/^ +(if )?new_instance\(\)( then)?$/gm)?.length,
        1,
        `${variant.name} ${name}: called once`,
      );
      // M.count reads $swiftdeploy_variant: the public server sets it.
      assert.match(conf, /set \$swiftdeploy_variant "(stable)?";/, `${variant.name} ${name}`);
    }
  }
});

Deno.test("renderSwarmNginxConf() keeps /chaos and /metrics to the manager's docker_gwbridge gateway and the listed sources, the app's 404 for others", async () => {
  const loaded = await loadVariant(VARIANTS[0]!);
  const m = loaded.manifest;
  const conf = renderSwarmNginxConf(
    { ...m, hardening: { ...loaded.manifest.hardening!, private_sources: ["203.0.113.7"] } },
    swarmHostRule("172.17.0.1"),
  );
  assert.match(
    conf,
    /geo \$swiftdeploy_private \{\n\s+default 0;\n\s+127\.0\.0\.1 1;\n\s+172\.17\.0\.1 1;\n\s+203\.0\.113\.7 1;\n\s+\}/,
  );
  for (const path of ["/chaos", "/metrics"]) {
    const at = conf.indexOf(`location = ${path} {`);
    assert.ok(at > 0, path);
    const location = conf.slice(at, conf.indexOf("\n        }\n", at) + 10);
    assert.ok(location.includes("if ($swiftdeploy_private = 0) {"), location);
    assert.ok(
      location.includes(`return 404 '${nginxQuotedText(notFoundBody(path))}';`),
      location,
    );
    assert.ok(location.includes("proxy_pass http://swiftdeploy_app;"), location);
  }
  // No gwbridge gateway known: the engine target's rule (the .1 of nginx's /24).
  const fallback = renderSwarmNginxConf(m, swarmHostRule(undefined));
  assert.ok(fallback.includes('map "$remote_addr $server_addr" $swiftdeploy_private {'));
  assert.throws(() => renderSwarmNginxConf(m, swarmHostRule("172.17.0.1; x")), /not an IPv4/);
});
