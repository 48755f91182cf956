import assert from "node:assert/strict";
import { xmlProblem } from "./_test_util.ts";

Deno.test("xmlProblem() accepts well-formed XML", () => {
  assert.equal(
    xmlProblem(
      '<?xml version="1.0"?>\n<a x="1" y=\'2\'><!-- c --><b/>t &amp; &#38; &lt;<c>x</c></a>\n',
    ),
    undefined,
  );
});

Deno.test("xmlProblem() names unbalanced, unquoted, repeated and unescaped markup", () => {
  const cases: Array<[string, RegExp]> = [
    ["<a><b></a>", /unexpected close tag/],
    ["<a>", /unclosed tag: a/],
    ["<a x=1/>", /unquoted attribute value/],
    ['<a x="1" x="2"/>', /duplicate attribute: x/],
    ["<a>1 & 2</a>", /./],
    ['<a t="x & y"/>', /./],
    ['<a t="x < y"/>', /disallowed character/],
    ["<a/><b/>", /only one root/],
    ["text<a/>", /text data outside of root node/],
    ["", /must contain a root element/],
  ];
  for (const [xml, problem] of cases) assert.match(xmlProblem(xml) ?? "(none)", problem, xml);
});
