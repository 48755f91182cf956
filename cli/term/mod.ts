/**
 * Terminal output: colours only on a TTY and never with NO_COLOR (or
 * --no-color). Everything the CLI prints goes through one Terminal.
 */

export interface Terminal {
  color: boolean;
  out(line?: string): void;
  err(line?: string): void;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

export function createTerminal(opts: { color?: boolean } = {}): Terminal {
  const color = opts.color ?? (Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR"));
  const wrap = (code: string) => (s: string) => color ? `\x1b[${code}m${s}\x1b[0m` : s;
  const enc = new TextEncoder();
  return {
    color,
    out: (line = "") => void Deno.stdout.writeSync(enc.encode(line + "\n")),
    err: (line = "") => void Deno.stderr.writeSync(enc.encode(line + "\n")),
    green: wrap("32"),
    red: wrap("31"),
    yellow: wrap("33"),
    dim: wrap("2"),
    bold: wrap("1"),
  };
}

/** `[PASS]`/`[FAIL]` style markers used by validate and the lifecycle. */
export function mark(t: Terminal, ok: boolean | "warn"): string {
  if (ok === "warn") return t.yellow("!");
  return ok ? t.green("✔") : t.red("✘");
}
