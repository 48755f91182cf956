/**
 * GitHub-flavoured Markdown building blocks. Every piece of history data
 * goes through `escapeCell` (in tables) or `escapeText` (elsewhere), so a
 * reason holding `|`, a backtick, `<` or a newline cannot break the layout.
 */

/** Escapes text for running Markdown: no HTML, no code spans, no emphasis, one line. */
export function escapeText(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_[\]|~#])/g, "\\$1")
    .replace(/\r\n|\r|\n/g, " ");
}

/** Escapes text for a table cell: as `escapeText`, with newlines kept as `<br>`. */
export function escapeCell(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map(escapeText)
    .join("<br>");
}

export type Align = "left" | "right";

/**
 * A table; cells are escaped here, so pass plain text. Every row gets
 * exactly as many cells as there are headers (missing ones are empty).
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly Align[],
): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  const rule = headers.map((_, i) => (align?.[i] === "right" ? "---:" : "---"));
  const body = rows.map((row) => line(headers.map((_, i) => escapeCell(row[i] ?? ""))));
  return [line(headers.map(escapeCell)), line(rule), ...body].join("\n");
}
