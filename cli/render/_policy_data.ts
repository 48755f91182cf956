import type { ResolvedManifest } from "../manifest/types.ts";

/**
 * `data.limits.promotion` for the selected environment of `m` (policies/
 * promotion.rego): what a promotion INTO it is judged by. `from` and
 * `soak_seconds` are the previous environment's (null and 0 for the first,
 * which nothing is promoted into); undefined when no environment is
 * selected.
 */
export function promotionLimits(m: ResolvedManifest): Record<string, unknown> | undefined {
  const envs = m.environments ?? [];
  const index = envs.findIndex((e) => e.name === m.environment);
  const env = envs[index];
  if (env === undefined) return undefined;
  const previous = index > 0 ? envs[index - 1] : undefined;
  return {
    environment: env.name,
    from: previous?.name ?? null,
    production: env.production,
    soak_seconds: previous?.soak_seconds ?? 0,
    allowed_registries: m.promotion?.allowed_registries ?? ["docker.io"],
    freezes: env.freezes,
  };
}

/** Generation note carried as the first key of a generated JSON file. */
export interface GeneratedNote {
  by: "swiftdeploy init";
  from: string;
  manifest: string;
  note: string;
}

/**
 * The OPA data document: the thresholds the policies read as `data.limits`
 * (no policy writes one itself): `infrastructure` and `canary` from the
 * manifest's policy_limits, `rollout` from rollout.analysis (the limits of
 * package swiftdeploy.rollout; the window and the source are the
 * controller's business, not the policy's), and for an environment's stack
 * `promotion`: what a promotion into it is judged by (policies/promotion.rego;
 * absent for a manifest without environments).
 */
export function policyData(manifest: ResolvedManifest, generated: GeneratedNote): string {
  const { infrastructure, canary } = manifest.policy_limits;
  const analysis = manifest.rollout.analysis;
  const promotion = promotionLimits(manifest);
  const document = {
    _generated: generated,
    limits: {
      infrastructure: {
        min_disk_free_gb: infrastructure.min_disk_free_gb,
        max_cpu_load: infrastructure.max_cpu_load,
        min_mem_free_percent: infrastructure.min_mem_free_percent,
      },
      canary: {
        max_error_rate_percent: canary.max_error_rate_percent,
        max_p99_latency_ms: canary.max_p99_latency_ms,
        window_seconds: canary.window_seconds,
        min_requests: canary.min_requests,
      },
      rollout: {
        min_requests: analysis.min_requests,
        max_error_rate_percent: analysis.max_error_rate_percent,
        max_error_rate_increase_points: analysis.max_error_rate_increase_points,
        max_p99_latency_ms: analysis.max_p99_latency_ms,
        max_p99_ratio: analysis.max_p99_ratio,
        p99_ratio_floor_ms: analysis.p99_ratio_floor_ms,
        failure_limit: analysis.failure_limit,
        inconclusive_limit: analysis.inconclusive_limit,
      },
      ...(promotion === undefined ? {} : { promotion }),
    },
  };
  return JSON.stringify(document, null, 2) + "\n";
}
