/**
 * Issue 17's manifest keys: `nginx.private_sources`, `logs.containers`,
 * `logs.nginx` and `resources.<container>` — defaults, values as written,
 * line:col messages for each kind of bad value, and validate's warning.
 */
import assert from "node:assert/strict";
import { BASE, problems } from "./_section_testing.ts";
import {
  defaultHardening,
  hardeningSpec,
  parseManifest,
  privateSourcesWarning,
  sizeBytes,
} from "./mod.ts";
import { privateSourceProblem } from "./hardening.ts";

Deno.test("parseManifest() leaves hardening out when nothing differs from the defaults", () => {
  const m = parseManifest(BASE, "manifest.yaml");
  assert.equal(m.hardening, undefined);
  assert.deepEqual(hardeningSpec(m), defaultHardening());
  // Writing the defaults is the same manifest.
  const written = parseManifest(
    BASE + "  private_sources: []\n" +
      "logs:\n  containers:\n    driver: json-file\n    max_size: 10m\n    max_files: 3\n" +
      "resources:\n  app:\n    memory: 256m\n",
    "manifest.yaml",
  );
  assert.equal(written.hardening, undefined);
});

Deno.test("defaultHardening() is seed 004's 10m × 3 logs and the measured caps", () => {
  const d = defaultHardening();
  assert.deepEqual(d.container_logs, { driver: "json-file", max_size: "10m", max_files: 3 });
  assert.deepEqual(d.nginx_logs, { max_size: "10m", max_size_bytes: 10 * 2 ** 20, max_files: 3 });
  assert.deepEqual(d.private_sources, []);
  assert.deepEqual(d.resources.app, {
    memory: "256m",
    memory_bytes: 256 * 2 ** 20,
    nano_cpus: 1e9,
    pids: 128,
  });
});

Deno.test("parseManifest() resolves every hardening key as written", () => {
  const m = parseManifest(
    BASE + '  private_sources: ["203.0.113.7", "10.0.0.0/8"]\n' +
      "logs:\n  containers:\n    driver: local\n    max_size: 2m\n    max_files: 5\n" +
      "  nginx:\n    max_size: 512k\n    max_files: 7\n" +
      "resources:\n  app:\n    memory: 1g\n    cpus: 1.5\n    pids: 100\n" +
      "  opa:\n    cpus: 0.25\n",
    "manifest.yaml",
  );
  const h = hardeningSpec(m);
  assert.deepEqual(h.private_sources, ["203.0.113.7", "10.0.0.0/8"]);
  assert.deepEqual(h.container_logs, { driver: "local", max_size: "2m", max_files: 5 });
  assert.deepEqual(h.nginx_logs, { max_size: "512k", max_size_bytes: 512 * 1024, max_files: 7 });
  assert.deepEqual(h.resources.app, {
    memory: "1g",
    memory_bytes: 2 ** 30,
    nano_cpus: 1.5e9,
    pids: 100,
  });
  // A key left out keeps its default, the others as written.
  assert.equal(h.resources.opa.nano_cpus, 0.25e9);
  assert.equal(h.resources.opa.memory, defaultHardening().resources.opa.memory);
});

Deno.test("parseManifest() names the line and column of each bad hardening value", () => {
  const text = BASE +
    '  private_sources: ["10.0.0.1/8", "example.com", "300.1.1.1"]\n' + // line 7
    "logs:\n" +
    "  containers:\n" +
    "    driver: syslog\n" + // line 10
    "    max_size: 10\n" + // line 11
    "    max_files: 0\n" + // line 12
    "  nginx:\n" +
    "    max_size: 100k\n" + // line 14
    "    max_files: 1\n" + // line 15
    "resources:\n" +
    "  app:\n" +
    "    memory: 4m\n" + // line 18
    "    cpus: 0\n" + // line 19
    "    pids: 8\n" + // line 20
    "  web:\n" + // line 21
    "    memory: 1g\n";
  const found = problems(text);
  const expected = [
    /^manifest\.yaml:7:21 nginx\.private_sources\[0\]: must have its host bits zero, such as "10\.0\.0\.0\/8" \(got "10\.0\.0\.1\/8"\)$/,
    /^manifest\.yaml:7:35 nginx\.private_sources\[1\]: must be an IPv4 address or CIDR/,
    /^manifest\.yaml:7:50 nginx\.private_sources\[2\]: must be an IPv4 address or CIDR/,
    /^manifest\.yaml:10:13 logs\.containers\.driver: must be "json-file" or "local"/,
    /^manifest\.yaml:11:15 logs\.containers\.max_size: must be a size from 1m to 10g/,
    /^manifest\.yaml:12:16 logs\.containers\.max_files: must be an integer between 1 and 100/,
    /^manifest\.yaml:14:15 logs\.nginx\.max_size: must be a size from 256k to 10g/,
    /^manifest\.yaml:15:16 logs\.nginx\.max_files: must be an integer between 2 and 100/,
    /^manifest\.yaml:18:13 resources\.app\.memory: must be a size from 6m to 1024g/,
    /^manifest\.yaml:19:11 resources\.app\.cpus: must be a number of CPUs between 0\.01 and 1024/,
    /^manifest\.yaml:20:11 resources\.app\.pids: must be an integer between 16 and 4194304/,
    /^manifest\.yaml:21:3 resources\.web: /,
  ];
  assert.equal(found.length, expected.length, found.join("\n"));
  for (const [i, re] of expected.entries()) assert.match(found[i]!, re);
});

Deno.test("sizeBytes() reads Docker's binary units and nothing else", () => {
  assert.equal(sizeBytes("10m"), 10 * 2 ** 20);
  assert.equal(sizeBytes("256k"), 256 * 1024);
  assert.equal(sizeBytes("2g"), 2 * 2 ** 30);
  for (const bad of ["10", "10M", "1.5m", "0m", "m", "10mb", " 10m"]) {
    assert.equal(sizeBytes(bad), undefined, bad);
  }
});

Deno.test("privateSourceProblem() accepts addresses and whole CIDRs only", () => {
  for (const ok of ["127.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "203.0.113.7/32"]) {
    assert.equal(privateSourceProblem(ok), undefined, ok);
  }
  for (const bad of ["10.0.0.1/8", "1.2.3", "1.2.3.4/33", "01.2.3.4", "::1", "a/b/c", 7]) {
    assert.ok(privateSourceProblem(bad), String(bad));
  }
});

Deno.test("privateSourcesWarning() says nothing for none and warns louder for wider ranges", () => {
  assert.equal(privateSourcesWarning([]), undefined);
  assert.match(
    privateSourcesWarning(["203.0.113.7"])!,
    /to 1 address besides the host: "203\.0\.113\.7"/,
  );
  assert.match(
    privateSourcesWarning(["10.0.0.0/8"])!,
    /16,777,216 addresses besides the host, more than a \/16/,
  );
  assert.match(privateSourcesWarning(["0.0.0.0/0"])!, /to everyone/);
});
