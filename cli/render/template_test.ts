import assert from "node:assert/strict";
import { SwiftDeployError } from "../errors/mod.ts";
import { fillTemplate } from "./mod.ts";
import {
  commentText,
  integerText,
  nginxQuotedJson,
  nginxQuotedText,
  sha256Text,
} from "./_escape.ts";

function internalError(pattern: RegExp) {
  return (e: unknown) =>
    e instanceof SwiftDeployError && e.code === "INTERNAL" && pattern.test(e.message);
}

Deno.test("fillTemplate() replaces every placeholder, with or without inner spaces", () => {
  assert.equal(
    fillTemplate("t", "a {{ x }} b {{y}} c {{  x  }}", { x: "1", y: "2" }),
    "a 1 b 2 c 1",
  );
});

Deno.test("fillTemplate() never scans a value for placeholders", () => {
  assert.equal(fillTemplate("t", "[{{ a }}]", { a: "{{ b }}" }), "[{{ b }}]");
});

Deno.test("fillTemplate() leaves single braces and nginx variables alone", () => {
  const text = "log '${request_time}s' { x; }}";
  assert.equal(fillTemplate("t", text, {}), text);
});

Deno.test("fillTemplate() throws when the template names a value that is not given", () => {
  assert.throws(
    () => fillTemplate("nginx.conf.tmpl", "a\n{{ missing }}", {}),
    internalError(/"nginx\.conf\.tmpl".*unknown placeholder "\{\{ missing \}\}" on line 2/),
  );
});

Deno.test("fillTemplate() throws when a given value has no placeholder", () => {
  assert.throws(
    () => fillTemplate("t", "{{ a }}", { a: "1", extra: "2" }),
    internalError(/value "extra" has no placeholder/),
  );
});

Deno.test("fillTemplate() throws when {{ starts something that is not a placeholder", () => {
  assert.throws(
    () => fillTemplate("t", "{{ Bad-Name }}", {}),
    internalError(/malformed placeholder/),
  );
  assert.throws(() => fillTemplate("t", "{{ open", {}), internalError(/malformed placeholder/));
});

Deno.test("nginxQuotedText() escapes backslashes and quotes and turns $ into ${dollar}", () => {
  assert.equal(nginxQuotedText(`a\\b'c"d$e`), `a\\\\b\\'c"d\${dollar}e`);
});

Deno.test("nginxQuotedJson() escapes JSON first, then for nginx", () => {
  // JSON: "o'k \"x\"\n"  then nginx: \' and \\ doubled.
  assert.equal(nginxQuotedJson(`o'k "x"\n`), `"o\\'k \\\\"x\\\\"\\\\n"`);
});

Deno.test("commentText() keeps a value on one line", () => {
  assert.equal(commentText("a\nb.yaml"), '"a\\nb.yaml"');
});

Deno.test("integerText() throws when a number is fractional or out of range", () => {
  assert.equal(integerText("p", 80, 1, 65535), "80");
  assert.throws(() => integerText("p", 1.5, 1, 65535), internalError(/whole number/));
  assert.throws(() => integerText("p", 0, 1, 65535), internalError(/got 0/));
});

Deno.test("sha256Text() throws when the hash is not 64 lowercase hex digits", () => {
  assert.equal(sha256Text("a".repeat(64)), `sha256:${"a".repeat(64)}`);
  assert.throws(() => sha256Text("A".repeat(64)), internalError(/64 lowercase hex/));
});
