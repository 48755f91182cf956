/**
 * A small XML well-formedness check for tests (Deno has no DOMParser for
 * XML): one root element, every tag closed in order, attributes quoted and
 * unique, no raw `<` or stray `&` in text or attribute values. Stricter than
 * XML in one way: a raw `>` in text is rejected too (the renderers here
 * always escape it). Returns the first problem, or undefined when the text
 * is well-formed.
 */

const NAME = "[A-Za-z_:][-A-Za-z0-9_:.]*";
const ATTR = new RegExp(`^\\s+(${NAME})\\s*=\\s*("[^"<]*"|'[^'<]*')`);
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function badAmpersand(text: string): boolean {
  return text.replace(ENTITY, "").includes("&");
}

export function xmlProblem(xml: string): string | undefined {
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const text = (s: string) => s.trim() === "" ? undefined : s;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const chunk = xml.slice(i, lt === -1 ? xml.length : lt);
    if (chunk.includes(">")) return `raw ">" in text at ${i}`;
    if (badAmpersand(chunk)) return `stray "&" in text at ${i}`;
    if (stack.length === 0 && text(chunk)) return `text outside the root at ${i}`;
    if (lt === -1) break;
    if (xml.startsWith("<?", lt)) {
      const end = xml.indexOf("?>", lt);
      if (end === -1) return "unclosed processing instruction";
      i = end + 2;
      continue;
    }
    if (xml.startsWith("<!--", lt)) {
      const end = xml.indexOf("-->", lt);
      if (end === -1) return "unclosed comment";
      i = end + 3;
      continue;
    }
    if (xml.startsWith("</", lt)) {
      const m = new RegExp(`^</(${NAME})\\s*>`).exec(xml.slice(lt));
      if (!m) return `bad closing tag at ${lt}`;
      const open = stack.pop();
      if (open !== m[1]) {
        return `closing tag "${m[1]}" at ${lt} does not match "${open ?? "(none)"}"`;
      }
      i = lt + m[0].length;
      continue;
    }
    const m = new RegExp(`^<(${NAME})`).exec(xml.slice(lt));
    if (!m) return `bad tag at ${lt}`;
    let j = lt + m[0].length;
    const seen = new Set<string>();
    for (;;) {
      const attr = ATTR.exec(xml.slice(j));
      if (!attr) break;
      if (seen.has(attr[1]!)) return `attribute "${attr[1]}" repeated at ${j}`;
      seen.add(attr[1]!);
      if (badAmpersand(attr[2]!)) return `stray "&" in attribute "${attr[1]}" at ${j}`;
      j += attr[0].length;
    }
    const end = /^\s*(\/?)>/.exec(xml.slice(j));
    if (!end) return `malformed tag "${m[1]}" at ${lt}`;
    if (stack.length === 0) {
      roots++;
      if (roots > 1) return `second root element "${m[1]}" at ${lt}`;
    }
    if (end[1] !== "/") stack.push(m[1]!);
    i = j + end[0].length;
  }
  if (stack.length) return `unclosed element "${stack[stack.length - 1]}"`;
  if (roots === 0) return "no root element";
  return undefined;
}
