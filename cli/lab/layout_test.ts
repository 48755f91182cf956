import assert from "node:assert/strict";
import {
  daemonConfig,
  describeLeftovers,
  isLabProcess,
  labLayout,
  labMounts,
  labNamespaces,
  networkUpCommands,
  parseMountPoints,
  REGISTRY_PORT,
  registryConfig,
} from "./_layout.ts";

const layout = labLayout();

function inSubnet(addr: string): boolean {
  return addr.startsWith(layout.subnet.replace(/0\/24$/, ""));
}

Deno.test("labLayout() gives three nodes, one manager, distinct addresses in the lab subnet", () => {
  assert.deepEqual(layout.nodes.map((n) => n.name), ["sd-node1", "sd-node2", "sd-node3"]);
  assert.deepEqual(layout.nodes.map((n) => n.role), ["manager", "worker", "worker"]);
  const addrs = [layout.bridgeAddress, layout.hostAddress, ...layout.nodes.map((n) => n.address)];
  assert.equal(new Set(addrs).size, addrs.length);
  for (const a of addrs) assert.ok(inSubnet(a), a);
  // Swarm's default address pool (10.0.0.0/8) and Docker's (172.17–31, 192.168) must not overlap.
  assert.ok(!/^(10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.)/.test(layout.subnet));
});

Deno.test("labLayout() names links within the kernel's 15 characters and sockets within 107", () => {
  const links = [
    layout.bridge,
    layout.hostLink,
    layout.hostPeer,
    ...layout.nodes.map((n) => n.bridgePort),
  ];
  for (const l of links) assert.ok(l.length <= 15, l);
  for (const n of layout.nodes) {
    assert.ok(n.socket.length < 108, n.socket);
    assert.ok(`${n.execRoot}/containerd/containerd.sock`.length < 108);
  }
});

Deno.test("daemonConfig() gives each node its own socket, roots, pid, key, cgroup and docker0", () => {
  const configs = layout.nodes.map((n) => daemonConfig(layout, n));
  for (
    const key of [
      "hosts",
      "data-root",
      "exec-root",
      "pidfile",
      "deprecated-key-path",
      "cgroup-parent",
      "bip",
    ]
  ) {
    const values = configs.map((c) => JSON.stringify(c[key]));
    assert.equal(new Set(values).size, 3, `${key} is shared: ${values.join(" ")}`);
  }
  for (const c of configs) {
    // The Engine API only on the node's unix socket: never on TCP.
    assert.ok((c.hosts as string[]).every((h) => h.startsWith("unix:///run/swiftdeploy-lab/")));
    assert.deepEqual(c["insecure-registries"], [`${layout.bridgeAddress}:${REGISTRY_PORT}`]);
  }
});

Deno.test("registryConfig() listens where told and holds no secret", () => {
  const c = registryConfig("/var/lib/swiftdeploy-lab/registry", "198.18.47.1:5000");
  assert.equal((c.http as { addr: string }).addr, "198.18.47.1:5000");
  assert.ok(!JSON.stringify(c).includes("secret"));
  assert.deepEqual(c.storage, {
    filesystem: { rootdirectory: "/var/lib/swiftdeploy-lab/registry" },
    delete: { enabled: true },
  });
});

Deno.test("networkUpCommands() creates each namespace before using it and no veth end in the host but its own", () => {
  const cmds = networkUpCommands(layout);
  const added = new Set<string>();
  for (const c of cmds) {
    if (c[0] === "netns" && c[1] === "add") added.add(c[2]!);
    const n = c[0] === "-n" ? c[1]! : undefined;
    if (n) assert.ok(added.has(n), `${c.join(" ")} before netns add ${n}`);
    for (let i = 0; i < c.length - 1; i++) {
      if (c[i] === "netns" && c[i + 1] !== "add") assert.ok(added.has(c[i + 1]!), c.join(" "));
    }
  }
  assert.deepEqual([...added], labNamespaces(layout));
  const veths = cmds.filter((c) => c.includes("veth"));
  assert.equal(veths.length, 4);
  // Node veths are born with both ends inside namespaces; only the host's veth has a host end.
  for (const v of veths.slice(0, 3)) assert.equal(v.filter((a) => a === "netns").length, 2);
  assert.equal(veths[3]![2], layout.hostLink);
});

Deno.test("parseMountPoints() decodes the kernel's octal escapes", () => {
  const info = "36 25 0:32 / /run/swiftdeploy-lab/a\\040b rw - tmpfs tmpfs rw\n" +
    "37 25 0:33 / /sys rw - sysfs sysfs rw\n";
  assert.deepEqual(parseMountPoints(info), ["/run/swiftdeploy-lab/a b", "/sys"]);
});

Deno.test("labMounts() keeps the lab's mounts only, deepest first, not a sibling folder's", () => {
  const points = [
    "/run/netns",
    "/run/netns/sd-node1",
    "/run/netns/other",
    "/run/swiftdeploy-lab/node1/exec/netns/abc",
    "/run/swiftdeploy-lab-other/x",
    "/var/lib/swiftdeploy-lab/node1/overlay2/l/merged",
    "/var/lib/swiftdeploy-lab/node1/overlay2/l/merged",
    "/var/lib/docker/overlay2/x/merged",
  ];
  assert.deepEqual(labMounts(layout, points), [
    "/var/lib/swiftdeploy-lab/node1/overlay2/l/merged",
    "/run/swiftdeploy-lab/node1/exec/netns/abc",
    "/run/netns/sd-node1",
  ]);
});

Deno.test("isLabProcess() finds daemons by namespace, registries by path, containers by cgroup; not the host's dockerd", () => {
  const ns = new Set([4026532999]);
  const base = { pid: 1, cmdline: "", cgroup: "4:memory:/\n" };
  assert.ok(isLabProcess(layout, ns, { ...base, netns: 4026532999 }));
  assert.ok(
    isLabProcess(layout, ns, {
      ...base,
      cmdline: "/usr/bin/docker-registry serve /run/swiftdeploy-lab/registry-host.yml",
    }),
  );
  assert.ok(isLabProcess(layout, ns, { ...base, cgroup: "4:memory:/swiftdeploy-lab-node2/abc\n" }));
  assert.ok(
    !isLabProcess(layout, ns, {
      ...base,
      netns: 4026531992,
      cmdline: "/usr/sbin/dockerd --data-root /work/main/.state/engine/data",
      cgroup: "4:memory:/docker/abc\n",
    }),
  );
});

Deno.test("describeLeftovers() names each kind present and nothing when all is gone", () => {
  const none = { namespaces: [], links: [], processes: [], mounts: [], folders: [], cgroups: [] };
  assert.deepEqual(describeLeftovers(none), []);
  assert.deepEqual(
    describeLeftovers({
      ...none,
      links: ["sd-lab-host"],
      processes: [{ pid: 7, cmdline: "dockerd" }],
    }),
    ["links: sd-lab-host", "processes: 7 (dockerd)"],
  );
});

Deno.test("labLayout(n) gives a lab beside the default one that shares no name, address or folder", () => {
  const other = labLayout(1);
  const names = (l: typeof layout) => [
    ...labNamespaces(l),
    l.bridge,
    l.hostLink,
    l.hostPeer,
    ...l.nodes.map((n) => n.bridgePort),
    l.subnet,
    l.runDir,
    l.dataDir,
    ...l.nodes.map((n) => n.cgroupParent),
  ];
  const a = new Set(names(layout));
  for (const n of names(other)) assert.ok(!a.has(n), n);
  assert.equal(other.subnet, "198.18.48.0/24");
  assert.equal(labLayout(9).nodes[0]!.name, "sd9-node1");
  assert.throws(() => labLayout(10), RangeError);
  assert.throws(() => labLayout(-1), RangeError);
});

Deno.test("labMounts() and isLabProcess() of one lab never take a neighbour lab's mounts or processes", () => {
  // "/run/swiftdeploy-lab1" starts with "/run/swiftdeploy-lab": a bare prefix test would take it.
  const other = labLayout(1);
  assert.deepEqual(
    labMounts(layout, [`${other.runDir}/node1/exec/netns/x`, `${other.dataDir}/node1/overlay2/m`]),
    [],
  );
  const ns = new Set<number>();
  for (const l of [other]) {
    const p = {
      pid: 9,
      cmdline: `/usr/sbin/dockerd --config-file ${l.nodes[0]!.configFile}`,
      cgroup: `4:memory:${l.nodes[0]!.cgroupParent}/abc\n`,
    };
    assert.ok(!isLabProcess(layout, ns, p));
    assert.ok(isLabProcess(other, ns, p));
  }
});
