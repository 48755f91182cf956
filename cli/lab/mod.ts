/**
 * The three-node swarm lab (`swiftdeploy lab up|down|status`): three dockerd
 * in network namespaces joined by a bridge, a Swarm of one manager and two
 * workers, and a local registry. For the CLI, the swarm driver and tests.
 * See docs/lab.md.
 */
export {
  currentLayout,
  type Lab,
  labDown,
  type LabDownResult,
  labExec,
  type LabLog,
  type LabNode,
  labNodeClient,
  labNodeSocket,
  labRegistry,
  type LabStatus,
  labStatus,
  labUp,
  type LabUpResult,
  leftovers,
  readLab,
  requireRoot,
} from "./_lab.ts";
export { type CommandResult } from "./_host.ts";
export {
  describeLeftovers,
  type LabLayout,
  labLayout,
  type Leftovers,
  REGISTRY_PORT,
  SWARM_PORT,
} from "./_layout.ts";
