import { SwiftDeployError } from "../errors/mod.ts";

/** `{{ name }}`: a lowercase name with optional spaces inside the braces. */
const PLACEHOLDER = /\{\{\s*([a-z][a-z0-9_]*)\s*\}\}/g;

/**
 * Replaces every `{{ name }}` of `template` by `values[name]`, in one pass
 * (a value is never scanned for placeholders). Values must already be
 * escaped for where they go. Throws when the template names a value that
 * is not given, when a given value is never used, or when `{{` starts
 * anything but a placeholder: each means template and code have drifted.
 */
export function fillTemplate(
  templateName: string,
  template: string,
  values: Readonly<Record<string, string>>,
): string {
  const problems: string[] = [];
  const used = new Set<string>();
  const output = template.replace(PLACEHOLDER, (match, name: string) => {
    if (!Object.hasOwn(values, name)) {
      problems.push(`unknown placeholder "${match}" on line ${lineOf(template, match)}`);
      return match;
    }
    used.add(name);
    return values[name] as string;
  });
  const withoutPlaceholders = template.replace(PLACEHOLDER, "");
  const stray = withoutPlaceholders.indexOf("{{");
  if (stray >= 0) {
    const near = withoutPlaceholders.slice(stray, stray + 24).split("\n")[0];
    problems.push(`malformed placeholder at "${near}"`);
  }
  for (const name of Object.keys(values)) {
    if (!used.has(name)) problems.push(`value "${name}" has no placeholder`);
  }
  if (problems.length > 0) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot render template "${templateName}": ${problems.join("; ")}`,
      { hint: "the templates/ folder does not match this version of SwiftDeploy: reinstall it" },
    );
  }
  return output;
}

function lineOf(text: string, match: string): number {
  return text.slice(0, text.indexOf(match)).split("\n").length;
}
