/**
 * `lab up|down|status`: a three-node Docker Swarm (manager + 2 workers) in
 * network namespaces on this machine, with a local registry on the bridge
 * that joins them. Shell; the shape is cli/lab/_layout.ts.
 */
import { EngineClient, type SwarmNode } from "../engine/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import {
  daemonConfig,
  describeLeftovers,
  type LabLayout,
  labLayout,
  type Leftovers,
  networkUpCommands,
  REGISTRY_PORT,
  registryConfig,
  SWARM_PORT,
} from "./_layout.ts";
import {
  type CommandResult,
  isAlive,
  labProcesses,
  leftovers,
  livePid,
  mustRun,
  presentCgroups,
  presentMounts,
  presentNamespaces,
  runCommand,
  startDetached,
  which,
} from "./_host.ts";

/** One node of a running lab, as the state file records it. */
export interface LabNode {
  /** 1-based: node 1 is the manager. */
  index: number;
  /** Network namespace and host name, e.g. "sd-node1". */
  name: string;
  role: "manager" | "worker";
  /** The node's IPv4 address on the lab subnet. */
  address: string;
  /** The network namespace file, for `nsenter --net=…`. */
  namespace: string;
  /** The node's Engine API socket (path). */
  socket: string;
  /** The same as a DOCKER_HOST value: `unix://…`. */
  dockerHost: string;
}

/** The state file of a running lab (`/run/swiftdeploy-lab/lab.json`). */
export interface Lab {
  version: 1;
  /** 0 for the default lab, 1–9 for one beside it (SWIFTDEPLOY_LAB). */
  instance: number;
  /** ISO 8601, when `lab up` finished. */
  createdAt: string;
  /** The lab's IPv4 subnet, CIDR. */
  subnet: string;
  /** Network namespace of the bridge and the node-facing registry. */
  bridgeNamespace: string;
  /** The host's veth into the bridge and its address: the host reaches nodes directly. */
  host: { link: string; address: string };
  nodes: LabNode[];
  /**
   * The registry, `host:port` as each side reaches it. `node` is what the
   * nodes pull from (on the bridge; every node lists it as an insecure
   * registry); `host` is a loopback address in the host namespace, which any
   * Docker Engine on the host may push to over plain HTTP (127.0.0.0/8 is
   * insecure by default). Both serve the same storage: a push to one is a
   * pull from the other, by the same digest.
   */
  registry: { node: string; host: string };
  swarm: { clusterId: string; managerAddress: string };
  /** Wall-clock seconds `lab up` took. */
  upSeconds: number;
}

/** Progress lines go here (stderr in the CLI). */
export type LabLog = (line: string) => void;

/**
 * The layout of the lab this process works on: instance 0, or the one
 * `SWIFTDEPLOY_LAB` names (1–9; a test's own lab beside the default one).
 *
 * @throws SwiftDeployError USAGE (exit 2) when SWIFTDEPLOY_LAB is not 0–9
 */
export function currentLayout(): LabLayout {
  const raw = Deno.env.get("SWIFTDEPLOY_LAB");
  if (raw === undefined || raw === "") return labLayout(0);
  const n = Number(raw);
  if (!/^\d$/.test(raw)) {
    throw new SwiftDeployError(
      "USAGE",
      `Invalid SWIFTDEPLOY_LAB "${raw}": must be a lab instance from 0 to 9`,
      { exitCode: ExitCode.invalid },
    );
  }
  return labLayout(n);
}

/**
 * Refuses `lab <verb>` for a process that is not root (`uid`, default this
 * process's).
 *
 * @throws SwiftDeployError LAB_NOT_ROOT (exit 1)
 */
export function requireRoot(verb: string, uid: number | null = Deno.uid()): void {
  if (uid !== 0) {
    throw new SwiftDeployError(
      "LAB_NOT_ROOT",
      `Cannot run \`lab ${verb}\`: the lab needs root (network namespaces, veths, dockerd)`,
      { hint: `run it as root, e.g. \`sudo ./swiftdeploy lab ${verb}\`` },
    );
  }
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

async function timed<T>(log: LabLog, label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  log(`${label} (${secs(performance.now() - t0)})`);
  return out;
}

/**
 * The state file of the lab, or undefined when no lab is up (no file).
 *
 * @throws SwiftDeployError LAB_FAILED when the file exists but is not a lab state
 */
export async function readLab(layout: LabLayout = currentLayout()): Promise<Lab | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(layout.stateFile);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    const lab = JSON.parse(text) as Lab;
    if (lab.version !== 1 || !Array.isArray(lab.nodes)) throw new Error("not a lab state");
    return lab;
  } catch (error) {
    throw new SwiftDeployError(
      "LAB_FAILED",
      `Cannot read the lab state "${layout.stateFile}": ${(error as Error).message}`,
      { hint: "run `swiftdeploy lab down` to remove what is left, then `lab up`", cause: error },
    );
  }
}

/**
 * A lab node's Engine API socket path. `index` is 1-based (1 = the manager).
 *
 * @throws RangeError when the lab has no such node
 */
export function labNodeSocket(lab: Lab, index: number): string {
  const node = lab.nodes.find((n) => n.index === index);
  if (!node) {
    throw new RangeError(`The lab has no node ${index} (nodes are 1 to ${lab.nodes.length})`);
  }
  return node.socket;
}

/** The registry: `node` as the nodes reach it, `host` as the host (and its engine) does. */
export function labRegistry(lab: Lab): { node: string; host: string } {
  return { ...lab.registry };
}

/** An Engine API client on a lab node's socket (1-based index; 1 = the manager). */
export function labNodeClient(lab: Lab, index: number): Promise<EngineClient> {
  return EngineClient.connect({ dockerHost: `unix://${labNodeSocket(lab, index)}` });
}

/**
 * Runs `argv` inside a lab namespace's network (1-based node index, or a
 * namespace name such as the lab's `bridgeNamespace`), e.g. an HTTP check
 * "from another host": `labExec(lab, 2, ["curl", "-s", "http://198.18.47.11:8080/"])`.
 * The command keeps the host's file system and mount namespace. Never
 * throws for a non-zero exit: read `code`.
 */
export function labExec(
  lab: Lab,
  where: number | string,
  argv: string[],
  opts: { stdin?: string } = {},
): Promise<CommandResult> {
  const ns = typeof where === "number"
    ? lab.nodes.find((n) => n.index === where)?.namespace
    : `/run/netns/${where}`;
  if (!ns) throw new RangeError(`The lab has no node ${where}`);
  return runCommand("nsenter", [`--net=${ns}`, "--", ...argv], opts);
}

/**
 * Polls `probe` every 100 ms until it gives a value. Fails at `timeoutMs`,
 * or at once when `alive` says the process being waited for has exited;
 * either way with `detail` (the process's last log lines) in the message,
 * since a failed `up` removes the logs with everything else.
 */
async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  opts: { detail?: () => Promise<string>; alive?: () => Promise<boolean> } = {},
): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  let exited = false;
  while (Date.now() < t0 + timeoutMs) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (error) {
      last = error;
    }
    if (opts.alive && !(await opts.alive())) {
      exited = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const extra = opts.detail ? await opts.detail().catch(() => "") : "";
  throw new SwiftDeployError(
    "LAB_FAILED",
    `Cannot bring the lab up: ${what}: ${
      exited
        ? `it exited after ${((Date.now() - t0) / 1000).toFixed(1)} s`
        : `no answer after ${timeoutMs / 1000} s`
    }${last instanceof Error && !exited ? ` (${last.message})` : ""}${
      extra ? `; its last log lines:\n${extra}` : ""
    }`,
    {
      hint:
        "everything the failed `lab up` built was taken down again; fix the cause, then run it again",
    },
  );
}

async function tail(file: string, lines = 5): Promise<string> {
  try {
    return (await Deno.readTextFile(file)).trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

async function registryAnswers(addr: string): Promise<number | undefined> {
  const res = await fetch(`http://${addr}/v2/`, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  return res.status === 200 ? res.status : undefined;
}

function freeLoopbackPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

function nonEmpty(l: Leftovers): boolean {
  return Object.values(l).some((v) => (v as unknown[]).length > 0);
}

/** What `lab up` did. */
export interface LabUpResult {
  lab: Lab;
  /** The lab was already up and healthy; nothing was changed. */
  alreadyUp: boolean;
}

/**
 * Brings the three-node lab up, or reports the running one. A recorded lab
 * that is not healthy, or pieces of one with no record, are taken down
 * first. On any failure everything built so far is taken down again before
 * the error is thrown, so a failed `up` leaves nothing behind.
 *
 * @throws SwiftDeployError LAB_NOT_ROOT (exit 1) when not root; TOOL_MISSING
 *   when ip, nsenter, unshare, setsid, dockerd or docker-registry is missing;
 *   LAB_FAILED when a step fails (the message names it)
 */
export async function labUp(
  log: LabLog,
  layout: LabLayout = currentLayout(),
): Promise<LabUpResult> {
  requireRoot("up");
  const missing = ["ip", "nsenter", "unshare", "setsid", "dockerd", "docker-registry"].filter(
    (t) => !which(t),
  );
  if (missing.length) {
    throw new SwiftDeployError(
      "TOOL_MISSING",
      `Cannot bring the lab up: ${missing.map((m) => `"${m}"`).join(", ")} not installed`,
      { hint: "run build/bootstrap.sh (Debian: iproute2, util-linux, docker.io, docker-registry)" },
    );
  }
  const existing = await readLab(layout).catch(() => undefined);
  if (existing) {
    const problems = await labProblems(existing, layout);
    if (problems.length === 0) return { lab: existing, alreadyUp: true };
    log(`the recorded lab is not healthy (${problems.join("; ")}): taking it down first`);
    await labDown(log, layout);
  } else if (nonEmpty(await leftovers(layout))) {
    log("pieces of an earlier lab are present: taking them down first");
    await labDown(log, layout);
  }
  const clash = (await runCommand("ip", ["-4", "-o", "route", "show", "to", "root", layout.subnet]))
    .stdout.trim();
  if (clash) {
    throw new SwiftDeployError(
      "LAB_FAILED",
      `Cannot bring the lab up: the host already routes part of ${layout.subnet}: ${clash}`,
      { hint: "remove that route or network; the lab's subnet is fixed (cli/lab/_layout.ts)" },
    );
  }

  const t0 = performance.now();
  try {
    const lab = await build(log, layout);
    lab.upSeconds = Math.round((performance.now() - t0) / 10) / 100;
    const tmp = `${layout.stateFile}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(lab, null, 2) + "\n", { mode: 0o644 });
    await Deno.rename(tmp, layout.stateFile);
    return { lab, alreadyUp: false };
  } catch (error) {
    log(`lab up failed: taking down what was built`);
    await labDown(() => {}, layout).catch(() => {});
    throw error;
  }
}

async function build(log: LabLog, layout: LabLayout): Promise<Lab> {
  await timed(
    log,
    `network: namespaces ${layout.bridgeNs}, ${
      layout.nodes.map((n) => n.name).join(", ")
    }, bridge ${layout.bridge} ${layout.subnet}, host veth ${layout.hostLink} ${layout.hostAddress}`,
    async () => {
      for (const args of networkUpCommands(layout)) await mustRun("ip", args);
    },
  );

  const hostRegistryPort = freeLoopbackPort();
  const nodeRegistry = `${layout.bridgeAddress}:${REGISTRY_PORT}`;
  const hostRegistry = `127.0.0.1:${hostRegistryPort}`;
  await Deno.mkdir(layout.runDir, { recursive: true, mode: 0o755 });
  await Deno.mkdir(layout.dataDir, { recursive: true, mode: 0o700 });
  await Deno.mkdir(layout.registry.storage, { recursive: true, mode: 0o700 });
  for (const node of layout.nodes) {
    await Deno.mkdir(node.dir, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(
      node.configFile,
      JSON.stringify(daemonConfig(layout, node), null, 2) + "\n",
      { mode: 0o600 },
    );
  }
  await Deno.writeTextFile(
    layout.registry.node.configFile,
    JSON.stringify(registryConfig(layout.registry.storage, nodeRegistry)) + "\n",
    { mode: 0o600 },
  );
  await Deno.writeTextFile(
    layout.registry.host.configFile,
    JSON.stringify(registryConfig(layout.registry.storage, hostRegistry)) + "\n",
    { mode: 0o600 },
  );

  // One HTTP secret for both instances, in their environment only.
  const secret = Array.from(crypto.getRandomValues(new Uint8Array(32)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const registry = which("docker-registry")!;
  const dockerd = which("dockerd")!;
  await timed(
    log,
    `registry: ${nodeRegistry} for the nodes, ${hostRegistry} for the host`,
    async () => {
      await startDetached({
        argv: [registry, "serve", layout.registry.node.configFile],
        netns: layout.bridgeNs,
        pidFile: layout.registry.node.pidFile,
        logFile: layout.registry.node.logFile,
        env: { REGISTRY_HTTP_SECRET: secret },
      });
      await startDetached({
        argv: [registry, "serve", layout.registry.host.configFile],
        pidFile: layout.registry.host.pidFile,
        logFile: layout.registry.host.logFile,
        env: { REGISTRY_HTTP_SECRET: secret },
      });
      await Promise.all([
        waitFor(`the registry at ${nodeRegistry}`, 15_000, () => registryAnswers(nodeRegistry), {
          detail: () => tail(layout.registry.node.logFile),
          alive: async () => (await livePid(layout.registry.node.pidFile)) !== undefined,
        }),
        waitFor(`the registry at ${hostRegistry}`, 15_000, () => registryAnswers(hostRegistry), {
          detail: () => tail(layout.registry.host.logFile),
          alive: async () => (await livePid(layout.registry.host.pidFile)) !== undefined,
        }),
      ]);
    },
  );

  const clients = await timed(
    log,
    "dockerd: 3 daemons ready",
    () =>
      Promise.all(layout.nodes.map(async (node) => {
        const t = performance.now();
        const launcher = `${node.dir}/launcher.pid`;
        await Deno.remove(node.socket).catch(() => {});
        await startDetached({
          argv: [dockerd, "--config-file", node.configFile],
          netns: node.name,
          hostname: node.name,
          pidFile: launcher,
          logFile: node.logFile,
        });
        const client = await waitFor(
          `dockerd of ${node.name} on ${node.socket}`,
          30_000,
          async () => {
            if (!(await Deno.stat(node.socket).catch(() => undefined))) return undefined;
            return await EngineClient.connect({ dockerHost: `unix://${node.socket}` });
          },
          {
            detail: () => tail(node.logFile),
            alive: async () => (await livePid(launcher)) !== undefined,
          },
        );
        log(`  ${node.name} (${node.address}) dockerd ready in ${secs(performance.now() - t)}`);
        return client;
      })),
  );

  const [manager, ...workers] = clients;
  const managerNode = layout.nodes[0]!;
  const managerAddress = `${managerNode.address}:${SWARM_PORT}`;
  const clusterId = await timed(
    log,
    `swarm: init on ${managerNode.name}, 2 workers joined`,
    async () => {
      await manager!.swarmInit({ ListenAddr: managerAddress, AdvertiseAddr: managerAddress });
      const swarm = await manager!.swarmInspect();
      await Promise.all(workers.map((w, i) => {
        const node = layout.nodes[i + 1]!;
        return w.swarmJoin({
          ListenAddr: `${node.address}:${SWARM_PORT}`,
          AdvertiseAddr: `${node.address}:${SWARM_PORT}`,
          RemoteAddrs: [managerAddress],
          JoinToken: swarm.JoinTokens.Worker,
        });
      }));
      await waitFor("3 Ready nodes", 30_000, async () => {
        const nodes = await manager!.nodeList();
        return nodes.length === 3 && nodes.every((n) => n.Status.State === "ready")
          ? nodes
          : undefined;
      });
      return swarm.ID;
    },
  );

  return {
    version: 1,
    instance: layout.instance,
    createdAt: new Date().toISOString(),
    subnet: layout.subnet,
    bridgeNamespace: layout.bridgeNs,
    host: { link: layout.hostLink, address: layout.hostAddress },
    nodes: layout.nodes.map((n) => ({
      index: n.index,
      name: n.name,
      role: n.role,
      address: n.address,
      namespace: `/run/netns/${n.name}`,
      socket: n.socket,
      dockerHost: `unix://${n.socket}`,
    })),
    registry: { node: nodeRegistry, host: hostRegistry },
    swarm: { clusterId, managerAddress },
    upSeconds: 0,
  };
}

/** What is wrong with a recorded lab: a dead daemon or registry (empty: healthy). */
async function labProblems(lab: Lab, layout: LabLayout): Promise<string[]> {
  const problems: string[] = [];
  for (const node of layout.nodes) {
    if (!(await livePid(node.pidFile))) problems.push(`dockerd of ${node.name} is not running`);
  }
  for (
    const [side, inst] of [["node", layout.registry.node], ["host", layout.registry.host]] as const
  ) {
    if (!(await livePid(inst.pidFile))) problems.push(`the ${side}-facing registry is not running`);
  }
  if (problems.length === 0 && (await presentNamespaces(layout)).length !== 1 + lab.nodes.length) {
    problems.push("a network namespace is missing");
  }
  return problems;
}

function signalAll(pids: number[], signal: Deno.Signal): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, signal);
    } catch { /* gone */ }
  }
}

async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids;
  while (alive.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const still: number[] = [];
    for (const pid of alive) if (await isAlive(pid)) still.push(pid);
    alive = still;
  }
  return alive;
}

/** What `lab down` did. */
export interface LabDownResult {
  /** Something of a lab was present and is gone now. */
  removed: boolean;
}

/**
 * Takes the lab down and leaves nothing behind: the state file first (so a
 * reader sees no lab at once), then SIGTERM to the daemons and registries
 * (SIGKILL after 15 s), SIGKILL to any process still in a lab namespace or
 * cgroup, the lab's mounts, namespaces (with their bridge and veths), the
 * host's veth, the nodes' cgroups and the folders. Then it checks.
 *
 * @throws SwiftDeployError LAB_NOT_ROOT when not root; LAB_FAILED listing
 *   what is still present when something could not be removed
 */
export async function labDown(
  log: LabLog,
  layout: LabLayout = currentLayout(),
): Promise<LabDownResult> {
  requireRoot("down");
  const before = await leftovers(layout);
  if (!nonEmpty(before)) return { removed: false };
  await Deno.remove(layout.stateFile).catch(() => {});

  await timed(log, "daemons and registries stopped", async () => {
    const pids: number[] = [];
    for (
      const f of [
        ...layout.nodes.map((n) => n.pidFile),
        layout.registry.node.pidFile,
        layout.registry.host.pidFile,
      ]
    ) {
      const pid = await livePid(f);
      if (pid !== undefined) pids.push(pid);
    }
    signalAll(pids, "SIGTERM");
    const stubborn = await waitGone(pids, 15_000);
    if (stubborn.length) {
      log(`  SIGKILL to ${stubborn.join(", ")} (still running 15 s after SIGTERM)`);
      signalAll(stubborn, "SIGKILL");
      await waitGone(stubborn, 5_000);
    }
    for (let round = 0; round < 5; round++) {
      const rest = (await labProcesses(layout)).map((p) => p.pid);
      if (!rest.length) break;
      if (round === 0) log(`  SIGKILL to ${rest.length} leftover process(es)`);
      signalAll(rest, "SIGKILL");
      await waitGone(rest, 3_000);
    }
  });

  await timed(log, "mounts, namespaces, links, cgroups and folders removed", async () => {
    for (const m of await presentMounts(layout)) {
      if (m.startsWith("/run/netns/")) continue; // `ip netns delete` unmounts these
      const r = await runCommand("umount", [m]);
      if (r.code !== 0) await runCommand("umount", ["-l", m]);
    }
    for (const ns of await presentNamespaces(layout)) {
      await runCommand("ip", ["netns", "delete", ns]);
    }
    const link = await runCommand("ip", ["-o", "link", "show", "dev", layout.hostLink]);
    if (link.code === 0) await runCommand("ip", ["link", "delete", layout.hostLink]);
    await removeEmptyNetnsDir();
    for (const dir of await presentCgroups(layout)) {
      await Deno.remove(dir).catch(() => {});
    }
    for (const dir of [layout.runDir, layout.dataDir]) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });

  const after = await leftovers(layout);
  if (nonEmpty(after)) {
    throw new SwiftDeployError(
      "LAB_FAILED",
      `Cannot take the lab down completely; still present:\n  ${
        describeLeftovers(after).join("\n  ")
      }`,
      { hint: "run `swiftdeploy lab down` again; a busy mount or process may need a moment" },
    );
  }
  return { removed: true };
}

/**
 * `ip netns add` mounts /run/netns on itself (shared) when it makes it.
 * With no namespace left in it, that mount and the folder go too.
 */
async function removeEmptyNetnsDir(): Promise<void> {
  try {
    for await (const _ of Deno.readDir("/run/netns")) return;
  } catch {
    return;
  }
  const mounts = await Deno.readTextFile("/proc/self/mountinfo");
  if (mounts.split("\n").some((l) => l.split(" ")[4] === "/run/netns")) {
    await runCommand("umount", ["/run/netns"]);
  }
  await Deno.remove("/run/netns").catch(() => {});
}

/** What `lab status` shows. */
export interface LabStatus {
  lab: Lab;
  /** The swarm's nodes as the manager sees them (GET /nodes). */
  nodes: {
    hostname: string;
    role: string;
    availability: string;
    state: string;
    leader: boolean;
    address: string;
  }[];
  /** The registry's answer to GET /v2/ at each address (HTTP status, or the error). */
  registry: { node: string; host: string };
}

async function v2(addr: string): Promise<string> {
  try {
    const res = await fetch(`http://${addr}/v2/`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.text()).trim();
    return `HTTP ${res.status} ${body}`;
  } catch (error) {
    return `no answer (${(error as Error).message})`;
  }
}

/**
 * The running lab's nodes (from the manager) and the registry's `/v2/`
 * answers; undefined when no lab is up.
 */
export async function labStatus(
  layout: LabLayout = currentLayout(),
): Promise<LabStatus | undefined> {
  const lab = await readLab(layout);
  if (!lab) return undefined;
  const manager = await labNodeClient(lab, 1);
  const nodes: SwarmNode[] = await manager.nodeList();
  return {
    lab,
    nodes: nodes.map((n) => ({
      hostname: n.Description.Hostname,
      role: n.Spec.Role,
      availability: n.Spec.Availability,
      state: n.Status.State,
      leader: n.ManagerStatus?.Leader === true,
      address: n.Status.Addr ?? "",
    })).sort((a, b) => a.hostname.localeCompare(b.hostname)),
    registry: { node: await v2(lab.registry.node), host: await v2(lab.registry.host) },
  };
}

export { leftovers };
