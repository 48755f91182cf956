/**
 * The shape of manifest.yaml: every key, whether it is required, and the
 * check its value must pass. Defaults live in _defaults.ts.
 */

import { durationSeconds } from "./_duration.ts";
import { privateSourceProblem, sizeBetween } from "./hardening.ts";

/** A single value. `check` returns what is wrong, or undefined when the value fits. */
export interface LeafSpec {
  kind: "leaf";
  required?: boolean;
  /** An older spelling still accepted; never offered as a suggestion. */
  legacy?: boolean;
  /** `null` (or `~`, or nothing) is a value of its own (e.g. "no cookie"), not an empty key. */
  nullable?: boolean;
  check: (value: unknown, source: string) => string | undefined;
}

/** A mapping of known keys. */
export interface SectionSpec {
  kind: "section";
  required?: boolean;
  /** `null` (or nothing after the colon) stands for an empty mapping: `analysis:` as `analysis: {}`. */
  nullable?: boolean;
  /** The mapping must hold exactly one of these keys (a rollout step is one kind of step). */
  exactlyOne?: readonly string[];
  fields: Readonly<Record<string, Spec>>;
}

/**
 * A sequence whose every item is a mapping of `items`' keys, or (with a leaf
 * spec) a single value that passes its check; `[]` is a valid (empty) list.
 */
export interface ListSpec {
  kind: "list";
  required?: boolean;
  /** How many items the list may hold at most. */
  maxItems: number;
  /** What one item is called in messages ("steps" holds "step"s). */
  itemName: string;
  /** An item as the user would write it, shown when an item is not a mapping. */
  example: string;
  items: SectionSpec | LeafSpec;
}

export type Spec = LeafSpec | SectionSpec | ListSpec;

const INTEGER_LITERAL = /^[-+]?(?:[0-9]+|0x[0-9a-fA-F]+|0o[0-7]+)$/;

function isInteger(value: unknown, source: string): value is number {
  return typeof value === "number" && Number.isInteger(value) && INTEGER_LITERAL.test(source);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function integerBetween(min: number, max: number): LeafSpec["check"] {
  return (value, source) =>
    isInteger(value, source) && value >= min && value <= max
      ? undefined
      : `must be an integer between ${min} and ${max}`;
}

function integerAtLeast(min: number): LeafSpec["check"] {
  return (value, source) =>
    isInteger(value, source) && value >= min ? undefined : `must be an integer of at least ${min}`;
}

const positiveNumber: LeafSpec["check"] = (value) =>
  isFiniteNumber(value) && value > 0 ? undefined : "must be a number greater than 0";

const percentage: LeafSpec["check"] = (value) =>
  isFiniteNumber(value) && value >= 0 && value <= 100
    ? undefined
    : "must be a percentage between 0 and 100";

function oneOf(values: readonly string[]): LeafSpec["check"] {
  const listed = values.length === 2
    ? `"${values[0]}" or "${values[1]}"`
    : `one of ${values.map((v) => `"${v}"`).join(", ")}`;
  return (value) =>
    typeof value === "string" && values.includes(value) ? undefined : `must be ${listed}`;
}

function string(check?: (value: string) => string | undefined): LeafSpec["check"] {
  return (value) => {
    if (typeof value !== "string") return "must be a string";
    return check?.(value);
  };
}

/** Lowercase, starts with a letter, at most 31 characters: safe in every Docker name. */
export const PROJECT_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;
/** What Docker accepts as a network or volume name. */
export const DOCKER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

const project = string((value) =>
  PROJECT_PATTERN.test(value)
    ? undefined
    : 'must start with a lowercase letter and hold only lowercase letters, digits and "-", at most 31 characters'
);

const image = string((value) =>
  /\s/.test(value) ? "must be an image reference without whitespace" : undefined
);

const dockerName = string((value) =>
  DOCKER_NAME_PATTERN.test(value) && value.length <= 128
    ? undefined
    : 'must be a Docker name: 2 to 128 letters, digits, "_", "." or "-", starting with a letter or digit'
);

const version: LeafSpec["check"] = (value, source) => {
  if (typeof value === "number") return `must be a quoted string such as "${source}"`;
  return typeof value === "string" ? undefined : "must be a string";
};

/**
 * Normalises a relative path ("a/./b/../c" to "a/c"); undefined when it is
 * absolute, climbs out of its folder, or names no file.
 */
export function insideFolder(path: string): string | undefined {
  if (/^[/\\]/.test(path) || /^[a-zA-Z]:/.test(path) || path.includes("\0")) return undefined;
  const parts: string[] = [];
  for (const part of path.split(/[/\\]/)) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  const last = path.split(/[/\\]/).at(-1);
  if (parts.length === 0 || last === "" || last === "." || last === "..") return undefined;
  return parts.join("/");
}

const relativeFile = string((value) =>
  insideFolder(value) === undefined
    ? "must be a relative path to a file inside the manifest folder"
    : undefined
);

const contact = string();

const boolean: LeafSpec["check"] = (value) =>
  typeof value === "boolean" ? undefined : "must be true or false";

/** Shortest and longest duration a pause, a window or a scrape interval may take, seconds. */
export const DURATION_LIMITS = { min: 1, max: 3600 } as const;

/** A duration between 1 s and 1 h (see _duration.ts for the spellings). */
const duration: LeafSpec["check"] = (value, source) => {
  const seconds = durationSeconds(value, source);
  return seconds !== undefined && seconds >= DURATION_LIMITS.min && seconds <= DURATION_LIMITS.max
    ? undefined
    : "must be a duration between 1s and 1h, such as 30s, 2m, 1m30s or a whole number of seconds";
};

/** A duration of 0s (none) to 1h, for pauses between things that may follow at once. */
const durationOrZero: LeafSpec["check"] = (value, source) => {
  const seconds = durationSeconds(value, source);
  return seconds !== undefined && seconds >= 0 && seconds <= DURATION_LIMITS.max
    ? undefined
    : "must be a duration between 0s and 1h, such as 0s, 5s, 1m30s or a whole number of seconds";
};

/**
 * A Swarm placement constraint: `<attribute> == <value>` or `!=`, on the
 * attributes Swarm knows (node.id, node.hostname, node.role, node.platform.os,
 * node.platform.arch, node.labels.<name>, engine.labels.<name>).
 */
export const PLACEMENT_CONSTRAINT_PATTERN =
  /^(node\.(id|hostname|role|platform\.os|platform\.arch)|(node|engine)\.labels\.[A-Za-z0-9_.-]+)\s*(==|!=)\s*\S+$/;

const placementConstraint = string((value) =>
  PLACEMENT_CONSTRAINT_PATTERN.test(value.trim())
    ? undefined
    : 'must be a placement constraint such as "node.role == worker" or "node.labels.zone != b" (node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<name> or engine.labels.<name>, then == or !=, then a value)'
);

/** What a spread preference may spread over: a node attribute Swarm knows. */
export const SPREAD_PATTERN =
  /^(node\.(id|hostname|role|platform\.os|platform\.arch)|(node|engine)\.labels\.[A-Za-z0-9_.-]+)$/;

const spread = string((value) =>
  SPREAD_PATTERN.test(value)
    ? undefined
    : 'must be a node attribute to spread over, such as "node.hostname" or "node.labels.zone"'
);

/** The longest list of placement constraints. */
export const MAX_PLACEMENT_CONSTRAINTS = 32;

const canaryWeight: LeafSpec["check"] = (value, source) =>
  isInteger(value, source) && value >= 1 && value <= 99
    ? undefined
    : "must be an integer percentage between 1 and 99: 100 is implied after the last step";

/** Letters, digits and "-": the only header names nginx passes on by default (`ignore_invalid_headers`). */
export const HEADER_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

/**
 * Header names a pin header must not take: hop-by-hop headers (RFC 9110
 * 7.6.1; a proxy drops or consumes them), and headers nginx, the browser or
 * the app already give a meaning (routing, framing, identity, caching).
 */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "content-type",
  "content-encoding",
  "cookie",
  "set-cookie",
  "authorization",
  "expect",
  "range",
  "date",
  "via",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "x-request-id",
]);

const headerName = string((value) => {
  if (!HEADER_NAME_PATTERN.test(value)) {
    return 'must be a header name of letters, digits and "-", starting with a letter, at most 64 characters (nginx drops other names)';
  }
  if (RESERVED_HEADERS.has(value.toLowerCase())) {
    return "must not be a hop-by-hop or reserved header name";
  }
  return undefined;
});

/** A cookie-name: an RFC 6265 token (RFC 9110 tchar), at most 64 characters. */
export const COOKIE_NAME_PATTERN = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,64}$/;

const cookieName: LeafSpec["check"] = (value) => {
  if (value === null) return undefined;
  if (typeof value !== "string") return "must be a cookie name or null (no sticky cookie)";
  if (!COOKIE_NAME_PATTERN.test(value)) {
    return "must be a cookie name: 1 to 64 letters, digits or !#$%&'*+-.^_`|~ (RFC 6265), or null";
  }
  if (/^__(host|secure)-/i.test(value)) {
    return 'must not start with "__Host-" or "__Secure-": browsers keep those only from HTTPS';
  }
  return undefined;
};

function numberBetween(min: number, max: number, what: string): LeafSpec["check"] {
  return (value) =>
    isFiniteNumber(value) && value >= min && value <= max
      ? undefined
      : `must be ${what} between ${min} and ${max}`;
}

const ratio: LeafSpec["check"] = (value) =>
  isFiniteNumber(value) && value >= 1 && value <= 1000
    ? undefined
    : "must be a number between 1 and 1000 (the canary's P99 over stable's)";

/**
 * A registry address as Docker reads one: a host (a name with a "." or
 * "localhost", an IPv4 address, or a bracketed IPv6 address) and an optional
 * port, with no scheme and no path. A first component without "." or ":"
 * would be read as a Docker Hub user name, so it is refused.
 */
export const REGISTRY_ADDRESS_PATTERN =
  /^(?:localhost|(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?|[A-Za-z0-9-]+(?=:)|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?$/;

const registryAddress: LeafSpec["check"] = (value) => {
  if (value === null) return undefined;
  const shape =
    'must be a registry address "host[:port]" such as "registry.example.com:5000" or "127.0.0.1:5000" (no scheme, no path; a name without "." needs a port), or null for the lab\'s registry';
  if (typeof value !== "string") return shape;
  const match = REGISTRY_ADDRESS_PATTERN.exec(value);
  if (!match) return shape;
  const port = match[1] === undefined ? 443 : Number(match[1]);
  return port >= 1 && port <= 65535 ? undefined : shape;
};

const registryUser: LeafSpec["check"] = (value) => {
  if (value === null) return undefined;
  return typeof value === "string" && value.length > 0 && value.length <= 256 &&
      !/[:\s]/.test(value)
    ? undefined
    : 'must be a user name without ":" or whitespace, or null';
};

/** An environment variable's name (POSIX: letters, digits, "_", not starting with a digit). */
const envName: LeafSpec["check"] = (value) => {
  if (value === null) return undefined;
  return typeof value === "string" && /^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(value)
    ? undefined
    : 'must be the name of an environment variable (letters, digits, "_"), or null';
};

const secretFile: LeafSpec["check"] = (value) => {
  if (value === null) return undefined;
  return typeof value === "string" && value.trim() !== "" && !value.includes("\0")
    ? undefined
    : "must be the path of a file holding the password, or null";
};

/**
 * `services.source.repo`: a git URL or a local path; never one git could read
 * as an option (no leading "-"), no whitespace or NUL.
 */
const sourceRepo: LeafSpec["check"] = (value) =>
  typeof value === "string" && value.length > 0 && value.length <= 1024 &&
    !value.startsWith("-") && !/[\s\0]/.test(value)
    ? undefined
    : 'must be a git URL or the path of a local repository (no whitespace, not starting with "-")';

/** A branch name git accepts (a subset of git-check-ref-format: no "..", "//", "@{", no leading "-"). */
export const BRANCH_PATTERN =
  /^(?![-/.])(?!.*(?:\.\.|\/\/|@\{|\.lock$|[/.]$))[A-Za-z0-9._/-]{1,200}$/;

const branchName = string((value) =>
  BRANCH_PATTERN.test(value)
    ? undefined
    : 'must be a branch name such as "main" (letters, digits, ".", "_", "-", "/")'
);

const hookSecretFile: LeafSpec["check"] = (value) => {
  if (value === null) return undefined;
  return typeof value === "string" && value.trim() !== "" && !value.includes("\0")
    ? undefined
    : "must be the path of a file holding the webhook secret, or null";
};

function leaf(check: LeafSpec["check"], required = false): LeafSpec {
  return { kind: "leaf", required, check };
}

/** The longest step list a rollout may have. */
export const MAX_ROLLOUT_STEPS = 64;

/** The kinds of rollout step, in Argo Rollouts' vocabulary; a step holds exactly one. */
export const STEP_KINDS = ["weight", "pause", "analysis"] as const;

/** The most replicas a service may ask for. */
export const MAX_REPLICAS = 1000;

/** An environment's name: lowercase, starts with a letter, at most 16 characters (a folder name). */
export const ENVIRONMENT_NAME_PATTERN = /^[a-z][a-z0-9-]{0,15}$/;

/** The most environments a manifest may declare. */
export const MAX_ENVIRONMENTS = 16;

/** The longest soak: 720 h (30 days). */
export const MAX_SOAK_SECONDS = 720 * 3600;

/** RFC 3339 in UTC ("Z"), seconds required, fractions allowed. */
export const RFC3339_UTC_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;

const environmentName = string((value) =>
  ENVIRONMENT_NAME_PATTERN.test(value)
    ? undefined
    : 'must start with a lowercase letter and hold only lowercase letters, digits and "-", at most 16 characters'
);

const soak: LeafSpec["check"] = (value, source) => {
  const seconds = durationSeconds(value, source);
  return seconds !== undefined && seconds <= MAX_SOAK_SECONDS
    ? undefined
    : "must be a duration between 0s and 720h, such as 0s, 10m, 1h30m or a whole number of seconds";
};

const utcInstant: LeafSpec["check"] = (value) =>
  typeof value === "string" && RFC3339_UTC_PATTERN.test(value) && !Number.isNaN(Date.parse(value))
    ? undefined
    : 'must be an RFC 3339 time in UTC such as "2026-12-24T00:00:00Z" (quote it)';

const allowedRegistry: LeafSpec["check"] = (value) =>
  typeof value === "string" && REGISTRY_ADDRESS_PATTERN.test(value)
    ? undefined
    : 'must be a registry address "host[:port]" such as "docker.io" or "127.0.0.1:5000"';

const port = () => leaf(integerBetween(1, 65535));

/**
 * `policy_limits`: the thresholds the policies judge by, at the top level and
 * as an environment's override (one spec, so both accept the same keys).
 */
const POLICY_LIMITS_SPEC: SectionSpec = {
  kind: "section",
  fields: {
    infrastructure: {
      kind: "section",
      fields: {
        min_disk_free_gb: leaf(positiveNumber),
        max_cpu_load: leaf(positiveNumber),
        min_mem_free_percent: leaf(percentage),
      },
    },
    canary: {
      kind: "section",
      fields: {
        max_error_rate_percent: leaf(percentage),
        max_p99_latency_ms: leaf(positiveNumber),
        window_seconds: leaf(integerBetween(1, 3600)),
        min_requests: leaf(integerAtLeast(1)),
      },
    },
  },
};

/** `environments`: the stacks a release is promoted through, in order (issue 15). */
const ENVIRONMENTS_SPEC: ListSpec = {
  kind: "list",
  maxItems: MAX_ENVIRONMENTS,
  itemName: "environment",
  example: "name: staging",
  items: {
    kind: "section",
    fields: {
      name: leaf(environmentName, true),
      project: leaf(project),
      target: leaf(oneOf(["engine", "swarm"])),
      nginx: { kind: "section", fields: { port: port() } },
      opa: { kind: "section", fields: { port: port() } },
      prometheus: { kind: "section", fields: { port: port() } },
      policy_limits: POLICY_LIMITS_SPEC,
      soak: leaf(soak),
      production: leaf(boolean),
      freezes: {
        kind: "list",
        maxItems: 64,
        itemName: "freeze",
        example: 'start: "2026-12-24T00:00:00Z"',
        items: {
          kind: "section",
          fields: {
            start: leaf(utcInstant, true),
            end: leaf(utcInstant, true),
            reason: leaf(string()),
          },
        },
      },
    },
  },
};

/** `promotion`: the supply-chain rules of every environment promotion. */
const PROMOTION_SPEC: SectionSpec = {
  kind: "section",
  fields: {
    allowed_registries: {
      kind: "list",
      maxItems: 64,
      itemName: "registry",
      example: "docker.io",
      items: leaf(allowedRegistry),
    },
  },
};

/** One container's caps under `resources` (issue 17). */
const containerResources: SectionSpec = {
  kind: "section",
  fields: {
    // Docker refuses less than 6 MB.
    memory: leaf(sizeBetween("6m", "1024g")),
    cpus: leaf(numberBetween(0.01, 1024, "a number of CPUs")),
    pids: leaf(integerBetween(16, 4194304)),
  },
};

export const MANIFEST_SCHEMA: SectionSpec = {
  kind: "section",
  required: true,
  fields: {
    project: leaf(project),
    target: leaf(oneOf(["engine", "swarm"])),
    services: {
      kind: "section",
      required: true,
      fields: {
        image: leaf(image, true),
        port: leaf(integerBetween(1, 65535), true),
        mode: leaf(oneOf(["stable", "canary"])),
        version: leaf(version),
        restart_policy: leaf(oneOf(["no", "always", "on-failure", "unless-stopped"])),
        log_volume: { kind: "leaf", legacy: true, check: dockerName },
        replicas: leaf(integerBetween(1, MAX_REPLICAS)),
        source: {
          kind: "section",
          fields: {
            repo: leaf(sourceRepo, true),
            branch: leaf(branchName),
            entry: leaf(relativeFile),
            secret_env: leaf(envName),
            secret_file: leaf(hookSecretFile),
          },
        },
        placement: {
          kind: "section",
          fields: {
            constraints: {
              kind: "list",
              maxItems: MAX_PLACEMENT_CONSTRAINTS,
              itemName: "constraint",
              example: "node.role == worker",
              items: leaf(placementConstraint),
            },
            spread: leaf(spread),
          },
        },
        update: {
          kind: "section",
          fields: {
            parallelism: leaf(integerBetween(1, MAX_REPLICAS)),
            delay: leaf(durationOrZero),
            monitor: leaf(duration),
            failure_action: leaf(oneOf(["rollback", "pause"])),
            order: leaf(oneOf(["start-first", "stop-first"])),
          },
        },
      },
    },
    nginx: {
      kind: "section",
      required: true,
      fields: {
        image: leaf(image, true),
        port: leaf(integerBetween(1, 65535), true),
        proxy_timeout: leaf(integerBetween(1, 3600)),
        contact: leaf(contact),
        private_sources: {
          kind: "list",
          maxItems: 64,
          itemName: "source",
          example: "203.0.113.7",
          items: leaf(privateSourceProblem),
        },
      },
    },
    opa: {
      kind: "section",
      fields: {
        image: leaf(image),
        port: leaf(integerBetween(1, 65535)),
        decision_timeout_seconds: leaf((value) =>
          isFiniteNumber(value) && value > 0 && value <= 60
            ? undefined
            : "must be a number greater than 0 and at most 60"
        ),
      },
    },
    network: {
      kind: "section",
      fields: {
        name: leaf(dockerName),
        driver_type: leaf((value) =>
          value === "bridge"
            ? undefined
            : 'must be "bridge", the only driver supported on a single host'
        ),
      },
    },
    logs: {
      kind: "section",
      fields: {
        volume_name: leaf(dockerName),
        containers: {
          kind: "section",
          fields: {
            driver: leaf(oneOf(["json-file", "local"])),
            max_size: leaf(sizeBetween("1m", "10g")),
            max_files: leaf(integerBetween(1, 100)),
          },
        },
        nginx: {
          kind: "section",
          fields: {
            max_size: leaf(sizeBetween("256k", "10g")),
            max_files: leaf(integerBetween(2, 100)),
          },
        },
      },
    },
    resources: {
      kind: "section",
      fields: {
        app: containerResources,
        nginx: containerResources,
        opa: containerResources,
        prometheus: containerResources,
      },
    },
    policy_limits: POLICY_LIMITS_SPEC,
    audit: {
      kind: "section",
      fields: {
        history_file: leaf(relativeFile),
        report_file: leaf(relativeFile),
      },
    },
    rollout: {
      kind: "section",
      fields: {
        strategy: leaf(oneOf(["switch", "canary"])),
        steps: {
          kind: "list",
          maxItems: MAX_ROLLOUT_STEPS,
          itemName: "step",
          example: "weight: 10",
          items: {
            kind: "section",
            exactlyOne: STEP_KINDS,
            fields: {
              weight: leaf(canaryWeight),
              pause: leaf(duration),
              analysis: {
                kind: "section",
                nullable: true,
                fields: { window: leaf(duration) },
              },
            },
          },
        },
        analysis: {
          kind: "section",
          fields: {
            source: leaf(oneOf(["edge", "prometheus"])),
            window: leaf(duration),
            min_requests: leaf(integerAtLeast(1)),
            max_error_rate_percent: leaf(percentage),
            max_error_rate_increase_points: leaf(
              numberBetween(0, 100, "a number of percentage points"),
            ),
            max_p99_latency_ms: leaf(positiveNumber),
            max_p99_ratio: leaf(ratio),
            p99_ratio_floor_ms: leaf(numberBetween(0, 60000, "a number of milliseconds")),
            failure_limit: leaf(integerBetween(0, 100)),
            inconclusive_limit: leaf(integerBetween(0, 100)),
          },
        },
        routing: {
          kind: "section",
          fields: {
            header: leaf(headerName),
            sticky_cookie: { kind: "leaf", nullable: true, check: cookieName },
          },
        },
      },
    },
    registry: {
      kind: "section",
      fields: {
        address: { kind: "leaf", nullable: true, check: registryAddress },
        insecure: leaf(boolean),
        username: { kind: "leaf", nullable: true, check: registryUser },
        password_env: { kind: "leaf", nullable: true, check: envName },
        password_file: { kind: "leaf", nullable: true, check: secretFile },
      },
    },
    environments: ENVIRONMENTS_SPEC,
    promotion: PROMOTION_SPEC,
    prometheus: {
      kind: "section",
      fields: {
        enabled: leaf(boolean),
        image: leaf(image),
        port: leaf(integerBetween(1, 65535)),
        scrape_interval: leaf(duration),
      },
    },
    releases: { kind: "section", fields: { retain: leaf(integerBetween(1, 1000)) } },
  },
};

/**
 * Every non-legacy key path of the schema, e.g. ["nginx", "contact"]; keys of
 * a list's items sit under "<list>[]", e.g. ["rollout", "steps[]", "weight"].
 */
export function schemaPaths(
  spec: SectionSpec = MANIFEST_SCHEMA,
  prefix: string[] = [],
): string[][] {
  const out: string[][] = [];
  for (const [key, child] of Object.entries(spec.fields)) {
    if (child.kind === "leaf" && child.legacy) continue;
    out.push([...prefix, key]);
    if (child.kind === "section") out.push(...schemaPaths(child, [...prefix, key]));
    if (child.kind === "list" && child.items.kind === "section") {
      out.push(...schemaPaths(child.items, [...prefix, `${key}[]`]));
    }
  }
  return out;
}
