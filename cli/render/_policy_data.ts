import type { ResolvedManifest } from "../manifest/types.ts";

/** Generation note carried as the first key of a generated JSON file. */
export interface GeneratedNote {
  by: "swiftdeploy init";
  from: string;
  manifest: string;
  note: string;
}

/** The OPA data document: the manifest's policy limits, read by the policies as `data.limits`. */
export function policyData(manifest: ResolvedManifest, generated: GeneratedNote): string {
  const { infrastructure, canary } = manifest.policy_limits;
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
    },
  };
  return JSON.stringify(document, null, 2) + "\n";
}
