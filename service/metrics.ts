/**
 * Prometheus metrics of one service instance, on a dedicated prom-client
 * Registry (never the global one, so many handlers can live in one process).
 * Label values are bounded: unknown paths become "other", unknown methods
 * "OTHER", so no client can grow the series count.
 */

import { DURATION_BUCKETS } from "./buckets.ts";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ChaosActiveCode } from "./chaos.ts";
import type { Mode } from "./config.ts";

/** Paths recorded under their own label; everything else is "other". */
export const KNOWN_PATHS = ["/", "/healthz", "/metrics", "/chaos"] as const;
export type PathLabel = (typeof KNOWN_PATHS)[number] | "other";

/** Methods recorded under their own label; everything else is "OTHER". */
export const KNOWN_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] as const;
export type MethodLabel = (typeof KNOWN_METHODS)[number] | "OTHER";

export { DURATION_BUCKETS };

export function pathLabel(pathname: string): PathLabel {
  return (KNOWN_PATHS as readonly string[]).includes(pathname) ? pathname as PathLabel : "other";
}

export function methodLabel(method: string): MethodLabel {
  return (KNOWN_METHODS as readonly string[]).includes(method) ? method as MethodLabel : "OTHER";
}

export interface MetricsSources {
  mode: Mode;
  /** Seconds since the service started, read at each scrape. */
  uptimeSeconds: () => number;
  /** The current chaos state as a gauge value, read at each scrape. */
  chaosActive: () => ChaosActiveCode;
  /**
   * This process's id for `app_instance_info{instance="…"} 1`; a fresh
   * random UUID when not given. It must differ between two processes (a
   * container restarted by the engine keeps its hostname, so the hostname
   * is not enough): a window whose scrapes name two instances counts the
   * newer one's counters from zero.
   */
  instance?: string;
}

export interface ServiceMetrics {
  /** Records one finished request (any status, including failures). */
  observe(method: string, pathname: string, status: number, seconds: number): void;
  /** The exposition text of every metric. */
  render(): Promise<string>;
  /** The Content-Type of `render()`'s text. */
  readonly contentType: string;
  /** The id exported as `app_instance_info{instance}`. */
  readonly instance: string;
}

/**
 * The service's metrics on their own Registry: the contract read by
 * cli/metrics (`http_requests_total`, `http_request_duration_seconds`,
 * `app_uptime_seconds`, `app_mode`, `chaos_active`, `app_instance_info`).
 */
export function createMetrics(sources: MetricsSources): ServiceMetrics {
  const registry = new Registry();
  const registers = [registry];
  const instance = sources.instance || crypto.randomUUID();

  const requests = new Counter({
    name: "http_requests_total",
    help: "Total number of HTTP requests by method, path and status code",
    labelNames: ["method", "path", "status_code"] as const,
    registers,
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency in seconds by method and path",
    labelNames: ["method", "path"] as const,
    buckets: [...DURATION_BUCKETS],
    registers,
  });
  new Gauge({
    name: "app_uptime_seconds",
    help: "Seconds since the service started",
    registers,
    collect() {
      this.set(sources.uptimeSeconds());
    },
  });
  new Gauge({
    name: "app_mode",
    help: "Deployment mode of the service (0=stable, 1=canary)",
    registers,
  }).set(sources.mode === "canary" ? 1 : 0);
  new Gauge({
    name: "chaos_active",
    help: "Active chaos injection (0=none, 1=slow, 2=error)",
    registers,
    collect() {
      this.set(sources.chaosActive());
    },
  });

  new Gauge({
    name: "app_instance_info",
    help: "Always 1; the instance label identifies this process (it changes on every start)",
    labelNames: ["instance"] as const,
    registers,
  }).set({ instance }, 1);

  return {
    instance,
    observe(method, pathname, status, seconds) {
      const labels = { method: methodLabel(method), path: pathLabel(pathname) };
      requests.inc({ ...labels, status_code: String(status) });
      duration.observe(labels, seconds);
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
