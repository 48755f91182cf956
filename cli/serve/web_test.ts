/**
 * serveWeb(): the dashboard's files only, with their media types and the
 * security headers; anything else (other paths, traversal, other methods)
 * is left to the router (null). Also checks the page loads nothing from
 * another origin (it must work offline) and writes no server text as HTML.
 */
import assert from "node:assert/strict";
import { serveWeb, WEB_FILES, WEB_HEADERS } from "./_web.ts";

const get = (path: string, method = "GET") =>
  serveWeb(new Request(`http://127.0.0.1:8080${path}`, { method }));

Deno.test("serveWeb() serves the page and its assets with their types and the security headers", async () => {
  for (const [path, { type }] of Object.entries(WEB_FILES)) {
    const res = await get(path);
    assert.ok(res, path);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), type);
    for (const [k, v] of Object.entries(WEB_HEADERS)) assert.equal(res.headers.get(k), v, k);
    const body = new Uint8Array(await res.arrayBuffer());
    assert.ok(body.byteLength > 0);
    assert.equal(res.headers.get("content-length"), String(body.byteLength));
  }
  const head = await get("/", "HEAD");
  assert.equal(head?.status, 200);
  assert.equal(await head?.text(), "");
});

Deno.test("serveWeb() leaves every other path and method to the router", async () => {
  for (
    const p of [
      "/index.html",
      "/assets/",
      "/assets/../deno.json",
      "/assets/%2e%2e/deno.json",
      "/assets/app.js/",
      "/assets/APP.JS",
      "/web/app.js",
      "/v1/status",
      "/constructor",
      "/__proto__",
    ]
  ) {
    assert.equal(await get(p), null, p);
  }
  assert.equal(await get("/", "POST"), null);
});

Deno.test("the dashboard loads nothing from another origin and never parses server text as HTML", async () => {
  const html = await (await get("/"))!.text();
  const js = await (await get("/assets/app.js"))!.text();
  const css = await (await get("/assets/style.css"))!.text();
  for (const [name, text] of [["index.html", html], ["app.js", js], ["style.css", css]] as const) {
    assert.doesNotMatch(
      text,
      /(?:src|href)=["']?(?:https?:)?\/\//i,
      `${name} loads from another origin`,
    );
    assert.doesNotMatch(text, /@import|url\(\s*["']?(?:https?:)?\/\//i, name);
  }
  assert.doesNotMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)/, "an inline script (the CSP forbids it)");
  assert.doesNotMatch(js, /localStorage/, "the token must stay in sessionStorage");
  // Every form control has a label.
  for (const id of html.matchAll(/<input[^>]*\bid="([^"]+)"/g)) {
    assert.match(html, new RegExp(`<label for="${id[1]}"`), `input #${id[1]} has no label`);
  }
});
