import type { ContainerPlan, StackPlan } from "./_plan_stack.ts";
import type { HealthcheckBody } from "./_engine_bodies.ts";

const SECOND_NS = 1_000_000_000;

/**
 * The plan as `--dry-run` prints it: every object in creation order with
 * what it will be created with. Deterministic, ends with a newline.
 */
export function describePlan(plan: StackPlan): string {
  const lines: string[] = [
    `Plan for project "${plan.project}": 1 network, 1 volume, ${plan.containers.length} containers, in creation order`,
  ];
  let step = 0;
  const item = (kind: string, name: string, details: [string, string][]) => {
    step += 1;
    lines.push(`  ${step}. ${kind} "${name}"`);
    for (const [key, value] of details) lines.push(`       ${(key + ":").padEnd(15)}${value}`);
  };

  const pool = plan.network.body.IPAM?.Config[0];
  item("network", plan.network.name, [
    ["driver", plan.network.body.Driver],
    ...(pool
      ? [["subnet", `${pool.Subnet} (dynamic ${pool.IPRange}, gateway ${pool.Gateway})`] as [
        string,
        string,
      ]]
      : []),
    ["config", short(plan.network.configHash)],
  ]);
  item("volume", plan.volume.name, [
    ["driver", plan.volume.body.Driver],
    ["config", short(plan.volume.configHash)],
  ]);
  for (const container of plan.containers) {
    item(`container ${container.role}`, container.name, containerDetails(container));
  }
  lines.push(
    "  host directories:",
    `       ${"nginx config:".padEnd(15)}${plan.hostDirs.nginxConfigDir}`,
    `       ${"opa data:".padEnd(15)}${plan.hostDirs.opaDataDir}`,
    `       ${"policies:".padEnd(15)}${plan.hostDirs.policiesDir}`,
  );
  return lines.join("\n") + "\n";
}

function containerDetails(container: ContainerPlan): [string, string][] {
  const { body } = container;
  const host = body.HostConfig;
  const details: [string, string][] = [["image", body.Image]];
  if (body.Cmd) details.push(["command", body.Cmd.map(shellWord).join(" ")]);
  details.push(["user", body.User]);
  if (body.Env && body.Env.length > 0) details.push(["env", body.Env.join(" ")]);
  const endpoint = body.NetworkingConfig?.EndpointsConfig[host.NetworkMode];
  const aliases = endpoint?.Aliases ?? [];
  const address = endpoint?.IPAMConfig?.IPv4Address;
  details.push([
    "network",
    host.NetworkMode + (aliases.length > 0 ? ` (alias ${aliases.join(", ")})` : "") +
    (address ? ` at ${address}` : ""),
  ]);
  const published: string[] = [];
  for (const [port, bindings] of Object.entries(host.PortBindings ?? {})) {
    for (const b of bindings) published.push(`${b.HostIp}:${b.HostPort} -> ${port}`);
  }
  const exposedOnly = Object.keys(body.ExposedPorts).filter((p) =>
    !(p in (host.PortBindings ?? {}))
  );
  if (published.length > 0) details.push(["publishes", published.join(", ")]);
  if (exposedOnly.length > 0) {
    details.push(["exposes", `${exposedOnly.join(", ")} (not published)`]);
  }
  for (const bind of host.Binds ?? []) details.push(["mounts", bind]);
  for (const [target, options] of Object.entries(host.Tmpfs ?? {})) {
    details.push(["tmpfs", `${target} (${options})`]);
  }
  details.push([
    "hardening",
    `cap-drop ${host.CapDrop.join(",")}, ${host.SecurityOpt.join(",")}` +
    (host.ReadonlyRootfs ? ", read-only root" : ""),
  ]);
  const mib = host.Memory / 2 ** 20;
  details.push([
    "limits",
    `memory ${Number.isInteger(mib) ? `${mib} MiB` : `${host.Memory} B`} (no swap), ` +
    `${host.NanoCpus / 1e9} CPU, ${host.PidsLimit} processes`,
  ]);
  details.push([
    "logs",
    `${host.LogConfig.Type}, ${
      Object.entries(host.LogConfig.Config).map(([k, v]) => `${k} ${v}`).join(", ")
    }`,
  ]);
  details.push(["healthcheck", describeHealthcheck(body.Healthcheck)]);
  details.push(["restart", host.RestartPolicy.Name]);
  if (container.dependsOn.length > 0) {
    details.push(["starts after", container.dependsOn.map((r) => `${r} is healthy`).join(", ")]);
  }
  details.push(["config", short(container.configHash)]);
  return details;
}

function describeHealthcheck(check: HealthcheckBody): string {
  const secs = (ns: number) => `${ns / SECOND_NS}s`;
  const timing = [
    `every ${secs(check.Interval)}`,
    `timeout ${secs(check.Timeout)}`,
    `${check.Retries} retries`,
  ];
  if (check.StartPeriod !== undefined) timing.push(`start period ${secs(check.StartPeriod)}`);
  return `${check.Test.slice(1).map(shellWord).join(" ")} (${timing.join(", ")})`;
}

function short(hash: string): string {
  return `sha256:${hash.slice(0, 12)}`;
}

/** A word as a POSIX shell would need it: bare when safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
