/**
 * The shape of manifest.yaml: every key, whether it is required, and the
 * check its value must pass. Defaults live in _defaults.ts.
 */

/** A single value. `check` returns what is wrong, or undefined when the value fits. */
export interface LeafSpec {
  kind: "leaf";
  required?: boolean;
  /** An older spelling still accepted; never offered as a suggestion. */
  legacy?: boolean;
  check: (value: unknown, source: string) => string | undefined;
}

/** A mapping of known keys. */
export interface SectionSpec {
  kind: "section";
  required?: boolean;
  fields: Readonly<Record<string, Spec>>;
}

export type Spec = LeafSpec | SectionSpec;

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

function leaf(check: LeafSpec["check"], required = false): LeafSpec {
  return { kind: "leaf", required, check };
}

export const MANIFEST_SCHEMA: SectionSpec = {
  kind: "section",
  required: true,
  fields: {
    project: leaf(project),
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
      },
    },
    policy_limits: {
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
    },
    audit: {
      kind: "section",
      fields: {
        history_file: leaf(relativeFile),
        report_file: leaf(relativeFile),
      },
    },
  },
};

/** Every non-legacy key path of the schema, e.g. ["nginx", "contact"]. */
export function schemaPaths(
  spec: SectionSpec = MANIFEST_SCHEMA,
  prefix: string[] = [],
): string[][] {
  const out: string[][] = [];
  for (const [key, child] of Object.entries(spec.fields)) {
    if (child.kind === "leaf" && child.legacy) continue;
    out.push([...prefix, key]);
    if (child.kind === "section") out.push(...schemaPaths(child, [...prefix, key]));
  }
  return out;
}
