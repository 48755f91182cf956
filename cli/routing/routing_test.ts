import assert from "node:assert/strict";
import { SwiftDeployError } from "../errors/mod.ts";
import { planStack } from "../plan/mod.ts";
import { loadManifest } from "../manifest/mod.ts";
import {
  applyRoutes,
  describeRoutes,
  encodeRoutes,
  parseRoutes,
  readRoutes,
  type Routes,
  routesFilePath,
  routesProblems,
  routesSocketPath,
} from "./mod.ts";

const SPLIT: Routes = {
  revision: 7,
  stable: { address: "10.42.0.16:3000", version: "1.0.0", container: "shop-app-a" },
  canary: {
    address: "10.42.0.17:3000",
    version: "1.1.0 rc&1=x",
    container: "shop-app-b",
    weight: 10,
  },
};
const STABLE_ONLY: Routes = { revision: 1, stable: SPLIT.stable };

function throwsInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SwiftDeployError);
    assert.equal(e.code, "ROUTES_INVALID");
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("encodeRoutes() and parseRoutes() round-trip a split and a stable-only table", () => {
  for (const r of [SPLIT, STABLE_ONLY]) {
    const text = encodeRoutes(r);
    assert.deepEqual(parseRoutes(text, "test"), r);
    assert.deepEqual(parseRoutes(text + "\n", "test"), r);
  }
  assert.equal(
    encodeRoutes(STABLE_ONLY),
    "revision=1&stable=10.42.0.16%3A3000&stable_version=1.0.0&stable_container=shop-app-a",
  );
  assert.match(encodeRoutes(SPLIT), /&canary_version=1\.1\.0\+rc%261%3Dx&/);
});

Deno.test("parseRoutes() names the source and the field of every malformed input", () => {
  const good = encodeRoutes(SPLIT);
  const cases: [string, RegExp][] = [
    ["", /from f: it is empty/],
    [good + "&extra=1", /unknown key "extra"/],
    [good + "&weight=20", /weight: given twice/],
    [good.replace("revision=7", "revision=-7"), /revision: must be a whole number, got "-7"/],
    [good.replace("revision=7", "revision=1e3"), /revision: must be a whole number/],
    [good.replace("revision=7", "revision=0"), /revision: must be an integer from 1/],
    [good.replace(/revision=7&/, ""), /revision: missing/],
    [good.replace("weight=10", "weight=101"), /weight: must be an integer from 0 to 100, got 101/],
    [good.replace("weight=10", "weight=ten"), /weight: must be a whole number, got "ten"/],
    [good.replace(/&weight=10/, ""), /weight: missing/],
    [good.replace(/&canary_container=[^&]*/, ""), /canary_container: missing/],
    [
      good.replace("10.42.0.16%3A3000", "10.42.0.300%3A3000"),
      /stable: "10.42.0.300:3000" .*0 to 255/,
    ],
    [good.replace("10.42.0.16%3A3000", "app%3A3000"), /stable: "app:3000" must be IPv4:port/],
    [good.replace("10.42.0.17%3A3000", "10.42.0.17%3A0"), /canary: .*port from 1 to 65535/],
    [good.replace("10.42.0.17%3A3000", "10.42.0.17%3A65536"), /canary: .*port from 1 to 65535/],
    [good.replace("stable_version=1.0.0", "stable_version="), /stable_version: must be 1 to 128/],
    [good.replace("stable_version=1.0.0", "stable_version=1%0A0"), /stable_version: .*control/],
    [
      good.replace("shop-app-a", "-bad"),
      /stable_container: "-bad" must be a Docker container name/,
    ],
  ];
  for (const [text, pattern] of cases) throwsInvalid(() => parseRoutes(text, "f"), pattern);
});

Deno.test("routesProblems() lists each broken rule and encodeRoutes() refuses such a table", () => {
  const bad: Routes = {
    revision: 1.5,
    stable: { address: "10.0.0.1:80", version: "v", container: "x" },
    canary: { address: "10.0.0.2:80", version: "w", container: "ok-name", weight: 10.5 },
  };
  assert.deepEqual(routesProblems(bad).map((p) => p.split(":")[0]), [
    "revision",
    "stable_container",
    "weight",
  ]);
  assert.throws(() => encodeRoutes(bad), /Cannot encode the routing table: revision/);
});

Deno.test("describeRoutes() gives each variant's version and share", () => {
  assert.equal(describeRoutes(SPLIT), "stable 1.0.0 (90 %), canary 1.1.0 rc&1=x (10 %)");
  assert.equal(describeRoutes(STABLE_ONLY), "stable 1.0.0 (100 %)");
});

async function tempPlan() {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_routes_" });
  const manifest = await loadManifest(new URL("../../manifest.yaml", import.meta.url).pathname);
  const plan = planStack(manifest.manifest, { manifestDir: dir, installDir: dir });
  return { dir, plan };
}

Deno.test("routesFilePath() and routesSocketPath() lie in the folders the plan binds for nginx", async () => {
  const { dir, plan } = await tempPlan();
  try {
    assert.equal(routesFilePath(plan), `${dir}/.swiftdeploy/nginx/routes`);
    assert.equal(routesSocketPath(plan), `${dir}/.swiftdeploy/nginx-admin/edge.sock`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("applyRoutes() without a running nginx writes the file alone, each revision above the last", async () => {
  const { dir, plan } = await tempPlan();
  try {
    assert.deepEqual(await readRoutes(plan), {});
    const first = await applyRoutes(plan, { stable: SPLIT.stable });
    assert.equal(first.routes.revision, 1);
    const second = await applyRoutes(plan, { stable: SPLIT.stable, canary: SPLIT.canary! });
    assert.equal(second.routes.revision, 2);
    assert.ok(second.ms >= 0);
    assert.equal(await Deno.readTextFile(routesFilePath(plan)), encodeRoutes(second.routes) + "\n");
    assert.deepEqual(await readRoutes(plan), { file: second.routes });
    // A socket file nobody listens on (a killed nginx's) is no running nginx.
    await Deno.mkdir(`${dir}/.swiftdeploy/nginx-admin`, { recursive: true });
    const listener = Deno.listen({ transport: "unix", path: routesSocketPath(plan) });
    listener.close();
    const third = await applyRoutes(plan, { stable: SPLIT.stable });
    assert.equal(third.routes.revision, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("applyRoutes() replaces a damaged file instead of failing on it", async () => {
  const { dir, plan } = await tempPlan();
  try {
    await Deno.mkdir(`${dir}/.swiftdeploy/nginx`, { recursive: true });
    await Deno.writeTextFile(routesFilePath(plan), "revision=x");
    await assert.rejects(
      () => readRoutes(plan),
      /Cannot read the routing table from ".*routes": revision/,
    );
    const { routes } = await applyRoutes(plan, { stable: SPLIT.stable });
    assert.equal(routes.revision, 1);
    assert.deepEqual((await readRoutes(plan)).file, routes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
