/** `deno task bundle`: a single-file build of the CLI (npm dependencies included). */
import { join } from "node:path";

const home = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const out = join(home, "dist", "swiftdeploy.js");
await Deno.mkdir(join(home, "dist"), { recursive: true });
const { code, stderr } = await new Deno.Command(Deno.execPath(), {
  args: [
    "bundle",
    "--quiet",
    "--config",
    join(home, "deno.json"),
    "-o",
    out,
    join(home, "cli", "main.ts"),
  ],
  stderr: "piped",
}).output();
if (code !== 0) {
  console.error(`error: Cannot bundle the CLI: ${new TextDecoder().decode(stderr).trim()}`);
  Deno.exit(1);
}
const size = (await Deno.stat(out)).size;
console.log(`wrote ${out} (${(size / 1e6).toFixed(2)} MB); run it with: deno run -A ${out} --help`);
