/**
 * Engine parity: the in-process WASM build and the OPA server must return the
 * same decision, reason strings included, for the same input and data.
 * generateParitySamples() is pure and deterministic (seeded); it puts values
 * on, just inside and just outside every threshold (±0.005, ±0.01), zeros,
 * huge values, numbers JSON writes with exponents, rounding ties, missing and
 * null fields, wrong types, both promotion directions and the same mode;
 * for the rollout package, every outcome (continue, hold for too little
 * traffic, hold for a failure within failure_limit, rollback on each check),
 * unknown figures, counts at their tolerance, and sums and products that
 * binary floats get wrong at a limit.
 */
import { canonicalJson } from "../digest/mod.ts";
import { DEFAULTS } from "../manifest/mod.ts";
import type { ResolvedManifest, RolloutSpec } from "../manifest/types.ts";
import type { Decision, Domain, PolicyEvaluator } from "./decision.ts";

/** `data.limits.rollout`: rollout.analysis without what only the controller reads. */
export type RolloutLimits = Omit<RolloutSpec["analysis"], "source" | "window_seconds">;

/**
 * `data.limits` as `init` renders it. `rollout` may be left out (the
 * manifest's policy_limits alone): the rollout samples then sit around the
 * default thresholds, which only makes them less pointed; parity holds for
 * any data, since both engines get the same.
 */
export type PolicyLimits = ResolvedManifest["policy_limits"] & {
  rollout?: RolloutLimits;
  promotion?: PromotionLimits;
};

/**
 * `data.limits.promotion` as `init` renders it for an environment (see
 * policies/promotion.rego and cli/promotion): times as RFC 3339 and as Unix
 * seconds.
 */
export interface PromotionLimits {
  environment: string;
  from: string;
  production: boolean;
  soak_seconds: number;
  allowed_registries: string[];
  freezes: { start: string; end: string; start_s: number; end_s: number; reason: string }[];
}

/** Production after staging, 600 s soak, one freeze: what the promotion samples judge against. */
export const DEFAULT_PROMOTION_LIMITS: PromotionLimits = {
  environment: "prod",
  from: "staging",
  production: true,
  soak_seconds: 600,
  allowed_registries: ["docker.io", "registry.example.com:5000"],
  freezes: [{
    start: "2026-12-24T00:00:00Z",
    end: "2026-12-27T00:00:00Z",
    start_s: 1798070400,
    end_s: 1798329600,
    reason: "holidays",
  }],
};

const DEFAULT_ROLLOUT_LIMITS: RolloutLimits = (() => {
  const { source: _source, window_seconds: _window, ...limits } = DEFAULTS.rollout.analysis;
  return limits;
})();

export interface ParitySample {
  domain: Domain;
  input: Record<string, unknown>;
}

/** What one engine made of a sample. */
export type EngineOutcome = { decision: Decision } | { error: string };

export interface ParityMismatch {
  index: number;
  sample: ParitySample;
  a: EngineOutcome;
  b: EngineOutcome;
  /** Decision keys that differ (`allow`, `reasons`, `domain`, `checked`), or `error`. */
  fields: string[];
}

const MISSING = Symbol("missing");
type Slot = unknown | typeof MISSING;

/** mulberry32: a small seeded PRNG, so a sample set can be regenerated exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values around a threshold, plus the awkward numbers. */
function aroundThreshold(t: number): number[] {
  return [
    t,
    t - 0.005,
    t + 0.005,
    t - 0.01,
    t + 0.01,
    t - 0.004,
    t + 0.004,
    t * 0.5,
    t * 3,
    0,
    1e9,
    1e21,
    1.5e-7,
    0.125,
    1.005,
    -1,
  ];
}

const INVALID_NUMBERS: Slot[] = [null, MISSING, "12", true, [1], { n: 1 }];

function build(fields: Record<string, Slot>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== MISSING) input[key] = value;
  return input;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function generateParitySamples(
  n: number,
  limits: PolicyLimits,
  seed = 20261121,
): ParitySample[] {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const infra = limits.infrastructure;
  const canary = limits.canary;
  const samples: ParitySample[] = [];

  // Infrastructure: one field at a time over its pool, the others healthy.
  const infraPools: Record<string, { pool: Slot[]; healthy: number }> = {
    disk_free_gb: {
      pool: [...aroundThreshold(infra.min_disk_free_gb), ...INVALID_NUMBERS],
      healthy: infra.min_disk_free_gb * 5 + 0.5,
    },
    cpu_load_1m: {
      pool: [...aroundThreshold(infra.max_cpu_load), ...INVALID_NUMBERS],
      healthy: round2(infra.max_cpu_load / 4),
    },
    mem_free_percent: {
      pool: [...aroundThreshold(infra.min_mem_free_percent), ...INVALID_NUMBERS],
      healthy: Math.min(100, infra.min_mem_free_percent * 4 + 0.25),
    },
  };
  const healthyInfra = Object.fromEntries(
    Object.entries(infraPools).map(([k, v]) => [k, v.healthy]),
  );
  for (const [field, { pool }] of Object.entries(infraPools)) {
    for (const value of pool) {
      samples.push({ domain: "infrastructure", input: build({ ...healthyInfra, [field]: value }) });
    }
  }
  samples.push({ domain: "infrastructure", input: {} });

  // Canary: every pair of modes, then each metric over its pool in both directions.
  const modes: Slot[] = ["stable", "canary", "blue", null, MISSING, 1, "Canary"];
  const metricPools: Record<string, Slot[]> = {
    error_rate_percent: [
      ...aroundThreshold(canary.max_error_rate_percent),
      100,
      56.45,
      ...INVALID_NUMBERS,
    ],
    p99_latency_ms: [...aroundThreshold(canary.max_p99_latency_ms), 612.3, ...INVALID_NUMBERS],
    request_count: [
      canary.min_requests - 1,
      canary.min_requests,
      canary.min_requests + 1,
      canary.min_requests - 0.5,
      canary.min_requests - 0.005,
      0,
      1,
      2,
      1e9,
      1e21,
      ...INVALID_NUMBERS,
    ],
    window_seconds: [
      canary.window_seconds,
      canary.window_seconds * 2,
      0,
      0.5,
      1e9,
      null,
      MISSING,
      "30s",
    ],
  };
  const healthyMetrics: Record<string, Slot> = {
    error_rate_percent: round2(canary.max_error_rate_percent / 5),
    p99_latency_ms: round2(canary.max_p99_latency_ms / 10),
    request_count: canary.min_requests * 10,
    window_seconds: canary.window_seconds,
  };
  for (const current_mode of modes) {
    for (const target_mode of modes) {
      samples.push({
        domain: "canary",
        input: build({ current_mode, target_mode, ...healthyMetrics }),
      });
    }
  }
  const directions = [
    { current_mode: "canary", target_mode: "stable" },
    { current_mode: "stable", target_mode: "canary" },
  ];
  for (const direction of directions) {
    for (const [field, pool] of Object.entries(metricPools)) {
      for (const value of pool) {
        samples.push({
          domain: "canary",
          input: build({ ...direction, ...healthyMetrics, [field]: value }),
        });
      }
    }
    // Too little traffic together with each bad metric.
    for (const field of ["error_rate_percent", "p99_latency_ms"]) {
      for (const value of metricPools[field] ?? []) {
        samples.push({
          domain: "canary",
          input: build({
            ...direction,
            ...healthyMetrics,
            request_count: canary.min_requests - 1,
            [field]: value,
          }),
        });
      }
    }
  }

  samples.push(...rolloutSamples(limits.rollout ?? DEFAULT_ROLLOUT_LIMITS));
  samples.push(...promotionSamples(limits.promotion ?? DEFAULT_PROMOTION_LIMITS));

  // Random combinations until n.
  const slot = (pool: readonly Slot[], low: number, high: number): Slot => {
    const r = random();
    if (r < 0.6) return pick(pool);
    if (r < 0.9) return round2(low + random() * (high - low));
    return low + random() * (high - low);
  };
  const rollout = limits.rollout ?? DEFAULT_ROLLOUT_LIMITS;
  while (samples.length < n) {
    const kind = random();
    if (kind > 0.75) {
      samples.push({ domain: "rollout", input: randomRolloutInput(rollout, random, pick) });
    } else if (kind < 0.3) {
      samples.push({
        domain: "infrastructure",
        input: build({
          disk_free_gb: slot(infraPools.disk_free_gb?.pool ?? [], 0, infra.min_disk_free_gb * 2),
          cpu_load_1m: slot(infraPools.cpu_load_1m?.pool ?? [], 0, infra.max_cpu_load * 2),
          mem_free_percent: slot(infraPools.mem_free_percent?.pool ?? [], 0, 100),
        }),
      });
    } else {
      const direction = random() < 0.8
        ? pick(directions)
        : { current_mode: pick(modes), target_mode: pick(modes) };
      samples.push({
        domain: "canary",
        input: build({
          ...direction,
          error_rate_percent: slot(
            metricPools.error_rate_percent ?? [],
            0,
            canary.max_error_rate_percent * 2,
          ),
          p99_latency_ms: slot(metricPools.p99_latency_ms ?? [], 0, canary.max_p99_latency_ms * 2),
          request_count: random() < 0.5
            ? pick(metricPools.request_count ?? [])
            : Math.floor(random() * canary.min_requests * 2),
          window_seconds: pick(metricPools.window_seconds ?? []),
        }),
      });
    }
  }
  return samples.slice(0, n);
}

/** A healthy variant: ten times the traffic needed, a fifth of the error and latency limits. */
function healthyVariant(l: RolloutLimits): Record<string, unknown> {
  return {
    requests: l.min_requests * 10,
    errors: 0,
    error_rate_percent: 0,
    p99_latency_ms: round2(l.max_p99_latency_ms / 5),
  };
}

/** Decimal `x`, cut to six places: what a sum or a product of short decimals is exactly. */
function exact(x: number): number {
  return Number(x.toFixed(6));
}

/** The deterministic rollout samples: every outcome, each check around its limit, bad fields. */
function rolloutSamples(l: RolloutLimits): ParitySample[] {
  const out: ParitySample[] = [];
  const base = {
    step: 2,
    weight: 10,
    window_seconds: 30,
    analyses_failed: 0,
    analyses_inconclusive: 0,
  };
  const push = (
    canary: Record<string, Slot>,
    stable: Record<string, Slot> = {},
    top: Record<string, Slot> = {},
  ) =>
    out.push({
      domain: "rollout",
      input: build({
        ...base,
        canary: build({ ...healthyVariant(l), ...canary }),
        stable: build({ ...healthyVariant(l), ...stable }),
        ...top,
      }),
    });

  // continue, and too little traffic on either side or both
  push({});
  for (const requests of [l.min_requests - 1, l.min_requests, 0, 1, l.min_requests - 0.5]) {
    push({ requests });
    push({}, { requests });
    push({ requests }, { requests });
  }
  // each absolute check around its limit, alone and with the relative ones
  for (const rate of aroundThreshold(l.max_error_rate_percent)) {
    push({ error_rate_percent: rate });
    push({ error_rate_percent: rate }, { error_rate_percent: rate });
  }
  for (const p99 of aroundThreshold(l.max_p99_latency_ms)) {
    push({ p99_latency_ms: p99 });
    push({ p99_latency_ms: p99 }, { p99_latency_ms: p99 });
  }
  for (const above of [l.max_p99_latency_ms, 10_000, 0.125]) {
    push({ p99_latency_ms: null, p99_above_ms: above });
    push({}, { p99_latency_ms: null, p99_above_ms: above });
    push({ p99_latency_ms: l.max_p99_latency_ms }, { p99_latency_ms: null, p99_above_ms: above });
  }
  // relative checks exactly at, and just past, stable plus or times the limit,
  // on stable figures whose sums and products binary floats round off
  for (const stable of [0, 0.1, 0.22, 1.1, 1.3, 2.2, 3, 7, 25, 0.3, 2.5, 1.005]) {
    const sum = exact(stable + l.max_error_rate_increase_points);
    for (const rate of [sum, exact(sum + 0.000001), exact(sum + 0.01), exact(sum - 0.01)]) {
      push({ error_rate_percent: rate }, { error_rate_percent: stable });
    }
    const product = exact(stable * l.max_p99_ratio);
    for (const p99 of [product, exact(product + 0.000001), exact(product + 0.01)]) {
      push({ p99_latency_ms: p99 }, { p99_latency_ms: stable });
    }
  }
  // the ratio's floor: at, just above and below it
  const floor = l.p99_ratio_floor_ms;
  for (const p99 of [floor, exact(floor + 0.000001), exact(floor - 0.01), exact(floor + 1)]) {
    push({ p99_latency_ms: p99 }, { p99_latency_ms: 0.5 });
  }
  // unknown and malformed figures, on each side
  for (const side of ["canary", "stable"] as const) {
    for (const field of ["requests", "error_rate_percent", "p99_latency_ms"]) {
      for (const value of INVALID_NUMBERS) {
        const figures = { [field]: value, unknown: value === null ? "counters reset" : MISSING };
        if (side === "canary") push(figures);
        else push({}, figures);
      }
    }
  }
  // counts at, below and past each tolerance, with a failing and a thin canary
  const counts: Slot[] = [0, 1, 2, -1, 0.5, null, MISSING, "1"];
  for (const limit of [l.failure_limit, l.inconclusive_limit]) {
    counts.push(limit - 1, limit, limit + 1);
  }
  for (const value of counts) {
    push({ error_rate_percent: 100 }, {}, { analyses_failed: value });
    push({ requests: 0 }, {}, { analyses_inconclusive: value });
  }
  // inputs that are not objects, variants that are not objects
  for (const input of [null, [], "rollout", {}, { canary: 5, stable: [] }]) {
    out.push({ domain: "rollout", input: input as Record<string, unknown> });
  }
  push({}, {}, { window_seconds: MISSING, step: MISSING, weight: MISSING });
  return out;
}

/**
 * The deterministic promotion samples: soak around its limit, each image
 * rule (`:latest`, untagged, unpinned, registry), another policy bundle, the
 * edges of every freeze, a replaced or unhealthy source, missing and
 * mistyped fields.
 */
function promotionSamples(l: PromotionLimits): ParitySample[] {
  const digest = `sha256:${"0123456789abcdef".repeat(4)}`;
  const since = 1796083200;
  const release = {
    number: 3,
    environment: l.from,
    status: "good",
    healthy_since: "2026-12-01T00:00:00Z",
    healthy_since_s: since,
    policy_bundle_hash: "a".repeat(64),
  };
  const image = {
    role: "app",
    ref: "shop:1.2.0",
    registry: l.allowed_registries[0] ?? "docker.io",
    tag: "1.2.0",
    digest,
  };
  const good = {
    now: "2026-12-01T01:00:00Z",
    now_s: since + l.soak_seconds + 60,
    release,
    source: { current_release: 3, healthy: true },
    images: [image, { ...image, role: "nginx", ref: "nginx:1.22", tag: "1.22" }],
    policy_bundle_hash: "a".repeat(64),
  };
  const out: ParitySample[] = [{ domain: "promotion", input: good }];
  const push = (input: Record<string, unknown>) => out.push({ domain: "promotion", input });
  for (const offset of [-1, 0, 1, -l.soak_seconds, 1e9]) {
    push({ ...good, now_s: since + l.soak_seconds + offset });
  }
  for (const value of INVALID_NUMBERS) {
    push(build({ ...good, now_s: value }));
    push({ ...good, release: build({ ...release, healthy_since_s: value }) });
  }
  const images: Record<string, unknown>[] = [
    { ref: "shop:latest", tag: "latest" },
    { ref: "shop", tag: null, digest: null },
    { digest: null },
    { digest: "sha256:short" },
    { ref: "evil.example.com/shop:1", registry: "evil.example.com" },
    { registry: null },
    { role: 7 },
  ];
  for (const change of images) push({ ...good, images: [{ ...image, ...change }] });
  push({ ...good, images: [] });
  push({ ...good, policy_bundle_hash: "b".repeat(64) });
  push({ ...good, release: { ...release, policy_bundle_hash: null } });
  push({ ...good, release: { ...release, status: "failed" } });
  push({ ...good, release: { ...release, environment: "elsewhere" } });
  push({ ...good, source: { current_release: 4, healthy: true } });
  push({ ...good, source: { current_release: null, healthy: false } });
  for (const freeze of l.freezes) {
    for (const at of [freeze.start_s - 1, freeze.start_s, freeze.end_s - 1, freeze.end_s]) {
      push({ ...good, now_s: at, release: { ...release, healthy_since_s: at - l.soak_seconds } });
    }
  }
  for (const input of [null, [], "promotion", {}]) push(input as Record<string, unknown>);
  return out;
}

/** A random rollout input: figures around the limits, now and then unknown. */
function randomRolloutInput(
  l: RolloutLimits,
  random: () => number,
  pick: <T>(items: readonly T[]) => T,
): Record<string, unknown> {
  const value = (limit: number): Slot => {
    const r = random();
    if (r < 0.05) return null;
    if (r < 0.4) return pick(aroundThreshold(limit));
    if (r < 0.8) return round2(random() * limit * 2);
    return random() * limit * 2;
  };
  const variant = () =>
    build({
      requests: random() < 0.5 ? pick([l.min_requests - 1, l.min_requests, 0]) : Math.floor(
        random() * l.min_requests * 20,
      ),
      errors: 0,
      error_rate_percent: value(l.max_error_rate_percent),
      p99_latency_ms: value(l.max_p99_latency_ms),
      ...(random() < 0.05 ? { p99_above_ms: l.max_p99_latency_ms * 2 } : {}),
    });
  return build({
    step: 2,
    weight: pick([1, 10, 50, 99]),
    window_seconds: 30,
    analyses_failed: pick([0, 0, 1, l.failure_limit]),
    analyses_inconclusive: pick([0, 0, 1, l.inconclusive_limit]),
    canary: variant(),
    stable: variant(),
  });
}

async function outcomeOf(engine: PolicyEvaluator, sample: ParitySample): Promise<EngineOutcome> {
  try {
    return { decision: await engine.evaluate(sample.domain, sample.input) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Evaluates every sample on both engines and returns where they differ. An
 * engine that fails on a sample is a mismatch too: both must decide all of them.
 */
export async function compareEngines(
  a: PolicyEvaluator,
  b: PolicyEvaluator,
  samples: readonly ParitySample[],
): Promise<ParityMismatch[]> {
  const mismatches: ParityMismatch[] = [];
  for (const [index, sample] of samples.entries()) {
    const [left, right] = await Promise.all([outcomeOf(a, sample), outcomeOf(b, sample)]);
    let fields: string[];
    if ("decision" in left && "decision" in right) {
      const keys = [...new Set([...Object.keys(left.decision), ...Object.keys(right.decision)])]
        .sort();
      fields = keys.filter((k) =>
        canonicalJson((left.decision as unknown as Record<string, unknown>)[k]) !==
          canonicalJson((right.decision as unknown as Record<string, unknown>)[k])
      );
    } else {
      fields = ["error"];
    }
    if (fields.length > 0) mismatches.push({ index, sample, a: left, b: right, fields });
  }
  return mismatches;
}
