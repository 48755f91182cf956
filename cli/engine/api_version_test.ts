import assert from "node:assert/strict";
import {
  CLIENT_API_RANGE,
  compareApiVersions,
  negotiateApiVersion,
  parseApiVersion,
} from "./_api_version.ts";

const CLIENT = { min: "1.40", max: "1.52" };

Deno.test("negotiateApiVersion() speaks the engine's newest version when it is within ours", () => {
  // Docker 20.10 (Debian's docker.io): 1.12-1.41.
  assert.deepEqual(negotiateApiVersion({ ApiVersion: "1.41", MinAPIVersion: "1.12" }, CLIENT), {
    ok: true,
    version: "1.41",
    engine: { min: "1.12", max: "1.41" },
  });
  // Docker 29: 1.44-1.52, which refuses every path below /v1.44.
  assert.deepEqual(negotiateApiVersion({ ApiVersion: "1.52", MinAPIVersion: "1.44" }, CLIENT), {
    ok: true,
    version: "1.52",
    engine: { min: "1.44", max: "1.52" },
  });
});

Deno.test("negotiateApiVersion() caps at the client's newest version for a newer engine", () => {
  const n = negotiateApiVersion({ ApiVersion: "1.55", MinAPIVersion: "1.44" }, CLIENT);
  assert.deepEqual(n, { ok: true, version: "1.52", engine: { min: "1.44", max: "1.55" } });
});

Deno.test("negotiateApiVersion() accepts a range that touches ours at one end only", () => {
  assert.deepEqual(
    negotiateApiVersion({ ApiVersion: "1.60", MinAPIVersion: "1.52" }, CLIENT),
    { ok: true, version: "1.52", engine: { min: "1.52", max: "1.60" } },
  );
  assert.deepEqual(
    negotiateApiVersion({ ApiVersion: "1.40", MinAPIVersion: "1.12" }, CLIENT),
    { ok: true, version: "1.40", engine: { min: "1.12", max: "1.40" } },
  );
});

Deno.test("negotiateApiVersion() reports both ranges when they do not overlap", () => {
  // An engine newer than anything we speak…
  assert.deepEqual(negotiateApiVersion({ ApiVersion: "1.60", MinAPIVersion: "1.53" }, CLIENT), {
    ok: false,
    problem: { kind: "no-overlap", engine: { min: "1.53", max: "1.60" }, client: CLIENT },
  });
  // …and one older (Docker 18.09 speaks 1.39).
  assert.deepEqual(negotiateApiVersion({ ApiVersion: "1.39", MinAPIVersion: "1.12" }, CLIENT), {
    ok: false,
    problem: { kind: "no-overlap", engine: { min: "1.12", max: "1.39" }, client: CLIENT },
  });
  // An engine whose own range is inverted serves nothing.
  assert.equal(
    negotiateApiVersion({ ApiVersion: "1.44", MinAPIVersion: "1.50" }, CLIENT).ok,
    false,
  );
});

Deno.test("negotiateApiVersion() compares minor versions as numbers, not text", () => {
  // "1.9" < "1.10" numerically; as text it would sort after "1.52".
  const n = negotiateApiVersion({ ApiVersion: "1.9", MinAPIVersion: "1.9" }, {
    min: "1.9",
    max: "1.10",
  });
  assert.deepEqual(n, { ok: true, version: "1.9", engine: { min: "1.9", max: "1.9" } });
  assert.ok(compareApiVersions("1.9", "1.10") < 0);
  assert.ok(compareApiVersions("2.0", "1.99") > 0);
  assert.equal(compareApiVersions("1.44", "1.44"), 0);
});

Deno.test("negotiateApiVersion() without MinAPIVersion serves down to the client's minimum", () => {
  assert.deepEqual(negotiateApiVersion({ ApiVersion: "1.41" }, CLIENT), {
    ok: true,
    version: "1.41",
    engine: { min: "1.40", max: "1.41" },
  });
});

Deno.test("negotiateApiVersion() names the field when the engine's answer is malformed", () => {
  for (const ApiVersion of [undefined, "", "1", "v1.41", "1.41.0", 1.41, null]) {
    assert.deepEqual(negotiateApiVersion({ ApiVersion, MinAPIVersion: "1.12" }, CLIENT), {
      ok: false,
      problem: { kind: "malformed", field: "ApiVersion", value: ApiVersion },
    });
  }
  assert.deepEqual(negotiateApiVersion({ ApiVersion: "1.52", MinAPIVersion: "new" }, CLIENT), {
    ok: false,
    problem: { kind: "malformed", field: "MinAPIVersion", value: "new" },
  });
});

Deno.test("CLIENT_API_RANGE covers Docker 20.10 (1.41) and Docker 29 (1.44-1.52)", () => {
  assert.deepEqual(parseApiVersion(CLIENT_API_RANGE.min), [1, 40]);
  assert.ok(compareApiVersions(CLIENT_API_RANGE.max, "1.52") >= 0);
  assert.equal(parseApiVersion(" 1.052 ")?.join("."), "1.52");
});
