/**
 * `deno task compile`: a standalone executable with `deno compile`. It needs
 * Deno's `denort` runtime; offline, DENORT_BIN must name a real denort
 * binary (the full `deno` binary is not one: it would only start a REPL).
 */
import { join } from "node:path";

const home = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const out = join(home, "dist", "swiftdeploy");

/** Why compile cannot run here, or undefined when it can. */
export async function compileBlocker(): Promise<string | undefined> {
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) {
    try {
      await Deno.stat(denort);
      return undefined;
    } catch {
      return `DENORT_BIN names "${denort}", which does not exist`;
    }
  }
  // Deno downloads denort from its release site; probe it quickly.
  try {
    const res = await fetch(
      "https://dl.deno.land/release/v" + Deno.version.deno + "/denort-x86_64-unknown-linux-gnu.zip",
      {
        method: "HEAD",
        signal: AbortSignal.timeout(3000),
      },
    );
    await res.body?.cancel();
    if (res.ok) return undefined;
    return `Deno's download site answered HTTP ${res.status} for the denort runtime`;
  } catch {
    return "deno compile needs Deno's denort runtime, which cannot be downloaded from this machine; set DENORT_BIN to a real denort binary";
  }
}

if (import.meta.main) {
  const blocker = await compileBlocker();
  if (blocker) {
    console.error(`error: Cannot compile the CLI: ${blocker}`);
    Deno.exit(1);
  }
  await Deno.mkdir(join(home, "dist"), { recursive: true });
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "-A",
      "--config",
      join(home, "deno.json"),
      "--include",
      join(home, "templates"),
      "-o",
      out,
      join(home, "cli", "main.ts"),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  Deno.exit(code);
}
