/**
 * Helpers for the swarm tests (tests/swarm_test.ts): the lab (scope L's
 * `readLab`/`labUp`), images pushed to the lab's registry by digest, a
 * throwaway deployment folder with `target: swarm`, and the in-process
 * lifecycle calls on it.
 */
import { join } from "node:path";
import { createContext } from "../cli/commands/context.ts";
import { EngineClient } from "../cli/engine/mod.ts";
import { type Lab, labUp, readLab } from "../cli/lab/mod.ts";
import { createTar } from "../cli/tar/mod.ts";
import { createTerminal } from "../cli/term/mod.ts";
import { freePort, HOME, runCli, type RunResult } from "./_harness.ts";

/** The running lab, brought up when none is; `owned` says whether this run brought it up. */
export async function ensureLab(): Promise<{ lab: Lab; owned: boolean }> {
  const running = await readLab();
  if (running) return { lab: running, owned: false };
  const { lab } = await labUp(() => {});
  return { lab, owned: true };
}

/** The host's engine (where `swiftdeploy build` put the images). */
export function hostEngine(): Promise<EngineClient> {
  return EngineClient.connect({ dockerHost: Deno.env.get("DOCKER_HOST") });
}

async function stream(res: Response): Promise<Record<string, unknown>[]> {
  const text = await res.text();
  const out = text.split("\n").filter((l) => l.trim()).map((l) =>
    JSON.parse(l) as Record<string, unknown>
  );
  const error = out.find((m) => m.error || m.errorDetail);
  if (error) throw new Error(`engine stream error: ${JSON.stringify(error)}`);
  return out;
}

/**
 * Pushes a local image of the host engine to the lab's registry (through its
 * host-facing address) and returns how the nodes pull it, by digest:
 * `<registry for nodes>/<repo>@sha256:…`.
 */
export async function pushToLab(
  engine: EngineClient,
  lab: Lab,
  local: string,
  repo: string,
): Promise<string> {
  const tag = "t" + crypto.randomUUID().slice(0, 8);
  const target = `${lab.registry.host}/${repo}`;
  await engine.imageTag(local, target, tag);
  const res = await engine.request("POST", `/images/${encodeURIComponent(target)}/push`, {
    query: { tag },
    headers: { "X-Registry-Auth": btoa("{}") },
    timeoutMs: 120_000,
  });
  const lines = await stream(res);
  const digest = lines.map((l) => (l.aux as { Digest?: string } | undefined)?.Digest).find(
    Boolean,
  );
  await engine.imageRemove(`${target}:${tag}`).catch(() => {});
  if (!digest) throw new Error(`push of ${local} gave no digest: ${JSON.stringify(lines.at(-1))}`);
  return `${lab.registry.node}/${repo}@${digest}`;
}

/**
 * Builds, on the host engine, an image FROM `base` whose entrypoint never
 * serves (busybox sleep): its healthcheck never passes. Returns its tag.
 */
export async function buildNeverHealthy(engine: EngineClient, base: string): Promise<string> {
  const dockerfile = `FROM ${base}\nENTRYPOINT ["/bin/busybox", "sleep", "100000"]\nCMD []\n`;
  const tar = createTar([
    { type: "file", name: "Dockerfile", data: new TextEncoder().encode(dockerfile) },
  ]);
  const tag = "swiftdeploy-never-healthy:test";
  await engine.imageBuild(tar, [tag], () => {});
  return tag;
}

export interface SwarmStack {
  dir: string;
  manifestPath: string;
  project: string;
  port: number;
  /** Writes the manifest with these app settings. */
  write(
    o: {
      version: string;
      image?: string;
      replicas?: number;
      proxyTimeout?: number;
      minDiskFreeGb?: number;
    },
  ): Promise<void>;
  ctx(): ReturnType<typeof createContext>;
  /** Lines the lifecycle printed since the last `take()`. */
  take(): string[];
}

/** A deployment folder for `target: swarm` on the lab (its own project and port). */
export async function swarmStack(
  lab: Lab,
  images: { app: string; nginx: string; opa: string },
  project: string,
  port: number,
): Promise<SwarmStack> {
  const dir = await Deno.makeTempDir({ prefix: `${project}-` });
  const manifestPath = join(dir, "manifest.yaml");
  const manager = lab.nodes.find((n) => n.role === "manager")!;
  let lines: string[] = [];
  const term = createTerminal({ color: false });
  const captured = {
    ...term,
    out: (l = "") => void lines.push(l),
    err: (l = "") => void lines.push(l),
  };
  return {
    dir,
    manifestPath,
    project,
    port,
    async write(o) {
      await Deno.writeTextFile(
        manifestPath,
        `project: ${project}
target: swarm
services:
  image: "${o.image ?? images.app}"
  port: 3000
  version: "${o.version}"
  replicas: ${o.replicas ?? 3}
  placement:
    spread: node.hostname
  update:
    monitor: 3s
nginx:
  image: "${images.nginx}"
  port: ${port}
  proxy_timeout: ${o.proxyTimeout ?? 30}
opa:
  image: "${images.opa}"
  port: ${port + 1}
policy_limits:
  infrastructure:
    min_disk_free_gb: ${o.minDiskFreeGb ?? 1}
    max_cpu_load: 64
    min_mem_free_percent: 1
`,
      );
    },
    ctx() {
      Deno.env.set("SWIFTDEPLOY_HOME", HOME);
      const c = createContext({
        manifest: manifestPath,
        verbose: false,
        policyEngine: "wasm",
        term: captured,
      });
      return { ...c, env: { dockerHost: manager.dockerHost } };
    },
    take() {
      const out = lines;
      lines = [];
      return out;
    },
  };
}

/** A deployment folder for the real CLI on the lab: `target: swarm`, 3 app replicas. */
export interface CliSwarmFolder {
  project: string;
  /** nginx's published port on the manager. */
  port: number;
  dir: string;
  manifest: string;
  /** Runs the CLI with `-f <manifest>` and no DOCKER_HOST (the lab's manager is found). */
  run(args: string[]): Promise<RunResult>;
}

/**
 * Writes a swarm manifest (3 replicas, loose host limits, `extra` YAML
 * appended under `policy_limits:`) in a fresh folder named after a project
 * `<prefix><6 hex>`, on free ports.
 */
export async function cliSwarmFolder(prefix: string, extra = ""): Promise<CliSwarmFolder> {
  const project = `${prefix}${crypto.randomUUID().slice(0, 6)}`;
  const port = freePort();
  // The tests call /chaos from the lab's host, which stands for the
  // operator's machine: the manifest opens the private paths to it, on purpose.
  const lab = await readLab();
  const privateSources = lab ? `\n  private_sources: ["${lab.host.address}"]` : "";
  const dir = await Deno.makeTempDir({ prefix: `${project}-` });
  const manifest = join(dir, "manifest.yaml");
  await Deno.writeTextFile(
    manifest,
    `project: ${project}
target: swarm
services:
  image: swift-deploy-1-node:latest
  port: 3000
  version: "1.0.0"
  replicas: 3
nginx:
  image: nginx:latest
  port: ${port}${privateSources}
opa:
  image: openpolicyagent/opa:latest-static
  port: ${freePort()}
policy_limits:
  infrastructure:
    min_disk_free_gb: 1
    max_cpu_load: 64
    min_mem_free_percent: 1
${extra}`,
  );
  const env = { DOCKER_HOST: "" };
  return {
    project,
    port,
    dir,
    manifest,
    run: (args) => runCli(["-f", manifest, ...args], { env }),
  };
}
