/**
 * The swarm target (issue 14): the stack as Swarm services, planned as data
 * (`planSwarm`, `renderSwarmNginxConf`), converged and taken down through
 * the Engine API (`applySwarm`, `waitConverged`, `removeSwarmStack`), and
 * read back per node (`observeSwarm`, `swarmStatus`).
 *
 * @module
 */
export {
  configName,
  type ConfigPlan,
  LABEL_FILE,
  LABEL_TARGET,
  OPA_SOCKET_DIR,
  OPA_SOCKET_NAME,
  planSwarm,
  type ServicePlan,
  type SwarmPlan,
  type SwarmPlanInput,
  type SwarmRole,
  taskCaps,
  updateConfig,
} from "./_plan.ts";
export {
  appServiceName,
  DNS_REFRESH_SECONDS,
  DOCKER_DNS,
  MAX_TRIES,
  renderSwarmNginxConf,
  swarmHostRule,
  UPSTREAM_KEEPALIVE,
} from "./_nginx_conf.ts";
export {
  formatSwarmStatus,
  type NodeCount,
  type ServiceProgress,
  serviceProgress,
  type SwarmStatus,
  swarmStatus,
  type TaskRow,
} from "./_progress.ts";
export {
  diffSwarm,
  formatSwarmActions,
  specChanges,
  type SwarmAction,
  type SwarmConflict,
  type SwarmObserved,
} from "./_diff.ts";
export {
  applySwarm,
  managerNodeId,
  notAManager,
  observeForPlan,
  observeSwarm,
  PEERS_WAIT_MS,
  type PeersWait,
  removeStaleConfigs,
  removeSwarmStack,
  type ServiceChange,
  swarmConflict,
  SwarmRollbackError,
  waitConverged,
  waitPeersListed,
} from "./_converge.ts";
export {
  comparePeers,
  parsePeers,
  type PeersAgreement,
  runningTaskAddresses,
  type WorkerPeers,
} from "./_peers.ts";
export {
  nodes,
  nodeUpdate,
  type Service,
  serviceInspect,
  type ServiceSpec,
  type SwarmInfo,
  swarmInfo,
  type SwarmNode,
  type Task,
  taskList,
} from "./_api.ts";
