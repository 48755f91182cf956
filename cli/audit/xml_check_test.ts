import assert from "node:assert/strict";
import { xmlProblem } from "./_xml_check.ts";

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
    ["<a><b></a>", /closing tag "a" .* does not match "b"/],
    ["<a>", /unclosed element "a"/],
    ["<a x=1/>", /malformed tag "a"/],
    ['<a x="1" x="2"/>', /attribute "x" repeated/],
    ["<a>1 & 2</a>", /stray "&" in text/],
    ['<a t="x & y"/>', /stray "&" in attribute "t"/],
    ["<a>1 > 2</a>", /raw ">"/],
    ["<a/><b/>", /second root element "b"/],
    ["text<a/>", /text outside the root/],
    ["", /no root element/],
  ];
  for (const [xml, problem] of cases) assert.match(xmlProblem(xml) ?? "(none)", problem, xml);
});
