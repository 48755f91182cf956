/**
 * The three-node swarm lab as data: names, addresses, paths, each node's
 * dockerd configuration, the registry's configuration and the `ip` commands
 * that build the network. Pure: nothing here touches the machine, so the
 * whole shape is unit-tested without root (cli/lab/layout_test.ts).
 *
 * The network (see docs/lab.md):
 *
 *   host ns ── sd-lab-host 198.18.47.254 ─┐
 *                                         │ veth
 *   netns sd-lab:  bridge sd-br0 198.18.47.1 (+ the registry on :5000)
 *                    │ sd-lab-n1   │ sd-lab-n2   │ sd-lab-n3   (veths)
 *   netns sd-node1: eth0 .11   sd-node2: eth0 .12   sd-node3: eth0 .13
 *
 * 198.18.0.0/15 is the range RFC 2544 reserves for network benchmarks: no
 * Docker address pool (172.17–31/16, 192.168/16, Swarm's 10/8) draws from it.
 */

/** The lab's fixed shape; every name and path the lab owns is here. */
export interface LabLayout {
  /** 0 for the default lab, 1–9 for labs beside it (see {@link labLayout}). */
  instance: number;
  /** Sockets, pid files, configs, logs, exec roots, the state file. */
  runDir: string;
  /** The daemons' data roots and the registry's storage. */
  dataDir: string;
  /** The JSON state file `lab up` writes last and `lab down` removes first. */
  stateFile: string;
  /** Network namespace holding the bridge (and the node-facing registry). */
  bridgeNs: string;
  /** The bridge joining the nodes, inside `bridgeNs`. */
  bridge: string;
  /** The lab's IPv4 subnet, CIDR. */
  subnet: string;
  /** Prefix length of `subnet`. */
  prefix: number;
  /** The bridge's own address (the registry listens here). */
  bridgeAddress: string;
  /** The host's end of its veth into the bridge (host namespace). */
  hostLink: string;
  /** The bridge namespace's end of the host's veth. */
  hostPeer: string;
  /** The host's address on the lab subnet. */
  hostAddress: string;
  nodes: LabNodeLayout[];
  registry: RegistryLayout;
  /** `/sys/fs/cgroup/<controller>/<cgroupPrefix>-nodeN` hold the nodes' containers. */
  cgroupPrefix: string;
}

/** One node: a network namespace with its own dockerd and containerd. */
export interface LabNodeLayout {
  /** 1-based. */
  index: number;
  /** Network namespace name and UTS host name, e.g. "sd-node1". */
  name: string;
  role: "manager" | "worker";
  /** The node's address on the lab subnet (eth0 in its namespace). */
  address: string;
  /** The veth end inside the bridge namespace, enslaved to the bridge. */
  bridgePort: string;
  dir: string;
  /** The Engine API socket: the only listener of the node's dockerd. */
  socket: string;
  configFile: string;
  dataRoot: string;
  execRoot: string;
  pidFile: string;
  logFile: string;
  keyFile: string;
  /** dockerd's `cgroup-parent` (cgroupfs driver: an absolute cgroup path). */
  cgroupParent: string;
  /** docker0's address in the node's namespace, CIDR. */
  bip: string;
}

/** Two `docker-registry serve` processes over one storage folder. */
export interface RegistryLayout {
  /** Storage shared by both instances (filesystem driver). */
  storage: string;
  /** The instance the nodes pull from: on the bridge, in the bridge namespace. */
  node: RegistryInstanceLayout;
  /** The instance the host pushes to: 127.0.0.1 in the host namespace (port chosen at up). */
  host: RegistryInstanceLayout;
}

export interface RegistryInstanceLayout {
  configFile: string;
  pidFile: string;
  logFile: string;
}

/** TCP port of the node-facing registry on the bridge address. */
export const REGISTRY_PORT = 5000;
/** The Swarm cluster port (managers listen on it, workers join through it). */
export const SWARM_PORT = 2377;

/** The highest lab instance number (instances are 0 to 9). */
export const MAX_LAB_INSTANCE = 9;

/**
 * The lab's layout. Instance 0 (the default) is the lab of the docs:
 * namespaces `sd-lab`, `sd-node1..3`, subnet 198.18.47.0/24, folders
 * `/run/swiftdeploy-lab` and `/var/lib/swiftdeploy-lab`. Instance N (1–9)
 * is a separate lab beside it (`sdN-node1`, 198.18.(47+N).0/24,
 * `/run/swiftdeploy-labN`…), so a test can own a lab while another one runs.
 *
 * @throws RangeError for an instance outside 0–9
 */
export function labLayout(instance = 0): LabLayout {
  if (!Number.isInteger(instance) || instance < 0 || instance > MAX_LAB_INSTANCE) {
    throw new RangeError(`Invalid lab instance ${instance}: must be an integer from 0 to 9`);
  }
  const suffix = instance === 0 ? "" : String(instance);
  const p = `sd${suffix}`;
  const runDir = `/run/swiftdeploy-lab${suffix}`;
  const dataDir = `/var/lib/swiftdeploy-lab${suffix}`;
  const net = `198.18.${47 + instance}`;
  const cgroupPrefix = `swiftdeploy-lab${suffix}`;
  const nodes: LabNodeLayout[] = [1, 2, 3].map((index) => {
    const name = `${p}-node${index}`;
    const dir = `${runDir}/node${index}`;
    return {
      index,
      name,
      role: index === 1 ? "manager" : "worker",
      address: `${net}.${10 + index}`,
      bridgePort: `${p}-lab-n${index}`,
      dir,
      socket: `${dir}/docker.sock`,
      configFile: `${dir}/daemon.json`,
      dataRoot: `${dataDir}/node${index}`,
      execRoot: `${dir}/exec`,
      pidFile: `${dir}/dockerd.pid`,
      logFile: `${dir}/dockerd.log`,
      keyFile: `${dir}/key.json`,
      cgroupParent: `/${cgroupPrefix}-node${index}`,
      bip: `172.29.${index}.1/24`,
    };
  });
  const instanceFiles = (name: string): RegistryInstanceLayout => ({
    configFile: `${runDir}/registry-${name}.yml`,
    pidFile: `${runDir}/registry-${name}.pid`,
    logFile: `${runDir}/registry-${name}.log`,
  });
  return {
    instance,
    runDir,
    dataDir,
    stateFile: `${runDir}/lab.json`,
    bridgeNs: `${p}-lab`,
    bridge: `${p}-br0`,
    subnet: `${net}.0/24`,
    prefix: 24,
    bridgeAddress: `${net}.1`,
    hostLink: `${p}-lab-host`,
    hostPeer: `${p}-lab-h`,
    hostAddress: `${net}.254`,
    nodes,
    registry: {
      storage: `${dataDir}/registry`,
      node: instanceFiles("node"),
      host: instanceFiles("host"),
    },
    cgroupPrefix,
  };
}

/** The network namespaces the lab owns, bridge first. */
export function labNamespaces(layout: LabLayout): string[] {
  return [layout.bridgeNs, ...layout.nodes.map((n) => n.name)];
}

/**
 * The `ip` invocations (argv without the leading "ip") that build the lab's
 * network from nothing, in order: namespaces, loopbacks, the bridge, one veth
 * per node created directly with its ends in the bridge's and the node's
 * namespace (nothing transits the host), the node addresses and routes, and
 * the host's veth into the bridge.
 */
export function networkUpCommands(layout: LabLayout): string[][] {
  const cmds: string[][] = [];
  const ns = labNamespaces(layout);
  for (const name of ns) cmds.push(["netns", "add", name]);
  for (const name of ns) cmds.push(["-n", name, "link", "set", "lo", "up"]);
  const b = layout.bridgeNs;
  cmds.push(["-n", b, "link", "add", layout.bridge, "type", "bridge"]);
  cmds.push([
    "-n",
    b,
    "addr",
    "add",
    `${layout.bridgeAddress}/${layout.prefix}`,
    "dev",
    layout.bridge,
  ]);
  cmds.push(["-n", b, "link", "set", layout.bridge, "up"]);
  for (const node of layout.nodes) {
    cmds.push([
      "link",
      "add",
      node.bridgePort,
      "netns",
      b,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      node.name,
    ]);
    cmds.push(["-n", b, "link", "set", node.bridgePort, "master", layout.bridge, "up"]);
    cmds.push(["-n", node.name, "addr", "add", `${node.address}/${layout.prefix}`, "dev", "eth0"]);
    cmds.push(["-n", node.name, "link", "set", "eth0", "up"]);
    cmds.push(["-n", node.name, "route", "add", "default", "via", layout.bridgeAddress]);
  }
  cmds.push([
    "link",
    "add",
    layout.hostLink,
    "type",
    "veth",
    "peer",
    "name",
    layout.hostPeer,
    "netns",
    b,
  ]);
  cmds.push(["-n", b, "link", "set", layout.hostPeer, "master", layout.bridge, "up"]);
  cmds.push(["addr", "add", `${layout.hostAddress}/${layout.prefix}`, "dev", layout.hostLink]);
  cmds.push(["link", "set", layout.hostLink, "up"]);
  return cmds;
}

/**
 * A node's dockerd `--config-file` (daemon.json), so the host's
 * /etc/docker/daemon.json is never read: its socket is the only Engine API
 * listener (Swarm needs no TCP API), its own data, exec root, pid file and
 * engine key (else all nodes share /etc/docker/key.json and one engine ID),
 * a cgroup parent per node, a docker0 of its own and the lab registry as an
 * insecure (plain HTTP) registry. `shutdown-timeout` (seconds) bounds how
 * long `lab down` waits for containers to stop.
 */
export function daemonConfig(layout: LabLayout, node: LabNodeLayout): Record<string, unknown> {
  return {
    "hosts": [`unix://${node.socket}`],
    "data-root": node.dataRoot,
    "exec-root": node.execRoot,
    "pidfile": node.pidFile,
    "deprecated-key-path": node.keyFile,
    "cgroup-parent": node.cgroupParent,
    "bip": node.bip,
    "insecure-registries": [`${layout.bridgeAddress}:${REGISTRY_PORT}`],
    "log-level": "warn",
    "shutdown-timeout": 3,
  };
}

/**
 * One registry instance's configuration (Distribution 2.x; JSON is valid
 * YAML). Both instances serve the same filesystem storage, the arrangement
 * Distribution documents for several registries behind one store. The HTTP
 * secret (it signs upload state) is not here: it goes to the processes'
 * environment (`REGISTRY_HTTP_SECRET`) so no file holds it. No blob
 * descriptor cache: what one instance stores, the other serves at once.
 */
export function registryConfig(storage: string, addr: string): Record<string, unknown> {
  return {
    version: 0.1,
    log: { level: "warn", accesslog: { disabled: true }, fields: { service: "registry" } },
    storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true } },
    http: { addr, headers: { "X-Content-Type-Options": ["nosniff"] } },
  };
}

/** Parses `/proc/self/mountinfo`: the mount points (field 5, octal escapes decoded). */
export function parseMountPoints(mountinfo: string): string[] {
  const points: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const field = line.split(" ")[4];
    if (field) {
      points.push(
        field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
      );
    }
  }
  return points;
}

/**
 * The mount points among `points` that belong to the lab (under its run or
 * data folder, or one of its namespaces' files in /run/netns), deepest first
 * so each can be unmounted before its parent.
 */
export function labMounts(layout: LabLayout, points: string[]): string[] {
  const nsFiles = new Set(labNamespaces(layout).map((n) => `/run/netns/${n}`));
  const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
  return points
    .filter((p) => nsFiles.has(p) || under(p, layout.runDir) || under(p, layout.dataDir))
    .filter((p, i, all) => all.indexOf(p) === i)
    .sort((a, b) => b.split("/").length - a.split("/").length || b.localeCompare(a));
}

/** What a process looks like to the leftover scan. */
export interface ProcessView {
  pid: number;
  /** Inode of /proc/PID/ns/net, when readable. */
  netns?: number;
  /** /proc/PID/cmdline with NULs as spaces. */
  cmdline: string;
  /** /proc/PID/cgroup. */
  cgroup: string;
}

/**
 * True when a process belongs to the lab: it lives in one of the lab's
 * network namespaces (dockerd, containerd, shims, the node-facing registry),
 * its command line names a lab folder (the host-facing registry, a shim), or
 * it runs in a node's cgroup parent (the nodes' containers, which have
 * network namespaces of their own).
 */
export function isLabProcess(layout: LabLayout, nsInodes: Set<number>, p: ProcessView): boolean {
  if (p.netns !== undefined && nsInodes.has(p.netns)) return true;
  if (p.cmdline.includes(`${layout.runDir}/`) || p.cmdline.includes(`${layout.dataDir}/`)) {
    return true;
  }
  return p.cgroup.split("\n").some((l) => l.includes(`:/${layout.cgroupPrefix}-node`));
}

/** Everything of the lab still present on the machine; all empty when it is gone. */
export interface Leftovers {
  namespaces: string[];
  links: string[];
  processes: { pid: number; cmdline: string }[];
  mounts: string[];
  folders: string[];
  cgroups: string[];
}

/** One line per kind of leftover that is not empty, e.g. `links: sd-lab-host`. */
export function describeLeftovers(l: Leftovers): string[] {
  const lines: string[] = [];
  if (l.namespaces.length) lines.push(`network namespaces: ${l.namespaces.join(", ")}`);
  if (l.links.length) lines.push(`links: ${l.links.join(", ")}`);
  if (l.processes.length) {
    lines.push(
      `processes: ${l.processes.map((p) => `${p.pid} (${p.cmdline.slice(0, 60)})`).join(", ")}`,
    );
  }
  if (l.mounts.length) lines.push(`mounts: ${l.mounts.join(", ")}`);
  if (l.folders.length) lines.push(`folders: ${l.folders.join(", ")}`);
  if (l.cgroups.length) lines.push(`cgroups: ${l.cgroups.join(", ")}`);
  return lines;
}
