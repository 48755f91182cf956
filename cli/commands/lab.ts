/** `swiftdeploy lab up|down|status`: the three-node swarm lab (cli/lab, docs/lab.md). */
import type { Context } from "./context.ts";
import { labDown, labStatus, labUp } from "../lab/mod.ts";
import { ExitCode } from "../errors/mod.ts";

export async function runLabUp(ctx: Context): Promise<number> {
  const t0 = performance.now();
  const { lab, alreadyUp } = await labUp((l) => ctx.term.err(ctx.term.dim(l)));
  if (alreadyUp) {
    ctx.term.out(`The lab is already up (since ${lab.createdAt}); nothing changed`);
  } else {
    ctx.term.out(
      `Lab up in ${((performance.now() - t0) / 1000).toFixed(1)} s: ` +
        `${lab.nodes.length} nodes, swarm ${lab.swarm.clusterId.slice(0, 12)}`,
    );
  }
  for (const n of lab.nodes) {
    ctx.term.out(`  ${n.name}  ${n.role.padEnd(7)}  ${n.address.padEnd(13)}  ${n.dockerHost}`);
  }
  ctx.term.out(`  registry  ${lab.registry.node} (nodes)  ${lab.registry.host} (host)`);
  return ExitCode.ok;
}

export async function runLabDown(ctx: Context): Promise<number> {
  const t0 = performance.now();
  const { removed } = await labDown((l) => ctx.term.err(ctx.term.dim(l)));
  ctx.term.out(
    removed
      ? `Lab down in ${((performance.now() - t0) / 1000).toFixed(1)} s: nothing of it is left`
      : "No lab is up; nothing to take down",
  );
  return ExitCode.ok;
}

export async function runLabStatus(ctx: Context, json: boolean): Promise<number> {
  const status = await labStatus();
  if (json) {
    ctx.term.out(JSON.stringify(status ?? { up: false }));
    return status ? ExitCode.ok : ExitCode.failure;
  }
  if (!status) {
    ctx.term.out("No lab is up (run `swiftdeploy lab up`)");
    return ExitCode.failure;
  }
  ctx.term.out(`Lab up since ${status.lab.createdAt}, subnet ${status.lab.subnet}`);
  ctx.term.out(`  ${"HOSTNAME".padEnd(10)} ${"ROLE".padEnd(8)} ${"AVAILABILITY".padEnd(13)} STATE`);
  for (const n of status.nodes) {
    ctx.term.out(
      `  ${n.hostname.padEnd(10)} ${(n.role + (n.leader ? "*" : "")).padEnd(8)} ${
        n.availability.padEnd(13)
      } ${n.state}`,
    );
  }
  ctx.term.out(`  registry ${status.lab.registry.node} (nodes): /v2/ ${status.registry.node}`);
  ctx.term.out(`  registry ${status.lab.registry.host} (host):  /v2/ ${status.registry.host}`);
  const ok = status.nodes.length === status.lab.nodes.length &&
    status.nodes.every((n) => n.state === "ready") &&
    status.registry.node.startsWith("HTTP 200") && status.registry.host.startsWith("HTTP 200");
  return ok ? ExitCode.ok : ExitCode.failure;
}
