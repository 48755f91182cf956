/**
 * The registry module's pure parts: references, the push stream, the auth
 * headers (and that a secret never prints), challenges, the target choice,
 * the password sources and images.json.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import { defaultRegistry } from "../manifest/mod.ts";
import {
  basicAuthorization,
  chooseRegistry,
  digestReference,
  engineAuthHeader,
  imagesFileText,
  parseChallenge,
  parseImageReference,
  parseImagesFile,
  pushedDigest,
  pushEvent,
  readPushedImages,
  readRegistryPassword,
  REDACTED,
  registryTarget,
  scrubSecrets,
  Secret,
} from "./mod.ts";

const D1 = `sha256:${"a".repeat(64)}`;
const D2 = `sha256:${"0123456789abcdef".repeat(4)}`;

/** URL-safe base64 (Docker's registry.DecodeAuthConfig reads this) to text. */
function fromBase64Url(text: string): string {
  const std = text.replace(/-/g, "+").replace(/_/g, "/");
  return new TextDecoder().decode(Uint8Array.from(atob(std), (c) => c.charCodeAt(0)));
}

Deno.test("parseImageReference() splits domain, path, tag and digest as Docker's reference grammar does", () => {
  assert.deepEqual(parseImageReference("nginx:latest"), {
    domain: null,
    path: "nginx",
    tag: "latest",
    digest: null,
  });
  assert.deepEqual(parseImageReference("openpolicyagent/opa:latest-static"), {
    domain: null,
    path: "openpolicyagent/opa",
    tag: "latest-static",
    digest: null,
  });
  assert.deepEqual(parseImageReference(`registry.example.com:5000/team/app:1.0@${D1}`), {
    domain: "registry.example.com:5000",
    path: "team/app",
    tag: "1.0",
    digest: D1,
  });
  assert.deepEqual(parseImageReference("localhost/app"), {
    domain: "localhost",
    path: "app",
    tag: null,
    digest: null,
  });
  // A first component without "." or ":" is a Docker Hub user, not a registry.
  assert.equal(parseImageReference("team/app").domain, null);
  assert.throws(() => parseImageReference("App:1"), RangeError);
  assert.throws(() => parseImageReference("app@sha256:abc"), RangeError);
  assert.throws(() => parseImageReference("app:-bad"), RangeError);
});

Deno.test("registryTarget() moves a local tag under the registry, replacing a written domain, tag latest when none", () => {
  assert.deepEqual(registryTarget("openpolicyagent/opa:latest-static", "127.0.0.1:5000"), {
    repository: "openpolicyagent/opa",
    tag: "latest-static",
    ref: "127.0.0.1:5000/openpolicyagent/opa:latest-static",
  });
  assert.deepEqual(registryTarget("old.example.com/app", "198.18.47.1:5000"), {
    repository: "app",
    tag: "latest",
    ref: "198.18.47.1:5000/app:latest",
  });
  assert.equal(digestReference("198.18.47.1:5000", "app", D1), `198.18.47.1:5000/app@${D1}`);
  assert.throws(() => digestReference("r:1", "app", "sha256:short"), RangeError);
});

Deno.test("pushEvent() reads the aux digest, the status-line digest, errors, layer states, and skips progress bars", () => {
  assert.deepEqual(pushEvent({ progressDetail: {}, aux: { Tag: "1.0", Digest: D1, Size: 527 } }), {
    kind: "digest",
    digest: D1,
    tag: "1.0",
    size: 527,
  });
  assert.deepEqual(pushEvent({ status: `1.0: digest: ${D2} size: 739` }), {
    kind: "digest",
    digest: D2,
    tag: "1.0",
    size: 739,
  });
  assert.deepEqual(
    pushEvent({ errorDetail: { message: "unauthorized: authentication required" }, error: "x" }),
    { kind: "error", message: "unauthorized: authentication required" },
  );
  assert.deepEqual(pushEvent({ error: "denied " }), { kind: "error", message: "denied" });
  assert.deepEqual(pushEvent({ status: "Pushed", progressDetail: {}, id: "5f70bf18a086" }), {
    kind: "layer",
    id: "5f70bf18a086",
    status: "Pushed",
  });
  assert.deepEqual(
    pushEvent({ status: "Pushing", progressDetail: { current: 512, total: 1024 }, id: "5f70" }),
    { kind: "none" },
  );
  assert.deepEqual(pushEvent({ status: "The push refers to repository [r/app]" }), {
    kind: "status",
    status: "The push refers to repository [r/app]",
  });
  assert.deepEqual(pushEvent({ aux: { Digest: "md5:x" } }), { kind: "none" });
  assert.deepEqual(pushEvent(null), { kind: "none" });
  assert.deepEqual(pushEvent("text"), { kind: "none" });
});

Deno.test("pushedDigest() gives the stream's digest and throws on an error or a stream without one", () => {
  const ok = [
    { status: "The push refers to repository [127.0.0.1:5000/app]" },
    { status: "Pushed", progressDetail: {}, id: "abc" },
    { status: `latest: digest: ${D1} size: 527` },
    { progressDetail: {}, aux: { Tag: "latest", Digest: D1, Size: 527 } },
  ];
  assert.equal(pushedDigest(ok), D1);
  assert.throws(
    () => pushedDigest([...ok.slice(0, 2), { error: "blob upload unknown" }]),
    /blob upload unknown/,
  );
  assert.throws(() => pushedDigest(ok.slice(0, 2)), /without a digest/);
});

Deno.test("engineAuthHeader() is URL-safe base64 JSON of user, password and server, {} when anonymous", () => {
  // "??>" encodes to "Pz8+" in standard base64: the header must carry "-" and "_" instead.
  const password = new Secret("p?>w??>d");
  const header = engineAuthHeader("127.0.0.1:5000", { username: "ci", password });
  const value = header.reveal();
  assert.doesNotMatch(value, /[+/]/);
  assert.deepEqual(JSON.parse(fromBase64Url(value)), {
    username: "ci",
    password: "p?>w??>d",
    serveraddress: "127.0.0.1:5000",
  });
  assert.equal(engineAuthHeader("r:1", undefined).reveal(), "e30=");
  assert.equal(fromBase64Url("e30="), "{}");
});

Deno.test("a Secret and every header built from one print [REDACTED] in strings, JSON and inspection", () => {
  const password = new Secret("hunter2-s3cret");
  const creds = { username: "ci", password };
  const headers = [engineAuthHeader("r.example.com", creds), basicAuthorization(creds), password];
  for (const h of headers) {
    assert.equal(String(h), REDACTED);
    assert.equal(`${h}`, REDACTED);
    assert.equal(JSON.stringify({ h }), `{"h":"${REDACTED}"}`);
    assert.equal(Deno.inspect(h), REDACTED);
    assert.equal(Deno.inspect({ creds, h }).includes("hunter2"), false);
  }
  assert.equal(basicAuthorization(creds).reveal(), `Basic ${btoa("ci:hunter2-s3cret")}`);
});

Deno.test("scrubSecrets() removes a secret's value and its base64 forms from a message", () => {
  const s = new Secret("p?>w??>d");
  const std = btoa("p?>w??>d");
  const url = std.replace(/\+/g, "-").replace(/\//g, "_");
  const text = `a p?>w??>d b ${std} c ${url} d ${std.replace(/=+$/, "")}`;
  const out = scrubSecrets(text, [s]);
  assert.equal(out.includes("p?>w"), false);
  assert.equal(out.includes(std.slice(0, 8)), false);
  assert.equal(out.includes(url.slice(0, 8)), false);
  assert.equal(out.split(REDACTED).length - 1, 4);
  assert.equal(scrubSecrets("nothing here", [new Secret("")]), "nothing here");
});

Deno.test("parseChallenge() reads basic and bearer challenges with quoted parameters", () => {
  assert.deepEqual(
    parseChallenge(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:app:pull,push"',
    ),
    {
      scheme: "bearer",
      params: {
        realm: "https://auth.example.com/token",
        service: "registry.example.com",
        scope: "repository:app:pull,push",
      },
    },
  );
  assert.deepEqual(parseChallenge('Basic realm="Registry \\"Realm\\""'), {
    scheme: "basic",
    params: { realm: 'Registry "Realm"' },
  });
  assert.deepEqual(parseChallenge("Basic"), { scheme: "basic", params: {} });
  assert.equal(parseChallenge(null), undefined);
  assert.equal(parseChallenge("  "), undefined);
});

Deno.test("chooseRegistry() takes the manifest's address for both sides, else the lab's two, else fails", () => {
  const password = new Secret("pw");
  const spec = { ...defaultRegistry(), address: "registry.example.com:5000", username: "ci" };
  const fromManifest = chooseRegistry(spec, undefined, password);
  assert.equal(fromManifest.push, "registry.example.com:5000");
  assert.equal(fromManifest.pull, "registry.example.com:5000");
  assert.equal(fromManifest.insecure, false);
  assert.equal(fromManifest.credentials?.username, "ci");
  assert.equal(fromManifest.credentials?.password, password);

  const lab = { registry: { node: "198.18.47.1:5000", host: "127.0.0.1:40123" } };
  const fromLab = chooseRegistry(defaultRegistry(), lab, undefined);
  assert.deepEqual(
    { push: fromLab.push, pull: fromLab.pull, insecure: fromLab.insecure },
    { push: "127.0.0.1:40123", pull: "198.18.47.1:5000", insecure: true },
  );
  assert.equal(fromLab.credentials, undefined);
  // The manifest's address wins over a running lab.
  assert.equal(chooseRegistry(spec, lab, password).pull, "registry.example.com:5000");

  assert.throws(
    () => chooseRegistry(defaultRegistry(), undefined, undefined),
    (e: unknown) =>
      e instanceof SwiftDeployError && e.code === "REGISTRY_UNAVAILABLE" && e.exitCode === 1 &&
      /no lab is up/.test(e.message) && /lab up/.test(e.hint ?? ""),
  );
});

Deno.test("readRegistryPassword() reads the named variable or file, and names them (never a value) when missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const spec = { ...defaultRegistry(), username: "ci" };
    assert.equal(await readRegistryPassword(spec, dir, () => "x"), undefined);
    const env = { REG_PW: "from-env" };
    const got = await readRegistryPassword(
      { ...spec, password_env: "REG_PW" },
      dir,
      (n) => env[n as keyof typeof env],
    );
    assert.equal(got?.reveal(), "from-env");
    await assert.rejects(
      () => readRegistryPassword({ ...spec, password_env: "UNSET_PW" }, dir, () => undefined),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.code === "REGISTRY_AUTH_FAILED" &&
        e.message.includes('"UNSET_PW" is not set'),
    );
    await Deno.mkdir(join(dir, "secrets"));
    await Deno.writeTextFile(join(dir, "secrets", "registry"), "from-file\n");
    const file = await readRegistryPassword({ ...spec, password_file: "secrets/registry" }, dir);
    assert.equal(file?.reveal(), "from-file");
    await Deno.writeTextFile(join(dir, "empty"), "\n");
    await assert.rejects(
      () => readRegistryPassword({ ...spec, password_file: "empty" }, dir),
      /is empty/,
    );
    await assert.rejects(
      () => readRegistryPassword({ ...spec, password_file: "missing" }, dir),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.message.includes(join(dir, "missing")) &&
        e.message.includes("NotFound"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("images.json: sorted roles, by-digest references only, a damaged file is an error with a hint", async () => {
  const refs = { opa: `r:1/opa@${D1}`, app: `r:1/app@${D2}` };
  const text = imagesFileText(refs);
  assert.equal(text, `{\n  "app": "r:1/app@${D2}",\n  "opa": "r:1/opa@${D1}"\n}\n`);
  assert.deepEqual(parseImagesFile(text), refs);
  assert.throws(
    () => parseImagesFile(`{"app":"r:1/app:latest"}`),
    /"app" is not a reference by digest/,
  );
  assert.throws(() => parseImagesFile(`["x"]`), /not a mapping/);
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await readPushedImages(dir), undefined);
    await Deno.writeTextFile(join(dir, "images.json"), text);
    assert.deepEqual(await readPushedImages(dir), refs);
    await Deno.writeTextFile(join(dir, "images.json"), "{broken");
    await assert.rejects(
      () => readPushedImages(dir),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.code === "REGISTRY_PUSH_FAILED" &&
        /swiftdeploy build/.test(e.hint ?? ""),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
