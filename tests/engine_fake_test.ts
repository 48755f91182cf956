/**
 * The engine client against a fake engine on a unix socket (tests/_fake_engine.ts)
 * that behaves like engines this machine does not have: Docker 29 (API
 * 1.44-1.52, HTTP 400 below 1.44), engines with no API version in common,
 * and build streams that end without an image id. Also the CLI's answer to a
 * malformed DOCKER_HOST and to an engine that cannot be reached during
 * `status`. No real engine is needed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineApiVersionError, EngineClient } from "../cli/engine/mod.ts";
import { ExitCode, SwiftDeployError } from "../cli/errors/mod.ts";
import { buildImage } from "../cli/image/build.ts";
import type { ImageRecipe } from "../cli/image/specs.ts";
import { type BuildMode, type FakeEngineOptions, startFakeEngine } from "./_fake_engine.ts";
import { makeStack, runCli, type RunResult } from "./_harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const DOCKER_29 = { apiVersion: "1.52", minApiVersion: "1.44", release: "29.0.0" };

function describe(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

async function withFake<T>(
  o: FakeEngineOptions,
  fn: (fake: Awaited<ReturnType<typeof startFakeEngine>>) => Promise<T>,
): Promise<T> {
  const fake = await startFakeEngine(o);
  try {
    return await fn(fake);
  } finally {
    await fake.close();
  }
}

Deno.test({
  name: "EngineClient.connect() speaks API 1.52 to Docker 29, which refuses 1.41",
  ...opts,
  fn: () =>
    withFake(DOCKER_29, async (fake) => {
      // The fake is faithful: a client pinned to 1.41 is refused with Docker 29's 400.
      const pinned = await fetch("http://docker/v1.41/images/x/json", {
        client: Deno.createHttpClient({ proxy: { transport: "unix", path: fake.socket } }),
      });
      assert.equal(pinned.status, 400);
      assert.match((await pinned.json()).message, /client version 1\.41 is too old/);
      fake.requests.length = 0;

      const engine = await EngineClient.connect({ dockerHost: fake.dockerHost });
      try {
        assert.equal(engine.apiVersion, "1.52");
        assert.equal(await engine.imageInspect("nginx:latest"), undefined);
        assert.deepEqual(await engine.containerList(["a=b"]), []);
        assert.equal((await engine.info()).DockerRootDir, "/var/lib/docker");
      } finally {
        engine.close();
      }
      const versioned = fake.requests.filter((r) => /^\w+ \/v\d/.test(r));
      assert.ok(versioned.length >= 3);
      assert.ok(versioned.every((r) => r.includes("/v1.52/")), versioned.join(", "));
    }),
});

Deno.test({
  name: "EngineClient.connect() fails with one typed error naming both ranges when none overlap",
  ...opts,
  fn: async () => {
    const cases: [FakeEngineOptions, RegExp, RegExp][] = [
      [
        { apiVersion: "1.60", minApiVersion: "1.53", release: "35.0.0" },
        /no API version in common: the engine serves 1\.53 to 1\.60, SwiftDeploy speaks 1\.40 to 1\.52/,
        /upgrade SwiftDeploy/,
      ],
      [
        { apiVersion: "1.39", minApiVersion: "1.12", release: "18.09.9" },
        /no API version in common: the engine serves 1\.12 to 1\.39, SwiftDeploy speaks 1\.40 to 1\.52/,
        /upgrade the Docker Engine/,
      ],
    ];
    for (const [o, message, hint] of cases) {
      await withFake(o, async (fake) => {
        await assert.rejects(
          EngineClient.connect({ dockerHost: fake.dockerHost }),
          (error: unknown) => {
            assert.ok(error instanceof EngineApiVersionError, String(error));
            assert.equal(error.code, "ENGINE_API_VERSION");
            assert.equal(error.exitCode, ExitCode.engineIncompatible);
            assert.match(error.message, message);
            assert.match(error.message, new RegExp(`Docker ${o.release!.replaceAll(".", "\\.")}`));
            assert.match(error.hint ?? "", hint);
            return true;
          },
        );
        // Nothing beyond /version was asked: no request at a version the engine refuses.
        assert.deepEqual(fake.requests, ["GET /version"]);
      });
    }
  },
});

Deno.test({
  name:
    "a request refused as too old after connecting (engine upgraded underneath) is ENGINE_API_VERSION",
  ...opts,
  fn: async () => {
    const range: FakeEngineOptions = { ...DOCKER_29 };
    await withFake(range, async (fake) => {
      const engine = await EngineClient.connect({ dockerHost: fake.dockerHost });
      try {
        assert.equal(engine.apiVersion, "1.52");
        // The engine is replaced by one that serves 1.53-1.60 while we hold the client.
        range.minApiVersion = "1.53";
        range.apiVersion = "1.60";
        await assert.rejects(engine.imageInspect("nginx:latest"), (error: unknown) => {
          assert.ok(error instanceof EngineApiVersionError, String(error));
          assert.equal(error.exitCode, ExitCode.engineIncompatible);
          assert.match(error.message, /refused API 1\.52 for GET \/images\/.*too old/);
          return true;
        });
      } finally {
        engine.close();
      }
    });
  },
});

Deno.test({
  name: "EngineClient.connect() keeps answering when one process connects and closes 100 times",
  ...opts,
  fn: () =>
    withFake(DOCKER_29, async (fake) => {
      // With a new Deno.HttpClient per connect, the 29th or so never got an answer (5 s timeout).
      const t0 = performance.now();
      for (let i = 0; i < 100; i++) {
        const engine = await EngineClient.connect({ dockerHost: fake.dockerHost });
        try {
          assert.equal(await engine.imageInspect("nginx:latest"), undefined);
        } finally {
          engine.close();
        }
      }
      const ms = performance.now() - t0;
      assert.ok(ms < 5000, `100 connects took ${ms.toFixed(0)} ms`);
    }),
});

Deno.test({
  name: "engine status reports Docker 29 as usable and an engine without a common API as unusable",
  ...opts,
  fn: async () => {
    await withFake(DOCKER_29, async (fake) => {
      const r = await runCli(["engine", "status"], { env: { DOCKER_HOST: fake.dockerHost } });
      assert.equal(r.code, 0, describe(r));
      assert.match(r.stdout, /version: +29\.0\.0 \(API 1\.52\)/);
    });
    await withFake(
      { apiVersion: "1.60", minApiVersion: "1.53", release: "35.0.0" },
      async (fake) => {
        const env = { DOCKER_HOST: fake.dockerHost };
        const r = await runCli(["engine", "status"], { env });
        assert.equal(r.code, ExitCode.engineIncompatible, describe(r));
        assert.match(r.stdout, /reachable: yes/);
        assert.match(r.stdout, /version: +35\.0\.0 \(API 1\.53-1\.60\)/);
        assert.match(
          r.stdout,
          /usable: +no: .*serves 1\.53 to 1\.60, SwiftDeploy speaks 1\.40 to 1\.52/,
        );
        assert.doesNotMatch(r.stderr, /bug in SwiftDeploy/);
        const j = await runCli(["engine", "status", "--json"], { env });
        assert.equal(j.code, ExitCode.engineIncompatible, describe(j));
        const doc = JSON.parse(j.stdout);
        assert.equal(doc.reachable, true);
        assert.equal(doc.usable, false);
        assert.equal(doc.engineApiRange, "1.53-1.60");
      },
    );
  },
});

Deno.test({
  name: "validate checks images through Docker 29 and reports an engine without a common API",
  ...opts,
  fn: async () => {
    const stack = await makeStack();
    try {
      await withFake(DOCKER_29, async (fake) => {
        const r = await stack.run(["validate"], { DOCKER_HOST: fake.dockerHost });
        assert.doesNotMatch(r.stderr, /bug in SwiftDeploy|error:/, describe(r));
        assert.equal(r.code, 1, describe(r)); // the fake has none of the images
        for (const ref of ["swift-deploy-1-node:latest", "nginx:latest"]) {
          assert.match(
            r.stdout,
            new RegExp(`FAIL image ${ref} exists locally: not found`),
            describe(r),
          );
        }
        assert.ok(
          fake.requests.includes("GET /v1.52/images/nginx:latest/json"),
          fake.requests.join(),
        );
      });
      await withFake({ apiVersion: "1.60", minApiVersion: "1.53" }, async (fake) => {
        const r = await stack.run(["validate"], { DOCKER_HOST: fake.dockerHost });
        assert.equal(r.code, 1, describe(r));
        assert.doesNotMatch(r.stderr, /bug in SwiftDeploy/, describe(r));
        assert.match(
          r.stdout,
          /FAIL Docker Engine answers: .*no API version in common: the engine serves 1\.53 to 1\.60, SwiftDeploy speaks 1\.40 to 1\.52/,
          describe(r),
        );
        // The remaining checks still ran.
        assert.match(r.stdout, /generated files are up to date/, describe(r));
      });
    } finally {
      await stack.cleanup();
    }
  },
});

const BROKEN_BUILDS: [BuildMode, RegExp][] = [
  ["progress-only", /build stream ended without an image id/],
  ["truncated-line", /build stream broke off/],
  ["broken", /build stream broke off/],
  ["error", /failed to register layer: no space left on device/],
  ["error-detail-only", /no space left on device/],
];

const OLD_ID = `sha256:${"a".repeat(64)}`;

Deno.test({
  name:
    "imageBuild() fails for every build stream that ends without an image id, never returning the old tag's",
  ...opts,
  fn: async () => {
    for (const [build, message] of BROKEN_BUILDS) {
      await withFake(
        { ...DOCKER_29, build, images: { "app:latest": { Id: OLD_ID, Size: 1 } } },
        async (fake) => {
          const engine = await EngineClient.connect({ dockerHost: fake.dockerHost });
          try {
            const progress: string[] = [];
            await assert.rejects(
              engine.imageBuild(new Uint8Array(512), ["app:latest"], (l) => progress.push(l)),
              (error: unknown) => {
                assert.ok(error instanceof SwiftDeployError, `${build}: ${error}`);
                assert.equal(error.code, "IMAGE_BUILD_FAILED", build);
                assert.match(error.message, /^Image build of "app:latest" failed: /);
                assert.match(error.message, message, build);
                return true;
              },
              build,
            );
            assert.ok(progress.length >= 1, `${build}: progress lines were passed on`);
          } finally {
            engine.close();
          }
        },
      );
    }
    // Control: the same fake with a complete stream gives the new id.
    await withFake(
      { ...DOCKER_29, build: "complete", images: { "app:latest": { Id: OLD_ID, Size: 1 } } },
      async (fake) => {
        const engine = await EngineClient.connect({ dockerHost: fake.dockerHost });
        try {
          assert.equal(
            await engine.imageBuild(new Uint8Array(512), ["app:latest"], () => {}),
            fake.builtId,
          );
        } finally {
          engine.close();
        }
      },
    );
  },
});

Deno.test({
  name: "buildImage() fails on a truncated build and keeps no cache entry for it",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-fake-build-" });
    const recipe: ImageRecipe = {
      role: "app",
      tags: ["app:latest"],
      hostFiles: [],
      textFiles: [{ dest: "etc/hello", text: `hello ${crypto.randomUUID()}\n`, mode: 0o644 }],
      dirs: [],
      dockerfile: "FROM scratch\nADD rootfs.tar /\n",
    };
    const cacheFile = join(dir, "cache.json");
    try {
      for (const build of ["progress-only", "truncated-line"] as const) {
        await withFake(
          { ...DOCKER_29, build, images: { "app:latest": { Id: OLD_ID, Size: 1 } } },
          async (fake) => {
            const engine = await EngineClient.connect({ dockerHost: fake.dockerHost });
            try {
              await assert.rejects(
                buildImage(engine, recipe, cacheFile, () => {}),
                /Image build of "app:latest" failed/,
              );
            } finally {
              engine.close();
            }
            assert.equal(fake.images.get("app:latest")?.Id, OLD_ID);
          },
        );
        await assert.rejects(Deno.stat(cacheFile), Deno.errors.NotFound);
      }
      await withFake(
        { ...DOCKER_29, build: "complete", images: { "app:latest": { Id: OLD_ID, Size: 1 } } },
        async (fake) => {
          const engine = await EngineClient.connect({ dockerHost: fake.dockerHost });
          try {
            const built = await buildImage(engine, recipe, cacheFile, () => {});
            assert.equal(built.id, fake.builtId);
            assert.equal(built.rebuilt, true);
            for (const tag of built.tags) assert.equal(fake.images.get(tag)?.Id, fake.builtId, tag);
          } finally {
            engine.close();
          }
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a malformed DOCKER_HOST is a typed error naming it, exit 6, for every kind",
  ...opts,
  fn: async () => {
    for (
      const value of ["tcp//x", "unix://", "ftp://host/x", "run/docker.sock", "tcp://host:99999"]
    ) {
      const r = await runCli(["engine", "status"], { env: { DOCKER_HOST: value } });
      assert.equal(r.code, ExitCode.dockerHostInvalid, `${value}\n${describe(r)}`);
      assert.ok(r.stderr.includes(`error: Invalid DOCKER_HOST "${value}": `), describe(r));
      assert.match(r.stderr, /hint: set DOCKER_HOST to unix:\/\/\//);
      assert.doesNotMatch(r.stderr, /bug in SwiftDeploy/);
    }
    const r = await runCli(["engine", "start"], { env: { DOCKER_HOST: "tcp//x" } });
    assert.equal(r.code, ExitCode.dockerHostInvalid, describe(r));
    assert.match(r.stderr, /Invalid DOCKER_HOST "tcp\/\/x"/);
  },
});

Deno.test({
  name: "status judges no disk figure, and says why, when the engine cannot be reached",
  ...opts,
  fn: async () => {
    const stack = await makeStack({ minDiskFreeGb: 0.1 });
    try {
      assert.equal((await stack.run(["init"])).code, 0);
      const socket = join(stack.dir, "no-engine.sock");
      const r = await stack.run(["status", "--once", "--json"], {
        DOCKER_HOST: `unix://${socket}`,
      });
      assert.equal(r.code, 0, describe(r));
      assert.match(
        r.stderr,
        /warning: disk free unknown: Cannot reach the Docker Engine/,
        describe(r),
      );
      const doc = JSON.parse(r.stdout.trim().split("\n").pop()!);
      // The old code measured "/" instead, and with min_disk_free_gb 0.1 the policy passed.
      assert.equal(doc.policy.infrastructure.result, "FAIL", JSON.stringify(doc.policy));
      assert.deepEqual(doc.policy.infrastructure.reasons, [
        'input field "disk_free_gb" is missing',
      ]);
    } finally {
      await stack.cleanup();
    }
  },
});
