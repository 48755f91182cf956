/**
 * The SwiftDeploy CLI. The only module that exits: every other module
 * throws SwiftDeployError, and the handler below prints `error:` and
 * `hint:` lines (the stack only with --verbose) and exits with its code.
 */
import { Command, CommanderError, Option } from "commander";
import { join } from "node:path";
// Each command's module is imported when that command runs (see `commands` below), so
// `--help` or `init` never load the engine client, the image builder or opa-wasm.
import {
  type Context,
  createContext,
  installHome,
  type PolicyEngineKind,
} from "./commands/context.ts";
import { ExitCode, ManifestError, SwiftDeployError } from "./errors/mod.ts";
import type { ImageRole } from "./image/mod.ts";
import { createTerminal } from "./term/mod.ts";

interface GlobalOptions {
  manifest: string;
  env?: string;
  verbose?: boolean;
  color: boolean;
  policyEngine: string;
}

let exitCode = 0;
let verbose = Deno.args.includes("--verbose");

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) {
      throw new SwiftDeployError(
        "USAGE",
        `Invalid ${name}: must be a positive number (got "${value}")`,
        {
          exitCode: ExitCode.invalid,
        },
      );
    }
    return n;
  };
}

const program = new Command("swiftdeploy")
  .description(
    "Single-host deployment control plane: one manifest.yaml describes the stack;\n" +
      "init renders nginx.conf, docker-compose.yml and the policy data from it;\n" +
      "deploy, promote and teardown drive the Docker Engine, gated by OPA policies.",
  )
  .option(
    "-f, --manifest <path>",
    "manifest to use; generated files live beside it",
    "manifest.yaml",
  )
  .addOption(
    new Option(
      "-e, --env <name>",
      "the environment of the manifest's `environments` to act on; its files live in environments/<name>/",
    ).env("SWIFTDEPLOY_ENV"),
  )
  .addOption(
    new Option("--policy-engine <engine>", "where policy decisions are made")
      .choices(["wasm", "sidecar"])
      .default("wasm")
      .env("SWIFTDEPLOY_POLICY_ENGINE"),
  )
  .option("--no-color", "never colour output (also NO_COLOR)")
  .option("--verbose", "show stack traces and engine details")
  .showHelpAfterError("(run with --help for usage)")
  .configureOutput({
    writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)),
    writeOut: (s) => Deno.stdout.writeSync(new TextEncoder().encode(s)),
  })
  .exitOverride()
  .addHelpText(
    "after",
    `
Exit codes: 0 ok, 1 failed, 2 invalid manifest or usage, 3 denied by policy (a rollout
rolled back, a rolled-back spec deployed without --retry), 4 locked (another change, or
an active rollout), 5 no Docker Engine API version in common, 6 malformed DOCKER_HOST.

Examples:
  swiftdeploy init                 render the generated files from ./manifest.yaml
  swiftdeploy -f prod/manifest.yaml deploy
  swiftdeploy promote canary       gated by the canary policy, zero-downtime
  swiftdeploy status --once --json
  swiftdeploy demo                 the whole lifecycle on the default manifest`,
  );

/** The command modules, loaded on first use: start-up pays only for the command that runs. */
const commands = {
  audit: () => import("./commands/audit.ts"),
  build: () => import("./commands/build.ts"),
  demo: () => import("./commands/demo.ts"),
  engine: () => import("./commands/engine.ts"),
  lab: () => import("./commands/lab.ts"),
  init: () => import("./commands/init.ts"),
  lifecycle: () => import("./commands/lifecycle.ts"),
  lock: () => import("./commands/lock.ts"),
  policy: () => import("./commands/policy.ts"),
  release: () => import("./commands/release.ts"),
  serve: () => import("./commands/serve.ts"),
  status: () => import("./commands/status.ts"),
  token: () => import("./commands/token.ts"),
  validate: () => import("./commands/validate.ts"),
};

function ctxOf(cmd: Command): Context {
  const g = cmd.optsWithGlobals() as GlobalOptions;
  verbose = Boolean(g.verbose);
  const term = createTerminal(g.color === false ? { color: false } : {});
  return createContext({
    manifest: g.manifest,
    ...(g.env ? { environment: g.env } : {}),
    verbose,
    policyEngine: g.policyEngine as PolicyEngineKind,
    term,
  });
}

/**
 * Commands that read or write one stack's state (its releases, tokens, lock,
 * rollout, history) without always loading the manifest: with environments
 * declared they need `-e` as deploy does, or they would act on a folder no
 * environment uses (found by a user trial: `token create` wrote a token no
 * `serve` reads, `releases` listed an empty folder).
 */
const STACK_SCOPED = new Set([
  "audit",
  "lock",
  "releases",
  "rollback",
  "rollout",
  "serve",
  "status",
  "teardown",
  "token",
]);

/** The top-level command of `cmd` (`token` for `token create`). */
function topCommand(cmd: Command): string {
  let c = cmd;
  while (c.parent && c.parent.parent) c = c.parent;
  return c.name();
}

/**
 * Refuses (exit 2, the manifest's own message naming the environments) a
 * stack-scoped command without `-e` when the manifest declares environments.
 * Any other problem with the manifest is left to the command to report.
 */
async function requireEnvironment(ctx: Context, cmd: Command): Promise<void> {
  if (ctx.environment !== undefined || !STACK_SCOPED.has(topCommand(cmd))) return;
  const { loadManifest } = await import("./manifest/mod.ts");
  try {
    await loadManifest(ctx.manifestArg);
  } catch (error) {
    if (
      error instanceof SwiftDeployError && error.code === "USAGE" &&
      /none was chosen/.test(error.message)
    ) throw error;
  }
}

function action<A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<number>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const ctx = ctxOf(cmd);
    // Every manifest this process loads is read for the chosen environment.
    if (ctx.environment) {
      (await import("./manifest/mod.ts")).selectManifest({ environment: ctx.environment });
    }
    await requireEnvironment(ctx, cmd);
    exitCode = await fn(ctx, ...(args.slice(0, -1) as A));
  };
}

program.command("init")
  .description("render nginx.conf, docker-compose.yml and policy_data.json from the manifest")
  .option("--check", "change nothing; exit 1 with a diff when a generated file is stale or edited")
  .action(
    action(async (ctx, o: { check?: boolean }) =>
      (await commands.init()).runInit(ctx, { check: Boolean(o.check) })
    ),
  );

program.command("validate")
  .description("pre-flight checks: manifest, fields, images, port, nginx -t, policy bundle, drift")
  .action(action(async (ctx) => (await commands.validate()).runValidate(ctx)));

program.command("deploy")
  .description("init → validate → infrastructure policy → create/replace containers → wait healthy")
  .option("--dry-run", "print the plan and the actions against the running engine; change nothing")
  .option("--timeout <seconds>", "health wait per container", positiveNumber("--timeout"), 60)
  .option("--retry", "deploy a spec a rollout rolled back (refused without it)")
  .option(
    "--ref <commit>",
    "build the app image from this commit of services.source, write it into the manifest, deploy it",
  )
  .addHelpText(
    "after",
    "\nWith rollout.strategy canary, a changed app starts beside the serving one and the\n" +
      "rollout's steps run (weights, pauses, analyses); exit 3 when the analysis rolls it back.",
  )
  .action(
    action(async (ctx, o: { dryRun?: boolean; timeout: number; retry?: boolean; ref?: string }) =>
      (await commands.lifecycle()).runDeploy(ctx, {
        dryRun: Boolean(o.dryRun),
        timeoutSeconds: o.timeout,
        retry: Boolean(o.retry),
        ...(o.ref !== undefined ? { ref: o.ref } : {}),
      })
    ),
  );

const rollout = program.command("rollout").description(
  "follow and steer a canary rollout (rollout.strategy: canary): status, pause, resume, promote, abort",
);
rollout.command("status")
  .description("the rollout as persisted, checked against nginx's routes and the engine")
  .option("--json", "print it as JSON")
  .action(
    action(async (ctx, o: { json?: boolean }) =>
      (await commands.lifecycle()).runRollout(ctx, "status", { json: Boolean(o.json) })
    ),
  );
rollout.command("abort")
  .description("roll back now: the canary's weight goes to 0, it drains and is removed")
  .option(
    "--force",
    "when the state file is damaged: set it aside (renamed, never deleted) so deploy can converge",
  )
  .action(
    action(async (ctx, o: { force?: boolean }) =>
      (await commands.lifecycle()).runRollout(ctx, "abort", { force: Boolean(o.force) })
    ),
  );
for (
  const [verb, what] of [
    ["pause", "hold the canary at its weight: the steps stop until `rollout resume`"],
    ["resume", "continue a paused rollout, or walk the steps of one whose process was stopped"],
    ["promote", "skip the remaining steps if the rollout policy allows it on a fresh window"],
  ] as const
) {
  rollout.command(verb)
    .description(what)
    .action(action(async (ctx) => (await commands.lifecycle()).runRollout(ctx, verb, {})));
}

program.command("promote")
  .description("switch services.mode with zero downtime, gated by the canary policy")
  .argument("<mode>", "canary or stable")
  .option("--dry-run", "print the actions against the running engine; gate and change nothing")
  .option(
    "--timeout <seconds>",
    "health wait for the new container",
    positiveNumber("--timeout"),
    60,
  )
  .action(
    action(async (ctx, mode: string, o: { dryRun?: boolean; timeout: number }) =>
      (await commands.lifecycle()).runPromote(ctx, mode, {
        dryRun: Boolean(o.dryRun),
        timeoutSeconds: o.timeout,
      })
    ),
  );

program.command("teardown")
  .description("remove this project's containers, network and volume (found by label)")
  .option("--clean", "also delete the generated files (the history is kept)")
  .action(
    action(async (ctx, o: { clean?: boolean }) =>
      (await commands.lifecycle()).runTeardown(ctx, { clean: Boolean(o.clean) })
    ),
  );

/** A release number argument: a whole number from 1 (exit 2 otherwise). */
function releaseNumber(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) {
    throw new SwiftDeployError("USAGE", `Invalid release number "${value}": expected 1, 2, …`, {
      exitCode: ExitCode.invalid,
      hint: "`swiftdeploy releases` lists them",
    });
  }
  return Number(value);
}

const releases = program.command("releases")
  .description(
    "the evidence bundle of every deploy, promote, rollout and rollback (.swiftdeploy/releases/)",
  )
  .option("--json", "the list as JSON")
  .addHelpText(
    "after",
    "\nEvery change that reached the engine leaves a numbered, content-addressed bundle:\n" +
      "good releases (rollback targets), failed ones (undone), blocked ones (a gate refused)\n" +
      "and aborted ones (an operator's `rollout abort`).\n" +
      "Layout: docs/releases.md. The history line of each change (deploy, deploy_failed,\n" +
      "rollout_completed, …) names its bundle in data.release: number, sha256 and status.",
  )
  .action(
    action(async (ctx, o: { json?: boolean }) =>
      (await commands.release()).runReleases(ctx, { json: Boolean(o.json) })
    ),
  );
releases.command("show <n>")
  .description(
    "one release: images and digests, containers, gates, decisions, verified against its hash",
  )
  .option("--json", "the record, its gates and the verification as JSON")
  .addHelpText(
    "after",
    "\nExit 1 when the bundle does not match its hash (a file changed or missing).",
  )
  .action(
    action(async (ctx, n: string, o: { json?: boolean }) =>
      (await commands.release()).runReleaseShow(ctx, releaseNumber(n), {
        // `releases --json` is the parent's option too: commander gives it to the parent
        json: Boolean(o.json || releases.opts().json),
      })
    ),
  );
releases.command("prune")
  .description(
    "remove images only older releases name; keeps those of the last releases.retain good ones",
  )
  .option("--dry-run", "print what would be kept and removed; remove nothing")
  .addHelpText(
    "after",
    "\nNever removed: an image of the last `releases.retain` (default 5) good releases, one any\n" +
      "container uses, one the manifest names now. Bundles are evidence and are all kept.",
  )
  .action(
    action(async (ctx, o: { dryRun?: boolean }) =>
      (await commands.release()).runReleasesPrune(ctx, { dryRun: Boolean(o.dryRun) })
    ),
  );

program.command("release")
  .description("act on one release across environments: promote")
  .command("promote <n>")
  .description(
    "deploy release N of the previous environment, the identical artefact, to --to <env>",
  )
  .requiredOption("--to <env>", "the environment to promote to (the one after the release's)")
  .option("--timeout <seconds>", "health wait per container", positiveNumber("--timeout"), 60)
  .addHelpText(
    "after",
    "\nN is a release of the environment before <env> in the manifest's `environments`. Its\n" +
      "manifest text and its images (by id) are deployed, so <env> runs what was tested.\n" +
      "The promotion policy (policies/promotion.rego) decides first: the release is good there,\n" +
      "still runs and soaked for that environment's soak time; production images never :latest\n" +
      "and pinned by digest; registries allowed; the same policy bundle; no freeze. Then the\n" +
      "deploy path's gates. Exit codes: 0 promoted, 1 failed, 2 no such environment or release,\n" +
      "3 denied by policy (the reasons are printed), 4 a change holds <env>. docs/environments.md",
  )
  .action(
    action(async (ctx, n: string, o: { to: string; timeout: number }) =>
      (await import("./commands/promote_release.ts")).runReleasePromote(ctx, releaseNumber(n), {
        to: o.to,
        timeoutSeconds: o.timeout,
      })
    ),
  );

program.command("rollback [n]")
  .description(
    "re-apply good release N (default: the one before the latest good) without rebuilding",
  )
  .option("--timeout <seconds>", "health wait per container", positiveNumber("--timeout"), 60)
  .addHelpText(
    "after",
    "\nRuns from the release's bundle alone (manifest.yaml may be edited or gone): its images by\n" +
      "id (a moved tag is pointed back), the deploy path's gates (validate, infrastructure\n" +
      "policy), start beside, healthy, switch, drain. The manifest file gets the release's text\n" +
      "(printed); with -e <env> it is shared and left unchanged (the bundle's text is applied).\n" +
      "Exit codes: 0 rolled back, 1 failed (the running stack keeps serving), 2 no such good\n" +
      "release or one of its images is gone (nothing touched), 3 denied by policy, 4 a change\n" +
      "or an active rollout holds the stack.",
  )
  .action(
    action(async (ctx, n: string | undefined, o: { timeout: number }) =>
      (await commands.release()).runRollback(
        ctx,
        n === undefined ? undefined : releaseNumber(n),
        { timeoutSeconds: o.timeout },
      )
    ),
  );

program.command("status")
  .description("live dashboard: throughput, error rate, P99, mode, chaos, policy compliance")
  .option("--interval <seconds>", "refresh interval", positiveNumber("--interval"), 5)
  .option("--once", "one refresh, then exit")
  .option("--json", "one JSON document per refresh")
  .action(
    action(async (ctx, o: { interval: number; once?: boolean; json?: boolean }) =>
      (await commands.status()).runStatus(ctx, {
        intervalSeconds: o.interval,
        once: Boolean(o.once),
        json: Boolean(o.json),
      })
    ),
  );

program.command("audit")
  .description("write audit_report.md (and its SVG chart) from history.jsonl")
  .option(
    "--verify",
    "only verify the history's chain and seals, saying what they detect; exit 1 naming the first bad line",
  )
  .action(
    action(async (ctx, o: { verify?: boolean }) =>
      (await commands.audit()).runAudit(ctx, { verifyOnly: Boolean(o.verify) })
    ),
  );

type BuildFlags = { only?: string; policyOnly?: boolean; push?: boolean; ref?: string };
program.command("build")
  .description(
    "compile the policies to WASM and build the nginx, OPA and app images; on target swarm push them to the registry",
  )
  .option("--only <roles>", "comma-separated subset of nginx,opa,app,prometheus")
  .option("--policy-only", "only the policy bundle")
  .option("--push", "push the images to the registry (always on target swarm); see registry:")
  .option("--ref <commit>", "only the app image, from this commit of services.source")
  .action(action(async (ctx, o: BuildFlags) => {
    const only = o.only?.split(",").map((s) => s.trim()) as ImageRole[] | undefined;
    for (const r of only ?? []) {
      if (!["nginx", "opa", "app", "prometheus"].includes(r)) {
        throw new SwiftDeployError(
          "USAGE",
          `Invalid --only: unknown image "${r}" (expected nginx, opa, app or prometheus)`,
          {
            exitCode: ExitCode.invalid,
          },
        );
      }
    }
    return (await commands.build()).runBuild(ctx, {
      ...(only ? { only } : {}),
      policyOnly: Boolean(o.policyOnly),
      push: Boolean(o.push),
      ...(o.ref !== undefined ? { ref: o.ref } : {}),
    });
  }));

const engine = program.command("engine").description("the Docker Engine this project uses");
engine.command("start").description("start dockerd (project-local data) unless an engine answers")
  .action(action(async (ctx) => (await commands.engine()).runEngineStart(ctx)));
engine.command("status").description("is an engine answering, and did this project start it")
  .option("--json", "machine-readable")
  .action(
    action(async (ctx, o: { json?: boolean }) =>
      (await commands.engine()).runEngineStatus(ctx, Boolean(o.json))
    ),
  );
engine.command("stop").description("stop the dockerd this project started (never another)")
  .action(action(async (ctx) => (await commands.engine()).runEngineStop(ctx)));

const lab = program.command("lab").description(
  "a three-node Docker Swarm in network namespaces, with a local registry (root; docs/lab.md)",
);
lab.command("up").description("bring the lab up, or report the running one")
  .action(action(async (ctx) => (await commands.lab()).runLabUp(ctx)));
lab.command("down").description("take the lab down, leaving nothing behind")
  .action(action(async (ctx) => (await commands.lab()).runLabDown(ctx)));
lab.command("status").description("the nodes as the manager sees them, the registry's /v2/")
  .option("--json", "machine-readable")
  .action(
    action(async (ctx, o: { json?: boolean }) =>
      (await commands.lab()).runLabStatus(ctx, Boolean(o.json))
    ),
  );

const policy = program.command("policy").description(
  "the Rego policies: evaluate, compare engines, test",
);
policy.command("eval")
  .description("print the decision of one domain for an input document")
  .argument("<domain>", "infrastructure, canary, rollout or promotion")
  .requiredOption("--input <file>", "JSON input document ('-' for stdin)")
  .action(
    action(async (ctx, domain: string, o: { input: string }) =>
      (await commands.policy()).runPolicyEval(ctx, domain, o.input)
    ),
  );
policy.command("parity")
  .description(
    "evaluate generated inputs with the WASM engine and the OPA sidecar; list mismatches",
  )
  .option("--samples <n>", "number of generated inputs", positiveNumber("--samples"), 1000)
  .option("--url <url>", "OPA sidecar URL (default: http://127.0.0.1:<opa.port>)")
  .action(
    action(async (ctx, o: { samples: number; url?: string }) =>
      (await commands.policy()).runPolicyParity(ctx, o.samples, o.url)
    ),
  );
policy.command("test").description("run the Rego unit tests with the real opa, with coverage")
  .action(action(async (ctx) => (await commands.policy()).runPolicyTest(ctx)));

program.command("serve")
  .description(
    "the admin API (/v1, bearer tokens) on a unix socket beside the state, and on loopback HTTP with --http",
  )
  .option("--http <host:port>", "also listen on this loopback address (127.0.0.1:PORT, [::1]:PORT)")
  .option(
    "--status-interval <seconds>",
    "seconds between status refreshes (GET /v1/status, status events)",
    positiveNumber("--status-interval"),
    5,
  )
  .option(
    "--stop-grace <seconds>",
    "on SIGTERM, seconds running operations get to finish before they are sent SIGTERM",
    positiveNumber("--stop-grace"),
    120,
  )
  .addHelpText(
    "after",
    "\nSocket: .swiftdeploy/serve.sock beside the manifest (0600). Routes: docs/api.md.",
  )
  .action(
    action(async (ctx, o: { http?: string; statusInterval: number; stopGrace: number }) =>
      (await commands.serve()).runServe(ctx, {
        ...(o.http !== undefined ? { http: o.http } : {}),
        statusInterval: o.statusInterval,
        stopGrace: o.stopGrace,
      })
    ),
  );

const token = program.command("token").description(
  "bearer tokens of the admin API (swiftdeploy serve): create, list, revoke",
);
token.command("create")
  .description(
    "create a token and print it once (only its SHA-256 is kept, in .swiftdeploy/tokens.json)",
  )
  .requiredOption(
    "--name <name>",
    "a name for the token; the history records changes as token:<name>",
  )
  .requiredOption("--scope <scope>", "read (GET routes, events) or deploy (also every change)")
  .action(
    action(async (ctx, o: { name: string; scope: string }) =>
      (await commands.token()).runTokenCreate(ctx, o)
    ),
  );
token.command("list").description("the tokens: name, scope, created, revoked (never a token)")
  .option("--json", "machine-readable")
  .action(
    action(async (ctx, o: { json?: boolean }) =>
      (await commands.token()).runTokenList(ctx, { json: Boolean(o.json) })
    ),
  );
token.command("revoke").description("revoke a token: the server refuses it (401) from then on")
  .argument("<name>", "the token's name")
  .action(
    action(async (ctx, name: string) => (await commands.token()).runTokenRevoke(ctx, name)),
  );

const lock = program.command("lock").description("the per-deployment change lock");
lock.command("status").description("who holds the lock").action(
  action(async (ctx) => (await commands.lock()).runLockStatus(ctx)),
);
lock.command("release")
  .description("clear the record a killed change left; a held lock ends only with its holder")
  .action(action(async (ctx) => (await commands.lock()).runLockRelease(ctx)));

program.command("demo")
  .description(
    "the whole story on the default manifest: build → deploy → canary → chaos → gates → audit → teardown",
  )
  .option("--keep", "do not tear the stack down at the end")
  .option(
    "--swarm",
    "the swarm story on the three-node lab instead (root): lab up → build → deploy → rolling update → teardown",
  )
  .action(
    action(async (ctx, o: { keep?: boolean; swarm?: boolean }) =>
      o.swarm
        ? (await import("./commands/demo_swarm.ts")).runDemoSwarm(ctx, { keep: Boolean(o.keep) })
        : (await commands.demo()).runDemo(ctx, { keep: Boolean(o.keep) })
    ),
  );

program.command("test")
  .description("run the whole test suite (source checkout only)")
  .argument("[filters...]", "test files or folders")
  .action(async (filters: string[]) => {
    const home = installHome();
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        join(home, "deno.json"),
        join(home, "tests", "run.ts"),
        ...filters,
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    exitCode = code;
  });

function report(error: unknown): number {
  const term = createTerminal();
  if (error instanceof CommanderError) {
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
    if (error.code === "commander.help") return 0;
    return ExitCode.invalid;
  }
  if (error instanceof ManifestError) {
    term.err(
      `${term.red("error:")} invalid manifest (${error.issues.length} problem${
        error.issues.length === 1 ? "" : "s"
      }):`,
    );
    for (const issue of error.issues) {
      term.err(
        `  ${issue.file}:${issue.line}:${issue.col} ${
          issue.path ? `${issue.path}: ` : ""
        }${issue.message}`,
      );
    }
    if (error.hint) term.err(`${term.yellow("hint:")} ${error.hint}`);
    if (verbose && error.stack) term.err(error.stack);
    return error.exitCode;
  }
  if (error instanceof SwiftDeployError) {
    term.err(`${term.red("error:")} ${error.message}`);
    if (error.hint) term.err(`${term.yellow("hint:")} ${error.hint}`);
    if (verbose) {
      if (error.stack) term.err(error.stack);
      if (error.cause) {
        term.err(
          `cause: ${error.cause instanceof Error ? error.cause.stack : String(error.cause)}`,
        );
      }
    }
    return error.exitCode;
  }
  // The reader went away (`status --once | head`): nothing to report to it.
  if (error instanceof Deno.errors.BrokenPipe) return ExitCode.ok;
  term.err(`${term.red("error:")} ${error instanceof Error ? error.message : String(error)}`);
  term.err(
    `${term.yellow("hint:")} this is a bug in SwiftDeploy; run again with --verbose and report it`,
  );
  if (verbose && error instanceof Error && error.stack) term.err(error.stack);
  return ExitCode.failure;
}

if (import.meta.main) {
  try {
    if (Deno.args.length === 0) {
      program.outputHelp();
    } else {
      await program.parseAsync(Deno.args, { from: "user" });
    }
  } catch (error) {
    exitCode = report(error);
  }
  Deno.exit(exitCode);
}
