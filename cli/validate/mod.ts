/**
 * `validate`: the five checks of the original task (manifest parses, fields
 * present, images exist, nginx port free, `nginx -t` passes) plus the
 * policy bundle and generated files being up to date, and each container's
 * user being able to read what it bind-mounts, and how the canary gate
 * judges the P99 limit with the app's latency buckets (refused above the
 * highest finite bucket or below the smallest). One result per check;
 * the command decides the exit code from them.
 */
import { isAbsolute, join, relative } from "node:path";
import type { Context } from "../commands/context.ts";
import { EngineClient, type EngineClient as Engine } from "../engine/mod.ts";
import { ManifestError, SwiftDeployError } from "../errors/mod.ts";
import { checkGenerated, generate } from "../generate/mod.ts";
import {
  hardeningSpec,
  type LoadedManifest,
  loadManifest,
  privateSourcesWarning,
  type ResourceRole,
} from "../manifest/mod.ts";
import { judgeLatencyLimit } from "../metrics/latency_limit.ts";
import { LABEL_PROJECT, LABEL_ROLE, type StackPlan } from "../plan/mod.ts";
import { hashPolicySources, readBundleManifest } from "../policy/mod.ts";
import { readIfExists } from "../fs/mod.ts";
import { nginxTestArgs, nginxTestCopy } from "../render/mod.ts";
import { findUnreadable, parseUser } from "./_readable.ts";
import { type EngineHost, locateMisfits, resourceMisfits } from "./_resources.ts";

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** A passing check worth a look (printed WARN): the manifest opens something on purpose. */
  warn?: boolean;
}

export interface ValidateReport {
  /** Set when the manifest itself is invalid (exit 2). */
  manifestError?: ManifestError;
  /** Set when no Docker Engine answered: one error, reported once. */
  engineError?: SwiftDeployError;
  loaded?: LoadedManifest;
  checks: CheckResult[];
}

const SYNTAX_PATH = "";

/** Is the compiled WASM bundle the one of the current policies/ sources? */
async function policyBundleCheck(policiesDir: string, bundleDir: string): Promise<CheckResult> {
  const name = "policy bundle is up to date with policies/";
  const [sources, bundle] = await Promise.all([
    hashPolicySources(policiesDir),
    readBundleManifest(bundleDir),
  ]);
  if (!bundle) return { name, ok: false, detail: "no compiled bundle (run `swiftdeploy build`)" };
  if (bundle.hash !== sources.hash) {
    return {
      name,
      ok: false,
      detail: `stale: built from ${bundle.hash.slice(0, 12)}, sources are ${
        sources.hash.slice(0, 12)
      } (run \`swiftdeploy build\`)`,
    };
  }
  try {
    await Deno.stat(join(bundleDir, bundle.wasm));
  } catch {
    return { name, ok: false, detail: `${bundle.wasm} is missing (run \`swiftdeploy build\`)` };
  }
  return { name, ok: true, detail: bundle.wasm };
}

/**
 * Can each container's user read every host folder it bind-mounts (the
 * policies, nginx's config folder, OPA's data folder)? One check per
 * container with such a mount; a folder not created yet passes (deploy
 * creates it 0755).
 */
async function mountReadabilityChecks(plan: StackPlan): Promise<CheckResult[]> {
  const checks: CheckResult[] = [];
  for (const container of plan.containers) {
    const sources = (container.body.HostConfig?.Binds ?? [])
      .map((bind) => bind.split(":")[0]!)
      .filter((source) => source.startsWith("/"));
    if (sources.length === 0) continue;
    const user = parseUser(container.body.User);
    const name = `${container.role} container (user ${container.body.User}) can read its mounts`;
    if (!user) {
      checks.push({ name, ok: true, detail: "runs as a named user: not checked" });
      continue;
    }
    let problem: string | undefined;
    for (const source of sources) {
      const found = await findUnreadable(source, user);
      if (found) {
        problem = `"${found.path}" is not readable by user ${user.uid} (${found.detail}); ` +
          `make it readable, e.g. chmod -R a+rX "${source}"`;
        break;
      }
    }
    checks.push(
      problem ? { name, ok: false, detail: problem } : {
        name,
        ok: true,
        detail: sources.join(", "),
      },
    );
  }
  return checks;
}

/** Is the port free on the host, or held by this project's running nginx? */
async function portCheck(
  engine: Engine | undefined,
  project: string,
  port: number,
): Promise<CheckResult> {
  const name = `nginx port ${port} is free on the host`;
  try {
    const listener = Deno.listen({ hostname: "0.0.0.0", port });
    listener.close();
    return { name, ok: true, detail: "free" };
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) {
      return { name, ok: false, detail: `cannot test the port: ${(error as Error).message}` };
    }
  }
  if (engine) {
    const ours = await engine.containerList(
      [`${LABEL_PROJECT}=${project}`, `${LABEL_ROLE}=nginx`],
      false,
    )
      .catch(() => []);
    for (const c of ours) {
      const inspect = await engine.containerInspect(c.Id);
      const bound = Object.values(inspect?.NetworkSettings.Ports ?? {}).flat()
        .some((b) => b && Number(b.HostPort) === port);
      if (bound) {
        return {
          name,
          ok: true,
          detail: `held by this project's own nginx (${(c.Names[0] ?? "").slice(1)})`,
        };
      }
    }
  }
  return { name, ok: false, detail: `port ${port} is already in use by another process` };
}

async function nginxSyntaxCheck(conf: string): Promise<CheckResult> {
  const name = "generated nginx.conf passes nginx -t";
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-nginx-t-" });
  try {
    await Deno.writeTextFile(join(dir, "nginx.conf"), nginxTestCopy(conf, dir));
    let out;
    try {
      out = await new Deno.Command("nginx", {
        args: nginxTestArgs(dir),
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch {
      return {
        name,
        ok: false,
        detail: "nginx is not installed on the host (run build/bootstrap.sh)",
      };
    }
    const text = new TextDecoder().decode(out.stderr).trim().split("\n");
    if (out.success) return { name, ok: true, detail: "syntax ok" };
    const problem = text.find((l) => /\[emerg\]|\[error\]|failed/.test(l)) ?? text[0] ??
      "nginx -t failed";
    return { name, ok: false, detail: problem.replace(dir + "/", "").replace(/^nginx: /, "") };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Runs every check. Only an invalid manifest stops early (nothing else can be judged). */
export async function validate(ctx: Context): Promise<ValidateReport> {
  const checks: CheckResult[] = [];
  let loaded: LoadedManifest;
  try {
    loaded = await loadManifest(ctx.manifestArg);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    const syntax = error.issues.filter((i) => i.path === SYNTAX_PATH);
    checks.push({
      name: "manifest exists and is valid YAML",
      ok: syntax.length === 0,
      detail: syntax.length === 0 ? "parsed" : `${syntax.length} syntax problem(s)`,
    });
    if (syntax.length === 0) {
      checks.push({
        name: "required fields present and valid",
        ok: false,
        detail: `${error.issues.length} problem(s)`,
      });
    }
    return { manifestError: error, checks };
  }
  const m = loaded.manifest;
  checks.push({ name: "manifest exists and is valid YAML", ok: true, detail: loaded.path });
  checks.push({
    name: "required fields present and valid",
    ok: true,
    detail: "all fields resolved",
  });

  let engine: EngineClient | undefined;
  let engineError: SwiftDeployError | undefined;
  try {
    engine = await EngineClient.connect(ctx.env);
  } catch (error) {
    if (!(error instanceof SwiftDeployError)) throw error;
    engineError = error;
    checks.push({
      name: "Docker Engine answers",
      ok: false,
      detail: `${error.message}; images not checked`,
    });
  }
  let host: EngineHost | undefined;
  try {
    if (engine) {
      const info = await engine.info();
      host = { ncpu: info.NCPU ?? 0, memTotal: info.MemTotal ?? 0 };
    }
    for (const ref of engine ? [m.services.image, m.nginx.image, m.opa.image] : []) {
      const name = `image ${ref} exists locally`;
      const image = await engine!.imageInspect(ref);
      checks.push(
        image
          ? {
            name,
            ok: true,
            detail: `${image.Id.slice(7, 19)}, ${(image.Size / 1e6).toFixed(1)} MB`,
          }
          : { name, ok: false, detail: "not found (run `swiftdeploy build`)" },
      );
    }
    checks.push(await portCheck(engine, m.project, m.nginx.port));
  } finally {
    engine?.close();
  }

  const { plan, files } = await generate(ctx, loaded);
  // Resource caps the engine's host cannot honour: a manifest error at the key (exit 2), so
  // nothing is created and the engine's "Range of CPUs…" is never the first word (issue 17).
  if (host) {
    const roles = plan.containers.map((c) => c.role).filter((r) => r in hardeningSpec(m).resources);
    const misfits = resourceMisfits(hardeningSpec(m), host, roles as ResourceRole[]);
    if (misfits.length > 0) {
      const rel = relative(Deno.cwd(), loaded.path);
      const file = rel === "" || rel.startsWith("..") || isAbsolute(rel) ? loaded.path : rel;
      return {
        loaded,
        checks,
        manifestError: new ManifestError(
          locateMisfits(loaded.text, file, misfits),
          "lower the caps to what the engine's host has (docker info: CPUs, Total Memory); nothing was changed",
        ),
      };
    }
  }
  checks.push(...await mountReadabilityChecks(plan));
  // The file on disk is what nginx will load: check it (hand edits included), else the rendering.
  const onDisk = await readIfExists(join(loaded.dir, "nginx.conf"));
  checks.push(await nginxSyntaxCheck(onDisk ?? files["nginx.conf"]));

  checks.push(
    await policyBundleCheck(join(ctx.home, "policies"), join(ctx.home, "build", "policy")),
  );

  const drift = await checkGenerated(loaded.dir, files);
  checks.push({
    name: "generated files are up to date",
    ok: drift.length === 0,
    detail: drift.length === 0
      ? "nginx.conf, docker-compose.yml, policy_data.json match the manifest"
      : drift.map((d) => `${d.name} ${d.problem === "missing" ? "missing" : "stale or edited"}`)
        .join(", ") +
        " (run `swiftdeploy init`)",
  });
  // /chaos and /metrics: the host only, unless the manifest opens them (issue 17).
  const opened = privateSourcesWarning(hardeningSpec(m).private_sources);
  checks.push({
    name: "/chaos and /metrics are private",
    ok: true,
    detail: opened ?? "only the host itself reaches them through nginx",
    ...(opened ? { warn: true } : {}),
  });
  // How the canary gate can judge the P99 limit with the app's latency buckets.
  const latency = judgeLatencyLimit(m.policy_limits.canary.max_p99_latency_ms);
  checks.push({
    name: "P99 latency limit fits the app's latency buckets",
    ok: latency.ok,
    detail: latency.detail,
  });
  return engineError ? { loaded, checks, engineError } : { loaded, checks };
}
