/** `swiftdeploy validate`: exit 0 all pass, 1 a check failed, 2 the manifest is invalid. */
import type { Context } from "./context.ts";
import { mark } from "../term/mod.ts";
import { validate } from "../validate/mod.ts";

export async function runValidate(ctx: Context): Promise<number> {
  const report = await validate(ctx);
  for (const c of report.checks) {
    if (c.warn) {
      ctx.term.out(`${ctx.term.yellow("!")} ${ctx.term.yellow("WARN")} ${c.name}: ${c.detail}`);
      continue;
    }
    ctx.term.out(`${mark(ctx.term, c.ok)} ${c.ok ? "PASS" : "FAIL"} ${c.name}: ${c.detail}`);
  }
  if (report.manifestError) throw report.manifestError;
  if (report.engineError?.hint) {
    ctx.term.out(`${ctx.term.yellow("hint:")} ${report.engineError.hint}`);
  }
  const failed = report.checks.filter((c) => !c.ok).length;
  ctx.term.out(failed === 0 ? "all checks passed" : `${failed} check(s) failed`);
  return failed === 0 ? 0 : 1;
}
