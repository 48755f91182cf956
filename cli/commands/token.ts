/**
 * `swiftdeploy token create|list|revoke`: the bearer tokens of the admin
 * API (`swiftdeploy serve`), kept as SHA-256 hashes in `.swiftdeploy/tokens.json`
 * (0600) beside the manifest. See cli/token/mod.ts.
 */
import type { Context } from "./context.ts";
import { createToken, readTokens, revokeToken, tokenStorePath } from "../token/mod.ts";

/** Creates a token and prints it once (stdout: the token alone, for scripts). */
export async function runTokenCreate(
  ctx: Context,
  opts: { name: string; scope: string },
): Promise<number> {
  const { token, record } = await createToken(ctx.stateDir, opts.name, opts.scope);
  ctx.term.out(token);
  ctx.term.err(
    `created token "${record.name}" (scope ${record.scope}); it is shown only now: only its hash is kept`,
  );
  return 0;
}

/** Lists the tokens: name, scope, created, revoked (never a token or a hash). */
export async function runTokenList(ctx: Context, opts: { json: boolean }): Promise<number> {
  const tokens = await readTokens(tokenStorePath(ctx.stateDir));
  const rows = tokens.map((t) => ({
    name: t.name,
    scope: t.scope,
    created_at: t.created_at,
    revoked_at: t.revoked_at ?? null,
  }));
  if (opts.json) {
    ctx.term.out(JSON.stringify(rows));
    return 0;
  }
  if (rows.length === 0) {
    ctx.term.out('no tokens (create one with "swiftdeploy token create --name N --scope read")');
    return 0;
  }
  const width = Math.max(4, ...rows.map((r) => r.name.length));
  ctx.term.out(`${"NAME".padEnd(width)}  SCOPE   CREATED               REVOKED`);
  for (const r of rows) {
    ctx.term.out(
      `${r.name.padEnd(width)}  ${r.scope.padEnd(6)}  ${r.created_at}  ${r.revoked_at ?? "-"}`,
    );
  }
  return 0;
}

/**
 * Revokes a token by name; the server refuses it from its next request on.
 * A token revoked before is said so (exit 0: it is revoked, as asked).
 */
export async function runTokenRevoke(ctx: Context, name: string): Promise<number> {
  const { record, already } = await revokeToken(ctx.stateDir, name);
  ctx.term.out(
    already
      ? `token "${record.name}" was already revoked at ${record.revoked_at} (nothing changed)`
      : `revoked token "${record.name}" at ${record.revoked_at}`,
  );
  return 0;
}
