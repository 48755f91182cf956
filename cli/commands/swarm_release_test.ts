/** Pure parts of releases on a swarm: what a bundle records, what a rollback re-applies. */
import assert from "node:assert/strict";
import { swarmObserved, swarmReleaseFiles, swarmRollbackImages } from "./_swarm_release.ts";
import type { Service, SwarmPlan, Task } from "../swarm/mod.ts";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const APP = `198.18.56.1:5000/p/app@${D("a")}`;
const NGINX = `198.18.56.1:5000/p/nginx@${D("b")}`;
const OPA = `198.18.56.1:5000/p/opa@${D("c")}`;

const plan = {
  project: "p",
  configs: [
    { name: "p-nginx.conf-1", file: "nginx.conf", data: "events {}\n", labels: {} },
    { name: "p-policy_data.json-1", file: "policy_data.json", data: "{}\n", labels: {} },
    {
      name: "p-policies-canary.rego-1",
      file: "policies/canary.rego",
      data: "package x",
      labels: {},
    },
  ],
  services: [
    { role: "opa", name: "p-opa", spec: { TaskTemplate: { ContainerSpec: { Image: OPA } } } },
    { role: "app", name: "p-app", spec: { TaskTemplate: { ContainerSpec: { Image: APP } } } },
    {
      role: "nginx",
      name: "p-nginx",
      spec: { TaskTemplate: { ContainerSpec: { Image: "nginx:latest" } } },
    },
  ],
} as unknown as SwarmPlan;

Deno.test("swarmObserved() records the plan's references (digests only when by digest) and one entry per wanted task", () => {
  const services = [{ ID: "s1", Spec: { Name: "p-app" } }] as unknown as Service[];
  const task = (id: string, slot: number, desired: string, state: string) =>
    ({
      ID: id,
      ServiceID: "s1",
      Slot: slot,
      DesiredState: desired,
      Spec: { ContainerSpec: { Image: APP } },
      Status: { Timestamp: "", State: state },
    }) as unknown as Task;
  const seen = swarmObserved(plan, services, [
    task("t2", 2, "running", "starting"),
    task("t1", 1, "running", "running"),
    task("t0", 1, "shutdown", "failed"),
  ]);
  assert.deepEqual(seen.images, [
    { role: "opa", ref: OPA, id: null, digests: [OPA] },
    { role: "app", ref: APP, id: null, digests: [APP] },
    { role: "nginx", ref: "nginx:latest", id: null, digests: [] },
  ]);
  assert.deepEqual(seen.containers, [
    { name: "p-app.1", role: "app", image_id: APP },
    { name: "p-app.2", role: "app", image_id: APP },
  ]);
  assert.deepEqual(seen.health.map((h) => [h.container, h.healthy]), [
    ["p-app.1", true],
    ["p-app.2", false],
  ]);
});

Deno.test("swarmReleaseFiles() keeps the plain config files (nginx.conf, policy_data.json), not the Rego", () => {
  assert.deepEqual(swarmReleaseFiles(plan), {
    "nginx.conf": "events {}\n",
    "policy_data.json": "{}\n",
  });
});

Deno.test("swarmRollbackImages() re-applies every role by digest, and refuses a tag or a missing role", () => {
  const image = (role: string, ref: string) => ({
    role,
    ref,
    id: null,
    digests: ref.includes("@") ? [ref] : [],
  });
  assert.deepEqual(
    swarmRollbackImages({
      number: 4,
      images: [image("app", APP), image("nginx", NGINX), image("opa", OPA)],
    }),
    { app: APP, nginx: NGINX, opa: OPA },
  );
  const refused = swarmRollbackImages({
    number: 4,
    images: [image("app", APP), image("nginx", "nginx:latest")],
  });
  assert.equal(typeof refused, "string");
  assert.match(refused as string, /release 4 .*opa/);
  assert.match(refused as string, /nginx image nginx:latest by tag/);
});
