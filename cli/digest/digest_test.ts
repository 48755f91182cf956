import assert from "node:assert/strict";
import { canonicalJson, sha256Hex, sortKeys } from "./mod.ts";

Deno.test("sha256Hex() gives the FIPS 180-4 test vector for a string and its UTF-8 bytes alike", () => {
  const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  assert.equal(sha256Hex("abc"), abc);
  assert.equal(sha256Hex(new TextEncoder().encode("abc")), abc);
  assert.equal(sha256Hex("é"), sha256Hex(new Uint8Array([0xc3, 0xa9])));
});

Deno.test("canonicalJson() gives equal text for equal values whatever the key order", () => {
  const a = { b: [{ y: 1, x: 2 }], a: null, u: undefined };
  const b = { a: null, b: [{ x: 2, y: 1 }] };
  assert.equal(canonicalJson(a), '{"a":null,"b":[{"x":2,"y":1}]}');
  assert.equal(canonicalJson(a), canonicalJson(b));
  assert.deepEqual(Object.keys(sortKeys({ z: 1, a: 2 }) as object), ["a", "z"]);
});

Deno.test("canonicalJson() refuses numbers JSON cannot hold", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(() => canonicalJson({ v: [bad] }), TypeError);
  }
});
