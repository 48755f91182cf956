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
  type HostFile,
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
  type PrometheusFiles,
  type StackPlan,
  STATE_DIR_NAME,
  type VolumePlan,
} from "./_plan_stack.ts";
export { describePlan } from "./_describe_plan.ts";
export {
  type AppScrapeTarget,
  appTargetsJson,
  FILE_SD_REFRESH_SECONDS,
  LABEL_PROMETHEUS_CONFIG,
  NGINX_HOST,
  NGINX_PROMETHEUS_PORT,
  nginxPrometheusListener,
  nginxStaticAddress,
  nginxTargetsJson,
  PROMETHEUS_APPS_FILE_NAME,
  PROMETHEUS_CONFIG_DIR,
  PROMETHEUS_CONFIG_FILE_NAME,
  PROMETHEUS_CONTAINER_PORT,
  PROMETHEUS_DATA_DIR,
  PROMETHEUS_HOST,
  PROMETHEUS_NGINX_FILE_NAME,
  PROMETHEUS_UID,
  prometheusAddress,
  prometheusConfig,
  prometheusConfigHash,
} from "./_prometheus.ts";
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
