/**
 * The optional Prometheus of the stack (issue 13 step 2), as data: its
 * configuration file, the file_sd target lists the CLI keeps beside it, its
 * static address on the project network and the nginx listener that lets it
 * (and nothing else) read nginx's per-variant edge counters. Pure: no I/O.
 *
 * Prometheus reads `PROMETHEUS_CONFIG_DIR`, a folder bound read-only from
 * `<manifest dir>/.swiftdeploy/prometheus/` (a folder, never a file: the
 * CLI replaces files by rename). It holds `prometheus.yml` and two file_sd
 * lists, `apps.json` and `nginx.json`; Prometheus watches them (inotify, and
 * every `FILE_SD_REFRESH_SECONDS` at the latest) and picks up a rewrite
 * without a reload, so the CLI only rewrites a list when a variant's address
 * changes.
 */
import YAML from "yaml";
import { SwiftDeployError } from "../errors/mod.ts";
import type { ResolvedManifest } from "../manifest/types.ts";
import { sha256Hex } from "../digest/mod.ts";

/** Host number of Prometheus's static address: below the app slots (.16–.19), outside the dynamic .128/25. */
export const PROMETHEUS_HOST = 8;
/**
 * Host number of nginx's static address when Prometheus is enabled: nginx's
 * Prometheus listener is a scrape target at a known address (nginx.json is
 * then pure data), beside Prometheus's .8, outside the app slots and the
 * dynamic .128/25. Without Prometheus nginx keeps a dynamic address.
 */
export const NGINX_HOST = 9;
/** Port Prometheus listens on inside its container; the host side is `prometheus.port` on 127.0.0.1. */
export const PROMETHEUS_CONTAINER_PORT = 9090;
/** Where Prometheus reads its configuration and file_sd lists (a read-only folder bind). */
export const PROMETHEUS_CONFIG_DIR = "/etc/prometheus/swiftdeploy";
export const PROMETHEUS_CONFIG_FILE_NAME = "prometheus.yml";
/** file_sd lists in PROMETHEUS_CONFIG_DIR: the app variants, and nginx's edge listener. */
export const PROMETHEUS_APPS_FILE_NAME = "apps.json";
export const PROMETHEUS_NGINX_FILE_NAME = "nginx.json";
/** Prometheus's TSDB: a tmpfs (see `PROMETHEUS_TSDB_TMPFS`). */
export const PROMETHEUS_DATA_DIR = "/prometheus";
/** The uid and gid Prometheus runs as (the image is built with it). */
export const PROMETHEUS_UID = 10004;
/**
 * Port of nginx's listener for Prometheus on the project network; it serves
 * the admin socket's edge counters to Prometheus's static address only.
 * (9113 is nginx-prometheus-exporter's port.)
 */
export const NGINX_PROMETHEUS_PORT = 9113;
/** How long Prometheus keeps samples: analysis windows are minutes, the tmpfs is bounded. */
export const PROMETHEUS_RETENTION = "6h";
/**
 * The TSDB lives in memory: analysis windows span minutes, a replaced
 * Prometheus starts empty anyway (a new container), and a named volume would
 * be one more object to diff, label and remove, written to disk for nothing.
 * `size` bounds it; the retention keeps well inside it for one stack's series.
 */
export const PROMETHEUS_TSDB_TMPFS =
  `rw,noexec,nosuid,size=256m,uid=${PROMETHEUS_UID},gid=${PROMETHEUS_UID},mode=0700`;
/** Fallback re-read of the file_sd lists, seconds (inotify sees a rename at once). */
export const FILE_SD_REFRESH_SECONDS = 5;
/** Label the Prometheus container carries: sha256 of its prometheus.yml, so a changed file replaces it. */
export const LABEL_PROMETHEUS_CONFIG = "io.swiftdeploy.prometheus-config";

/** Prometheus's static address on `subnet` (`a.b.c.0/24` → `a.b.c.8`). */
export function prometheusAddress(subnet: string): string {
  return `${prefixOf(subnet, "Prometheus")}.${PROMETHEUS_HOST}`;
}

/** `a.b.c` of `a.b.c.0/24`; throws INTERNAL naming `who` for anything else. */
function prefixOf(subnet: string, who: string): string {
  const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.0\/24$/.exec(subnet);
  if (!m) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot address ${who} on "${subnet}": not a /24 SwiftDeploy created`,
    );
  }
  return m[1]!;
}

/** nginx's static address on `subnet` when Prometheus is enabled (`a.b.c.0/24` → `a.b.c.9`). */
export function nginxStaticAddress(subnet: string): string {
  return `${prefixOf(subnet, "nginx")}.${NGINX_HOST}`;
}

/**
 * The text of prometheus.yml: a global scrape interval from
 * `prometheus.scrape_interval_seconds` (timeout the same, capped at 10 s:
 * Prometheus refuses a timeout above the interval), and two jobs read from
 * file_sd lists: `apps` (each app variant's `/metrics`, labelled `variant`
 * and `version`) and `nginx` (the edge counters, whose samples carry their
 * own `variant`). Deterministic; ends with a newline.
 */
export function prometheusConfig(manifest: ResolvedManifest): string {
  const interval = manifest.prometheus.scrape_interval_seconds;
  if (!Number.isInteger(interval) || interval < 1 || interval > 3600) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot render prometheus.yml: scrape interval ${interval} is not a whole number of seconds from 1 to 3600`,
    );
  }
  const fileSd = (file: string) => [{
    files: [`${PROMETHEUS_CONFIG_DIR}/${file}`],
    refresh_interval: `${FILE_SD_REFRESH_SECONDS}s`,
  }];
  const document = {
    global: {
      scrape_interval: `${interval}s`,
      scrape_timeout: `${Math.min(interval, 10)}s`,
      evaluation_interval: `${interval}s`,
      external_labels: { project: manifest.project },
    },
    scrape_configs: [
      {
        job_name: "apps",
        metrics_path: "/metrics",
        file_sd_configs: fileSd(PROMETHEUS_APPS_FILE_NAME),
      },
      {
        job_name: "nginx",
        metrics_path: "/metrics",
        file_sd_configs: fileSd(PROMETHEUS_NGINX_FILE_NAME),
      },
    ],
  };
  const header = [
    `# Generated by swiftdeploy for project ${
      JSON.stringify(manifest.project)
    }: do not edit this file,`,
    "# change the manifest and deploy again. Targets come from the file_sd lists beside it.",
  ].join("\n");
  return `${header}\n${
    new YAML.Document(document).toString({ defaultStringType: "QUOTE_DOUBLE", lineWidth: 0 })
  }`;
}

/** sha256 of the configuration text: the value of LABEL_PROMETHEUS_CONFIG. */
export function prometheusConfigHash(manifest: ResolvedManifest): string {
  return sha256Hex(prometheusConfig(manifest));
}

/** One app variant Prometheus scrapes. */
export interface AppScrapeTarget {
  /** `IPv4:port` on the project network (the variant's static slot). */
  address: string;
  variant: "stable" | "canary";
  version: string;
}

/**
 * `apps.json`, the file_sd list of the app variants: one group per target,
 * labelled `variant` and `version`, sorted by variant so the same targets
 * give the same bytes. An empty list is valid (no app yet: no targets).
 */
export function appTargetsJson(targets: readonly AppScrapeTarget[]): string {
  const groups = [...targets]
    .sort((a, b) => a.variant.localeCompare(b.variant) || a.address.localeCompare(b.address))
    .map((t) => ({
      targets: [checkedTarget(t.address)],
      labels: { variant: t.variant, version: t.version },
    }));
  return JSON.stringify(groups, null, 2) + "\n";
}

/**
 * `nginx.json`, the file_sd list with nginx's Prometheus listener:
 * `<nginx address>:NGINX_PROMETHEUS_PORT`, nginx's static address on the
 * project network (`nginxStaticAddress`: never a DNS name, which another
 * container could answer), or no target (`undefined`). No `variant` target label: the samples carry their own.
 */
export function nginxTargetsJson(nginxAddress: string | undefined): string {
  const groups = nginxAddress === undefined
    ? []
    : [{ targets: [checkedTarget(`${nginxAddress}:${NGINX_PROMETHEUS_PORT}`)], labels: {} }];
  return JSON.stringify(groups, null, 2) + "\n";
}

function checkedTarget(address: string): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(address)) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot list a Prometheus target: "${address}" is not IPv4:port`,
    );
  }
  return address;
}

/**
 * The nginx `server {}` block for the `{{ prometheus_listener }}` slot of
 * nginx.conf.tmpl: on the project network at NGINX_PROMETHEUS_PORT, it
 * answers `GET /metrics` with what the admin socket's `/edge-metrics`
 * serves (the same families, one source of truth) to `prometheusIp` only;
 * every other address gets 403. The port is never published. Empty text
 * when Prometheus is not enabled (`prometheusIp` undefined).
 */
export function nginxPrometheusListener(
  prometheusIp: string | undefined,
  adminSocket: string,
): string {
  if (prometheusIp === undefined) return "";
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(prometheusIp) || !/^\/[A-Za-z0-9._/-]+$/.test(adminSocket)) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot render nginx's Prometheus listener for "${prometheusIp}" and "${adminSocket}"`,
    );
  }
  return [
    "# Prometheus listener (issue 13 step 2): the edge counters for the stack's",
    "    # Prometheus at its static address, on the project network only (never published).",
    "    server {",
    `        listen ${NGINX_PROMETHEUS_PORT};`,
    "        access_log off;",
    `        allow ${prometheusIp};`,
    "        deny all;",
    "",
    "        location = /metrics {",
    `            proxy_pass http://unix:${adminSocket}:/edge-metrics;`,
    "        }",
    "",
    "        location / {",
    "            return 404;",
    "        }",
    "    }",
  ].join("\n");
}
