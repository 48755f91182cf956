/**
 * Releases on `target: swarm` (issue 15 on the issue-14 target): what a
 * swarm deploy's evidence bundle holds instead of the engine's containers
 * (the image references by digest the services run, one entry per task),
 * and which images a rollback re-applies from a bundle (no rebuild, no
 * push: the digests are in the registry already).
 */
import type { ReleaseContainer, ReleaseImage, ReleaseRecord } from "../release/mod.ts";
import type { Service, SwarmPlan, SwarmRole, Task } from "../swarm/mod.ts";

/** The roles a swarm release runs, in the plan's creation order. */
export const SWARM_ROLES: readonly SwarmRole[] = ["opa", "app", "nginx"];

/** `<address>/<repo>@sha256:<64 hex>`: a reference that names one image for good. */
const BY_DIGEST = /@sha256:[0-9a-f]{64}$/;

/**
 * What a swarm release records as running: `images` from the plan's service
 * specs (ref = the reference the nodes pull; `digests` = [ref] when it is by
 * digest; `id` null, since the image lives on the nodes, not on the CLI's
 * engine), and one container entry per task Swarm wants running (name
 * `<service>.<slot>`, `image_id` = the task's image reference), healthy
 * when the task's state is `running`.
 */
export function swarmObserved(
  plan: SwarmPlan,
  services: readonly Service[],
  tasks: readonly Task[],
): {
  images: ReleaseImage[];
  containers: ReleaseContainer[];
  health: ReleaseRecord["health"];
} {
  const images: ReleaseImage[] = plan.services.map((s) => {
    const ref = s.spec.TaskTemplate.ContainerSpec.Image;
    return { role: s.role, ref, id: null, digests: BY_DIGEST.test(ref) ? [ref] : [] };
  });
  const byId = new Map(services.map((s) => [s.ID, s]));
  const roleOf = new Map(plan.services.map((s) => [s.name, s.role]));
  const containers: ReleaseContainer[] = [];
  const health: ReleaseRecord["health"] = [];
  const wanted = tasks
    .filter((t) => t.DesiredState === "running" && byId.has(t.ServiceID))
    .map((t) => ({ t, name: `${byId.get(t.ServiceID)!.Spec.Name}.${t.Slot ?? t.NodeID ?? t.ID}` }))
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const { t, name } of wanted) {
    const service = byId.get(t.ServiceID)!.Spec.Name;
    containers.push({
      name,
      role: roleOf.get(service) ?? "?",
      image_id: t.Spec.ContainerSpec.Image,
    });
    health.push({
      container: name,
      healthy: t.Status.State === "running",
      detail: `task ${t.Status.State}${t.Status.Err ? `: ${t.Status.Err}` : ""}`,
    });
  }
  return { images, containers, health };
}

/**
 * The rendered files of a swarm release: the configs of the plan that are
 * one plain file (nginx.conf, policy_data.json), by file name. The Rego
 * sources are covered by the record's `policy.sources_hash`.
 */
export function swarmReleaseFiles(plan: SwarmPlan): Record<string, string> {
  return Object.fromEntries(
    plan.configs.filter((c) => !c.file.includes("/")).map((c) => [c.file, c.data]),
  );
}

/**
 * The images a swarm rollback re-applies from release `r`: role → its
 * by-digest reference, or a sentence saying why it cannot (a role the
 * release does not name, or names by a tag, which may have moved since).
 */
export function swarmRollbackImages(
  r: Pick<ReleaseRecord, "number" | "images">,
): Record<SwarmRole, string> | string {
  const out: Partial<Record<SwarmRole, string>> = {};
  const problems: string[] = [];
  for (const role of SWARM_ROLES) {
    const image = r.images.find((i) => i.role === role);
    const ref = image?.digests.find((d) => BY_DIGEST.test(d)) ??
      (image && BY_DIGEST.test(image.ref) ? image.ref : undefined);
    if (ref) out[role] = ref;
    else if (!image) problems.push(`names no ${role} image`);
    else problems.push(`names its ${role} image ${image.ref} by tag, not by digest`);
  }
  if (problems.length > 0) {
    return `release ${r.number} ${problems.join(", ")} (a swarm rollback runs digests only)`;
  }
  return out as Record<SwarmRole, string>;
}
