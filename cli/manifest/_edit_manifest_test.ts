import assert from "node:assert/strict";
import { ManifestError, SwiftDeployError } from "../errors/mod.ts";
import { editManifestText, parseManifest } from "./mod.ts";

const shipped = Deno.readTextFileSync(new URL("../../manifest.yaml", import.meta.url));
const minimal = Deno.readTextFileSync(
  new URL("../../tests/fixtures/manifests/valid_minimal.yaml", import.meta.url),
);

/** The one differing stretch of two texts: [old bytes, new bytes, offset]. */
function diff(a: string, b: string): [string, string, number] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (
    end < a.length - start && end < b.length - start &&
    a[a.length - 1 - end] === b[b.length - 1 - end]
  ) end++;
  return [a.slice(start, a.length - end), b.slice(start, b.length - end), start];
}

function comments(text: string): string[] {
  return text.split("\n").filter((line) => line.trimStart().startsWith("#"));
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail("expected an error");
}

Deno.test("editManifestText() changes only the bytes of services.mode in the shipped manifest", () => {
  const edited = editManifestText(shipped, ["services", "mode"], "canary");
  const [before, after, at] = diff(shipped, edited);
  assert.equal(before, "stable");
  assert.equal(after, "canary");
  assert.equal(shipped.slice(0, at).split("\n").at(-1), "  mode: ");
  assert.equal(edited.length, shipped.length);
  assert.deepEqual(comments(edited), comments(shipped));
  assert.ok(comments(shipped).length > 20);
  const m = parseManifest(edited, "manifest.yaml");
  assert.equal(m.services.mode, "canary");
  assert.deepEqual(
    { ...m, services: { ...m.services, mode: "stable" } },
    parseManifest(shipped, "m"),
  );
});

Deno.test("editManifestText() keeps the double quotes of a quoted value", () => {
  const edited = editManifestText(shipped, ["services", "version"], "2.0.0");
  assert.deepEqual(diff(shipped, edited).slice(0, 2), ["1", "2"]);
  assert.match(edited, /^ {2}version: "2\.0\.0"$/m);
});

Deno.test("editManifestText() keeps the single quotes of a quoted value", () => {
  const edited = editManifestText("a:\n  b: 'x' # keep\n", ["a", "b"], "it's");
  assert.equal(edited, "a:\n  b: 'it''s' # keep\n");
});

Deno.test("editManifestText() writes numbers plainly and keeps a trailing comment", () => {
  const text = "nginx:\n  port: 8080 # the public port\n  image: n\n";
  assert.equal(
    editManifestText(text, ["nginx", "port"], 9090),
    "nginx:\n  port: 9090 # the public port\n  image: n\n",
  );
});

Deno.test("editManifestText() quotes a string that would not read back as the same string", () => {
  const text = "a:\n  b: plain\n";
  assert.equal(editManifestText(text, ["a", "b"], "8080"), 'a:\n  b: "8080"\n');
  assert.equal(editManifestText(text, ["a", "b"], "true"), 'a:\n  b: "true"\n');
  assert.equal(editManifestText(text, ["a", "b"], "x # y"), 'a:\n  b: "x # y"\n');
  assert.equal(editManifestText(text, ["a", "b"], ""), 'a:\n  b: ""\n');
  assert.equal(editManifestText(text, ["a", "b"], "ops@x.io"), "a:\n  b: ops@x.io\n");
  assert.equal(editManifestText(text, ["a", "b"], false), "a:\n  b: false\n");
});

Deno.test("editManifestText() fills a key that has no value", () => {
  assert.equal(editManifestText("a:\n  b:\n  c: 1\n", ["a", "b"], "x"), "a:\n  b: x\n  c: 1\n");
});

Deno.test("editManifestText() replaces a block scalar and keeps the following lines", () => {
  const text = "a:\n  b: |\n    one\n    two\n  c: 1\n";
  assert.equal(editManifestText(text, ["a", "b"], "x"), "a:\n  b: x\n  c: 1\n");
});

Deno.test("editManifestText() adds a missing key at the end of its section with the siblings' indent", () => {
  const edited = editManifestText(minimal, ["services", "mode"], "canary");
  const [before, after] = diff(minimal, edited);
  assert.equal(before, "");
  assert.equal(after, "  mode: canary\n");
  assert.match(edited, /^ {2}port: 3000\n {2}mode: canary\n\nnginx:$/m);
  assert.equal(parseManifest(edited, "m").services.mode, "canary");
});

Deno.test("editManifestText() adds a missing section at the end of the file", () => {
  const text = "services:\n  image: a\n  port: 1 # last line without newline";
  assert.equal(
    editManifestText(text, ["opa", "port"], 9181),
    "services:\n  image: a\n  port: 1 # last line without newline\nopa:\n  port: 9181\n",
  );
});

Deno.test("editManifestText() refuses a key path that names a mapping", () => {
  const error = thrown(() => editManifestText(shipped, ["services"], "x"));
  assert.ok(error instanceof SwiftDeployError);
  assert.equal(error.code, "USAGE");
  assert.equal(
    error.message,
    'Cannot set "services": "services" holds a mapping or list, not a value',
  );
});

Deno.test("editManifestText() refuses a path through a value", () => {
  const error = thrown(() => editManifestText(shipped, ["project", "name"], "x"));
  assert.ok(error instanceof SwiftDeployError);
  assert.equal(error.message, 'Cannot set "project.name": "project" is not a mapping');
});

Deno.test("editManifestText() refuses to add a key to a flow mapping", () => {
  const error = thrown(() => editManifestText("services: {image: a}\n", ["services", "port"], 1));
  assert.ok(error instanceof SwiftDeployError);
  assert.equal(error.code, "USAGE");
});

Deno.test("editManifestText() edits a value inside a flow mapping in place", () => {
  assert.equal(
    editManifestText("services: {image: a, mode: stable}\n", ["services", "mode"], "canary"),
    "services: {image: a, mode: canary}\n",
  );
});

Deno.test("editManifestText() throws a ManifestError when the text is not valid YAML", () => {
  const error = thrown(() => editManifestText("a:\n\tb: 1\n", ["a", "b"], 2));
  assert.ok(error instanceof ManifestError);
  assert.equal(error.issues[0]?.line, 2);
});

Deno.test("editManifestText() refuses an edit that would change other values through an anchor", () => {
  const text = "a: &x 1\nb: *x\n";
  const error = thrown(() => editManifestText(text, ["a"], 2));
  assert.ok(error instanceof SwiftDeployError);
  assert.equal(error.code, "INTERNAL");
  // The alias itself can be replaced: only "b" changes.
  assert.equal(editManifestText(text, ["b"], 2), "a: &x 1\nb: 2\n");
});

Deno.test("editManifestText() refuses a non-finite number", () => {
  const error = thrown(() => editManifestText(shipped, ["nginx", "port"], NaN));
  assert.ok(error instanceof SwiftDeployError);
  assert.equal(error.code, "USAGE");
});
