/**
 * Images for many nodes against a real registry (Debian's docker-registry,
 * Distribution 2.8.2) on 127.0.0.1 and the real host engine: push through
 * the engine, the registry's manifest digest equals the pushed one, a pull
 * by digest gives the same image, an unchanged image is not pushed again,
 * credentials from the environment never reach a log line, a file or an
 * error, and `swiftdeploy build --push` records images.json.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { sha256Hex } from "../cli/digest/mod.ts";
import { EngineClient, readJsonLines } from "../cli/engine/mod.ts";
import { SwiftDeployError } from "../cli/errors/mod.ts";
import { defaultRegistry, editManifestText } from "../cli/manifest/mod.ts";
import {
  engineAuthHeader,
  IMAGES_FILE,
  MANIFEST_ACCEPT,
  pushImage,
  pushImages,
  RegistryClient,
  type RegistryTarget,
  resolveRegistry,
  scrubSecrets,
  Secret,
} from "../cli/registry/mod.ts";
import { labDown, labNodeClient, labUp, readLab } from "../cli/lab/mod.ts";
import { createTar } from "../cli/tar/mod.ts";
import { freePort, HOME, runCli } from "./_harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const REGISTRY_BIN = "/usr/bin/docker-registry";

interface TestRegistry {
  address: string;
  stop: () => Promise<void>;
}

/** A throwaway `docker-registry serve` on 127.0.0.1:<free port>, with htpasswd auth when given. */
async function startRegistry(auth?: { user: string; password: string }): Promise<TestRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "sd-registry-" });
  const address = `127.0.0.1:${freePort()}`;
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: "error", accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, "data") }, delete: { enabled: true } },
    http: { addr: address },
  };
  if (auth) {
    await Deno.writeTextFile(
      join(dir, "htpasswd"),
      `${auth.user}:${bcrypt.hashSync(auth.password, 5)}\n`,
    );
    config.auth = { htpasswd: { realm: "sd-test", path: join(dir, "htpasswd") } };
  }
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(config));
  const child = new Deno.Command(REGISTRY_BIN, {
    args: ["serve", join(dir, "config.json")],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://${address}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) return { address, stop };
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`docker-registry on ${address} did not answer /v2/ within 5 s`);
}

/** A tiny FROM scratch image holding one file of random text: content no registry has seen. */
async function buildUniqueImage(engine: EngineClient, ref: string): Promise<string> {
  const text = new TextEncoder().encode(`${crypto.randomUUID()}\n`);
  const context = createTar([
    {
      type: "file",
      name: "Dockerfile",
      data: new TextEncoder().encode("FROM scratch\nCOPY hello.txt /hello.txt\n"),
    },
    { type: "file", name: "hello.txt", data: text },
  ]);
  return await engine.imageBuild(context, [ref], () => {});
}

async function removeImages(engine: EngineClient, refs: string[]): Promise<void> {
  for (const ref of refs) await engine.imageRemove(ref).catch(() => {});
}

function labTarget(address: string, extra: Partial<RegistryTarget> = {}): RegistryTarget {
  return { push: address, pull: address, insecure: true, label: `"${address}"`, ...extra };
}

Deno.test({
  name:
    "pushImages() pushes through the engine, the registry's manifest has the pushed digest, the engine pulls it by digest, and an unchanged image is not pushed again",
  ...opts,
  fn: async () => {
    const registry = await startRegistry();
    const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
    const repo = `sd-regtest-${crypto.randomUUID().slice(0, 8)}`;
    const local = `${repo}:v1`;
    const stateDir = await Deno.makeTempDir();
    const ids: string[] = [];
    try {
      const id = await buildUniqueImage(engine, local);
      ids.push(id);
      const lines: string[] = [];
      const target = labTarget(registry.address);
      const [first] = await pushImages(engine, target, [{ role: "app", localRef: local }], {
        stateDir,
        log: (l) => lines.push(l),
      });
      assert.ok(first);
      assert.equal(first.pushed, true);
      assert.equal(first.ref, `${registry.address}/${repo}@${first.digest}`);
      assert.equal(first.pushedTag, `${registry.address}/${repo}:v1`);
      assert.ok(lines.some((l) => /layer \w+ pushed/.test(l)), lines.join("\n"));

      // The registry, asked directly, names the same manifest, and its bytes hash to the digest.
      const res = await fetch(`http://${registry.address}/v2/${repo}/manifests/v1`, {
        headers: { Accept: MANIFEST_ACCEPT },
      });
      assert.equal(res.status, 200);
      const body = new Uint8Array(await res.arrayBuffer());
      assert.equal(res.headers.get("Docker-Content-Digest"), first.digest);
      assert.equal(`sha256:${sha256Hex(body)}`, first.digest);
      const client = new RegistryClient(registry.address, { insecure: true });
      assert.equal(await client.manifestDigest(repo, "v1"), first.digest);
      assert.equal(await client.manifestDigest(repo, "v2"), undefined);

      assert.deepEqual(
        JSON.parse(await Deno.readTextFile(join(stateDir, IMAGES_FILE))),
        { app: first.ref },
      );

      // Unchanged: checked against the registry's manifest digest, not pushed again.
      const [again] = await pushImages(engine, target, [{ role: "app", localRef: local }], {
        stateDir,
        log: () => {},
      });
      assert.equal(again?.pushed, false);
      assert.equal(again?.digest, first.digest);
      // Still unchanged once the engine forgot the push (its registry tag and
      // digest record gone): the registry's manifest points at this image's ID.
      await engine.imageRemove(first.pushedTag);
      const [forgotten] = await pushImages(engine, target, [{ role: "app", localRef: local }], {
        stateDir,
        log: () => {},
      });
      assert.equal(forgotten?.pushed, false);
      assert.equal(forgotten?.digest, first.digest);

      // Gone from the host engine, then pulled back by digest: the same image.
      await removeImages(engine, [
        local,
        first.pushedTag,
        `${registry.address}/${repo}@${first.digest}`,
      ]);
      assert.equal(await engine.imageInspect(local), undefined);
      const pull = await engine.request("POST", "/images/create", {
        query: { fromImage: `${registry.address}/${repo}`, tag: first.digest },
        headers: { "X-Registry-Auth": engineAuthHeader(registry.address, undefined).reveal() },
        timeoutMs: 60_000,
      });
      for await (const m of readJsonLines(pull.body)) {
        assert.equal((m as { error?: string }).error, undefined, JSON.stringify(m));
      }
      const pulled = await engine.imageInspect(`${registry.address}/${repo}@${first.digest}`);
      assert.equal(pulled?.Id, id);

      // A changed image under the same tag is pushed again, with a new digest.
      ids.push(await buildUniqueImage(engine, local));
      const [changed] = await pushImages(engine, target, [{ role: "app", localRef: local }], {
        stateDir,
        log: () => {},
      });
      assert.equal(changed?.pushed, true);
      assert.notEqual(changed?.digest, first.digest);
      assert.equal(await client.manifestDigest(repo, "v1"), changed?.digest);
    } finally {
      // By id with force: every tag and digest reference of each goes too.
      await removeImages(engine, ids);
      engine.close();
      await registry.stop();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a registry with htpasswd auth: the password from the environment pushes, and no log line, images.json or error carries it",
  ...opts,
  fn: async () => {
    const password = `s3cret-${crypto.randomUUID()}`;
    const wrong = `wr0ng-${crypto.randomUUID()}`;
    const registry = await startRegistry({ user: "ci", password });
    const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
    const repo = `sd-regtest-${crypto.randomUUID().slice(0, 8)}`;
    const local = `${repo}:v1`;
    const stateDir = await Deno.makeTempDir();
    const secrets = [new Secret(password), new Secret(wrong)];
    const ids: string[] = [];
    const clean = (text: string) => scrubSecrets(text, secrets) === text;
    try {
      ids.push(await buildUniqueImage(engine, local));
      const spec = {
        ...defaultRegistry(),
        address: registry.address,
        insecure: true,
        username: "ci",
        password_env: "SD_TEST_REGISTRY_PASSWORD",
      };
      const env = (name: string) => name === "SD_TEST_REGISTRY_PASSWORD" ? password : undefined;
      const target = await resolveRegistry(spec, stateDir, { env });
      assert.ok(clean(JSON.stringify(target)) && clean(Deno.inspect(target, { depth: 9 })));

      // Anonymous: the registry asks for credentials, the error says which keys to set.
      await assert.rejects(
        () => new RegistryClient(registry.address, { insecure: true }).manifestDigest(repo, "v1"),
        (e: unknown) =>
          e instanceof SwiftDeployError && e.code === "REGISTRY_AUTH_FAILED" &&
          e.message.includes(registry.address) && /registry\.username/.test(e.hint ?? ""),
      );

      const lines: string[] = [];
      const [pushed] = await pushImages(engine, target, [{ role: "app", localRef: local }], {
        stateDir,
        log: (l) => lines.push(l),
      });
      assert.equal(pushed?.pushed, true);
      assert.ok(lines.length > 0 && lines.every(clean), lines.join("\n"));
      assert.ok(clean(await Deno.readTextFile(join(stateDir, IMAGES_FILE))));
      assert.ok(clean(JSON.stringify(pushed)));

      // A wrong password: refused by the registry's client, the message names the registry only.
      const bad = { ...target, credentials: { username: "ci", password: new Secret(wrong) } };
      await assert.rejects(
        () =>
          pushImages(engine, bad, [{ role: "app", localRef: local }], { stateDir, log: () => {} }),
        (e: unknown) =>
          e instanceof SwiftDeployError && e.code === "REGISTRY_AUTH_FAILED" && e.exitCode === 1 &&
          e.message.includes(registry.address) && clean(e.message) && clean(e.hint ?? ""),
      );
      // ... and by the engine's push (the registry check passes with good credentials).
      ids.push(await buildUniqueImage(engine, local));
      const good = new RegistryClient(registry.address, {
        insecure: true,
        credentials: target.credentials,
      });
      const engineLines: string[] = [];
      let caught: unknown;
      try {
        await pushImage(
          engine,
          good,
          bad,
          { role: "app", localRef: local },
          (l) => engineLines.push(l),
        );
      } catch (error) {
        caught = error;
      }
      assert.ok(caught instanceof SwiftDeployError, String(caught));
      assert.equal(caught.code, "REGISTRY_AUTH_FAILED", caught.message);
      assert.ok(caught.message.includes(registry.address), caught.message);
      assert.ok(clean(caught.message) && engineLines.every(clean));
    } finally {
      await removeImages(engine, ids);
      engine.close();
      await registry.stop();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "swiftdeploy build --push pushes app, nginx and OPA, records images.json, and a second run pushes nothing",
  ...opts,
  fn: async () => {
    const registry = await startRegistry();
    const dir = await Deno.makeTempDir({ prefix: "sd-build-push-" });
    const engine = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
    try {
      const shipped = await Deno.readTextFile(join(HOME, "manifest.yaml"));
      const text = editManifestText(
        editManifestText(shipped, ["registry", "address"], registry.address),
        ["registry", "insecure"],
        true,
      );
      await Deno.writeTextFile(join(dir, "manifest.yaml"), text);
      const manifest = join(dir, "manifest.yaml");
      const first = await runCli(["build", "--push", "-f", manifest]);
      assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
      const refs = JSON.parse(await Deno.readTextFile(join(dir, ".swiftdeploy", IMAGES_FILE)));
      assert.deepEqual(Object.keys(refs).sort(), ["app", "nginx", "opa"]);
      const client = new RegistryClient(registry.address, { insecure: true });
      const times: string[] = [];
      for (const [role, ref] of Object.entries(refs as Record<string, string>)) {
        const m = /^(.+?)\/(.+)@(sha256:[0-9a-f]{64})$/.exec(ref);
        assert.ok(m && m[1] === registry.address, ref);
        const line = first.stdout.split("\n").find((l) => l.includes(ref));
        assert.match(line ?? "", / pushed \(\d+\.\d\d s\)$/, first.stdout);
        times.push(`${role} ${/\((\d+\.\d\d) s\)/.exec(line!)![1]} s`);
        const tag = role === "opa" ? "latest-static" : "latest";
        assert.equal(await client.manifestDigest(m[2]!, tag), m[3], role);
      }
      console.log(`first push: ${times.join(", ")}`);
      const second = await runCli(["build", "--push", "-f", manifest]);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(
        (second.stdout.match(/already in the registry/g) ?? []).length,
        3,
        second.stdout,
      );
      assert.deepEqual(
        JSON.parse(await Deno.readTextFile(join(dir, ".swiftdeploy", IMAGES_FILE))),
        refs,
      );
    } finally {
      // The registry-named tags the push left on the host engine.
      for (
        const image of [
          "swift-deploy-1-node:latest",
          "nginx:latest",
          "openpolicyagent/opa:latest-static",
        ]
      ) {
        const [name, tag] = image.split(/:(?=[^:]*$)/);
        await engine.imageRemove(`${registry.address}/${name}:${tag}`).catch(() => {});
      }
      engine.close();
      await registry.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "build on target swarm pushes to the lab's registry, and a worker node pulls each image by its digest as the same image",
  ...opts,
  fn: async () => {
    // The running lab, or one of our own (taken down again at the end).
    const running = await readLab();
    const lab = running ?? (await labUp(() => {})).lab;
    const dir = await Deno.makeTempDir({ prefix: "sd-build-lab-" });
    const host = await EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
    const worker = await labNodeClient(lab, 3);
    try {
      const shipped = await Deno.readTextFile(join(HOME, "manifest.yaml"));
      const manifest = join(dir, "manifest.yaml");
      await Deno.writeTextFile(manifest, editManifestText(shipped, ["target"], "swarm"));
      const r = await runCli(["build", "-f", manifest]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /to the lab's registry/);
      const refs = JSON.parse(
        await Deno.readTextFile(join(dir, ".swiftdeploy", IMAGES_FILE)),
      ) as Record<string, string>;
      const local: Record<string, string> = {
        app: "swift-deploy-1-node:latest",
        nginx: "nginx:latest",
        opa: "openpolicyagent/opa:latest-static",
      };
      assert.deepEqual(Object.keys(refs).sort(), Object.keys(local));
      for (const [role, ref] of Object.entries(refs)) {
        assert.ok(ref.startsWith(`${lab.registry.node}/`), ref);
        const at = ref.lastIndexOf("@");
        const pull = await worker.request("POST", "/images/create", {
          query: { fromImage: ref.slice(0, at), tag: ref.slice(at + 1) },
          headers: { "X-Registry-Auth": engineAuthHeader(lab.registry.node, undefined).reveal() },
          timeoutMs: 120_000,
        });
        for await (const m of readJsonLines(pull.body)) {
          assert.equal((m as { error?: string }).error, undefined, `${role}: ${JSON.stringify(m)}`);
        }
        const onNode = await worker.imageInspect(ref);
        const onHost = await host.imageInspect(local[role]!);
        assert.ok(onNode && onHost, role);
        assert.equal(onNode.Id, onHost.Id, role);
      }
    } finally {
      worker.close();
      for (const image of Object.values({ a: "swift-deploy-1-node:latest", n: "nginx:latest" })) {
        await host.imageRemove(`${lab.registry.host}/${image}`).catch(() => {});
      }
      await host.imageRemove(`${lab.registry.host}/openpolicyagent/opa:latest-static`).catch(
        () => {},
      );
      host.close();
      await Deno.remove(dir, { recursive: true });
      if (!running) await labDown(() => {});
    }
  },
});

Deno.test({
  name:
    "RegistryClient follows a bearer challenge: a token from the realm for the repository's pull scope, with basic credentials, and a refusal names no secret",
  ...opts,
  fn: async () => {
    const password = `tok-pw-${crypto.randomUUID()}`;
    const digest = `sha256:${"b".repeat(64)}`;
    const seen: { scope: string | null; service: string | null }[] = [];
    const token = crypto.randomUUID();
    const ac = new AbortController();
    const port = freePort();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => {} },
      (req) => {
        const url = new URL(req.url);
        if (url.pathname === "/token") {
          seen.push({
            scope: url.searchParams.get("scope"),
            service: url.searchParams.get("service"),
          });
          return req.headers.get("Authorization") === `Basic ${btoa(`ci:${password}`)}`
            ? Response.json({ token })
            : new Response("no", { status: 401 });
        }
        if (req.headers.get("Authorization") !== `Bearer ${token}`) {
          return new Response(null, {
            status: 401,
            headers: {
              "WWW-Authenticate":
                `Bearer realm="http://127.0.0.1:${port}/token",service="sd-test",scope="repository:team/app:pull"`,
            },
          });
        }
        return url.pathname === "/v2/team/app/manifests/1.0"
          ? new Response(null, { status: 200, headers: { "Docker-Content-Digest": digest } })
          : new Response(null, { status: 404 });
      },
    );
    try {
      const address = `127.0.0.1:${port}`;
      const ok = new RegistryClient(address, {
        insecure: true,
        credentials: { username: "ci", password: new Secret(password) },
      });
      assert.equal(await ok.manifestDigest("team/app", "1.0"), digest);
      assert.equal(await ok.manifestDigest("team/app", "2.0"), undefined);
      // One token per scope, kept for the client's life.
      assert.deepEqual(seen, [{ scope: "repository:team/app:pull", service: "sd-test" }]);

      const wrong = `wrong-${crypto.randomUUID()}`;
      const bad = new RegistryClient(address, {
        insecure: true,
        credentials: { username: "ci", password: new Secret(wrong) },
      });
      await assert.rejects(
        () => bad.manifestDigest("team/app", "1.0"),
        (e: unknown) =>
          e instanceof SwiftDeployError && e.code === "REGISTRY_AUTH_FAILED" &&
          e.message.includes(address) && e.message.includes("repository:team/app:pull") &&
          !e.message.includes(wrong) && !e.message.includes(btoa(`ci:${wrong}`)),
      );
    } finally {
      ac.abort();
      await server.finished;
    }
  },
});

Deno.test({
  name: "RegistryClient names the registry and the fix when nothing listens there",
  ...opts,
  fn: async () => {
    const address = `127.0.0.1:${freePort()}`;
    await assert.rejects(
      () => new RegistryClient(address, { insecure: true }).ping(),
      (e: unknown) =>
        e instanceof SwiftDeployError && e.code === "REGISTRY_UNAVAILABLE" && e.exitCode === 1 &&
        e.message.startsWith(`Registry "${address}" cannot be reached`) &&
        /lab status/.test(e.hint ?? ""),
    );
  },
});
