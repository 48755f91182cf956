/**
 * The plan: a resolved manifest turned into the exact Engine API objects of
 * the stack (network, logs volume, opa, app and nginx containers), as data.
 * Pure: no I/O. The engine driver applies it; `--dry-run` prints it with
 * `describePlan`; the renderer writes docker-compose.yml from the same plan.
 */

export {
  APP_SHUTDOWN_TIMEOUT_SECONDS,
  appContainerName,
  CONTAINER_USERS,
  type ContainerPlan,
  type ContainerRole,
  type HostDirs,
  LABEL_CONFIG_HASH,
  LABEL_POLICIES,
  LABEL_PROJECT,
  LABEL_ROLE,
  LABEL_VERSION,
  type NetworkPlan,
  NGINX_ADMIN_DIR,
  NGINX_ADMIN_DIR_NAME,
  NGINX_ADMIN_SOCKET,
  NGINX_CONFIG_DIR,
  NGINX_CONFIG_FILE,
  NGINX_HEALTH_PORT,
  NGINX_LOG_DIR,
  type ObjectRole,
  OPA_CONTAINER_PORT,
  OPA_DATA_DIR,
  OPA_POLICIES_DIR,
  type PlanContext,
  planStack,
  POLICY_DATA_FILE,
  type StackPlan,
  STATE_DIR_NAME,
  type VolumePlan,
} from "./_plan_stack.ts";
export { describePlan } from "./_describe_plan.ts";
export {
  type Addressing,
  addressingOf,
  appSlots,
  chooseSubnet,
  defaultAddressing,
} from "./_addressing.ts";
export type {
  ContainerCreateBody,
  EndpointSettingsBody,
  HealthcheckBody,
  HostConfigBody,
  IpamBody,
  Labels,
  NetworkCreateBody,
  PortBindingBody,
  RestartPolicyBody,
  VolumeCreateBody,
} from "./_engine_bodies.ts";
