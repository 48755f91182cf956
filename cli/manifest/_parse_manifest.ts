/**
 * parseManifest: manifest text to ResolvedManifest, or a ManifestError that
 * lists every problem at once. Pure: no I/O.
 *
 * Pass 1 (shape) walks the YAML nodes against MANIFEST_SCHEMA: types,
 * required keys, enums, ranges, unknown and duplicate keys. Pass 2 (cross-field)
 * checks rules between keys, only for keys that passed pass 1.
 */

import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { type FileIssue, ManifestError } from "../errors/mod.ts";
import { DEFAULT_PROJECT, defaultNetworkName, DEFAULTS, defaultVolumeName } from "./_defaults.ts";
import { durationSeconds, formatDuration } from "./_duration.ts";
import {
  checkEnvironments,
  DEFAULT_ALLOWED_REGISTRIES,
  type EnvironmentReader,
  resolveEnvironments,
} from "./_environments.ts";
import { collisionMessage, findCollisions, outputPaths } from "./_output_paths.ts";
import {
  type LeafSpec,
  type ListSpec,
  MANIFEST_SCHEMA,
  schemaPaths,
  type SectionSpec,
} from "./_schema.ts";
import { suggestKey } from "./_suggest.ts";
import { canonicalJson } from "../digest/mod.ts";
import {
  containerResources,
  DEFAULT_RESOURCES,
  defaultHardening,
  RESOURCE_ROLES,
  sizeBytes,
} from "./hardening.ts";
import { describeNode, isNullNode, parseYaml, resolveAlias } from "./_yaml.ts";
import type {
  HardeningSpec,
  ResolvedManifest,
  RolloutStep,
  SourceSpec,
  SwarmSpec,
} from "./types.ts";

export interface ParseOptions {
  /**
   * How output paths (relative to the manifest folder, normalised) are
   * compared for collisions; the loader passes one that resolves symlinks.
   * Default: as written.
   */
  canonical?: (path: string) => string;
}

/**
 * Parses and validates manifest text. `fileName` is how the file is named in
 * messages (the path as the user gave it).
 *
 * @throws ManifestError with every problem found, sorted by line and column
 */
export function parseManifest(
  text: string,
  fileName: string,
  options: ParseOptions = {},
): ResolvedManifest {
  const { doc, lineCounter, syntaxIssues } = parseYaml(text, fileName);
  if (syntaxIssues.length > 0) throw new ManifestError(syntaxIssues);
  const check = new ManifestCheck(text, fileName, doc, lineCounter, options.canonical);
  const manifest = check.run();
  if (check.issues.length > 0 || manifest === undefined) {
    throw new ManifestError(
      check.issues.toSorted((a, b) => a.line - b.line || a.col - b.col),
    );
  }
  return manifest;
}

interface Given {
  value: unknown;
  /** The node to point at: the value as written (an alias stays an alias). */
  node: Node;
  /** The scalar as written in the file (of the aliased node for an alias). */
  source: string;
}

class ManifestCheck {
  readonly issues: FileIssue[] = [];
  /** Dotted paths with a problem: cross-field rules skip them and what is under them. */
  readonly #bad = new Set<string>();
  /** Dotted paths of leaves that passed the shape pass. */
  readonly #given = new Map<string, Given>();
  /** Dotted paths of mappings (sections, list items) that were written, with their offset. */
  readonly #sections = new Map<string, number>();
  /** Dotted paths of lists that were written, with their length and offset. */
  readonly #lists = new Map<string, { length: number; offset: number }>();
  readonly #text: string;
  readonly #file: string;
  readonly #doc: Document.Parsed;
  readonly #lines: { linePos(offset: number): { line: number; col: number } };
  readonly #canonical: ((path: string) => string) | undefined;

  constructor(
    text: string,
    file: string,
    doc: Document.Parsed,
    lines: { linePos(offset: number): { line: number; col: number } },
    canonical?: (path: string) => string,
  ) {
    this.#canonical = canonical;
    this.#text = text;
    this.#file = file;
    this.#doc = doc;
    this.#lines = lines;
  }

  run(): ResolvedManifest | undefined {
    const root = this.#doc.contents;
    if (isNullNode(root)) {
      this.#report(0, "", 'Manifest is empty: expected keys such as "services" and "nginx"');
      return undefined;
    }
    if (!isMap(root)) {
      this.#report(
        root?.range?.[0] ?? 0,
        "",
        `Manifest must be a mapping of keys such as "services" and "nginx" (got ${
          describeNode(this.#text, root)
        })`,
      );
      return undefined;
    }
    this.#section(MANIFEST_SCHEMA, root, []);
    // Keys with a problem resolve to their defaults here; pass 2 skips them.
    const manifest = this.#resolve();
    this.#environments(manifest);
    this.#crossField(manifest);
    return this.issues.length > 0 ? undefined : manifest;
  }

  #report(offset: number, path: string, message: string): void {
    const { line, col } = this.#lines.linePos(offset);
    this.issues.push({ file: this.#file, line, col, path, message });
    if (path) this.#bad.add(path);
  }

  /** Pass 1 for one mapping: every key it holds, then the required keys it lacks. */
  #section(spec: SectionSpec, map: YAMLMap, parents: string[]): void {
    const firstLine = new Map<string, number>();
    /** Keys an unknown key was taken for: not reported again as missing. */
    const suggested = new Set<string>();
    let unknownSeen = false;
    for (const pair of map.items as Pair<unknown, unknown>[]) {
      const keyNode = pair.key;
      const key = isScalar(keyNode) ? String(keyNode.value) : describeNode(this.#text, keyNode);
      const keyOffset = (keyNode as Node | null)?.range?.[0] ?? map.range?.[0] ?? 0;
      const path = [...parents, key].join(".");
      const earlier = firstLine.get(key);
      if (earlier !== undefined) {
        this.#report(keyOffset, path, `duplicate key (first defined on line ${earlier})`);
        continue;
      }
      firstLine.set(key, this.#lines.linePos(keyOffset).line);

      const child = Object.hasOwn(spec.fields, key) ? spec.fields[key] : undefined;
      if (child === undefined) {
        const [message, near] = this.#unknownKey(key, spec, parents);
        if (near !== undefined) suggested.add(near);
        unknownSeen = true;
        this.#report(keyOffset, path, message);
        continue;
      }
      const written = pair.value as Node | null;
      const value = resolveAlias(this.#doc, written) as Node | null | undefined;
      const valueOffset = written?.range && written.range[1] > written.range[0]
        ? written.range[0]
        : keyOffset;
      if (isAlias(written) && value === undefined) {
        this.#report(valueOffset, path, `refers to an undefined anchor (got *${written.source})`);
        continue;
      }
      if (isNullNode(value)) {
        if (child.kind === "leaf" && child.nullable) {
          this.#given.set(path, { value: null, node: (written ?? keyNode) as Node, source: "" });
        } else if (child.kind === "section" && child.nullable) {
          this.#sections.set(path, keyOffset);
        } else {
          this.#report(valueOffset, path, "must not be empty");
        }
        continue;
      }
      const got = describeNode(this.#text, value);
      if (child.kind === "section") {
        if (isMap(value)) {
          this.#sections.set(path, keyOffset);
          this.#section(child, value, [...parents, key]);
        } else {
          this.#report(valueOffset, path, `must be a mapping (got ${got})`);
        }
        continue;
      }
      if (child.kind === "list") {
        if (isSeq(value)) this.#list(child, value, [...parents, key], valueOffset);
        else this.#report(valueOffset, path, `must be a list (got ${got})`);
        continue;
      }
      const scalar = isScalar(value) ? value.value : value;
      if (typeof scalar === "string" && scalar.trim() === "") {
        this.#report(valueOffset, path, `must not be empty (got ${got})`);
        continue;
      }
      const source = isScalar(value) && value.range
        ? this.#text.slice(value.range[0], value.range[1]).trim()
        : "";
      const problem = child.check(scalar, source);
      if (problem !== undefined) {
        this.#report(valueOffset, path, `${problem} (got ${got})`);
        continue;
      }
      this.#given.set(path, { value: scalar, node: written ?? (value as Node), source });
    }

    for (const [key, child] of Object.entries(spec.fields)) {
      if (child.required && !firstLine.has(key) && !suggested.has(key)) {
        this.#report(map.range?.[0] ?? 0, [...parents, key].join("."), "is required");
      }
    }

    if (spec.exactlyOne !== undefined) {
      const held = spec.exactlyOne.filter((key) => firstLine.has(key));
      const kinds = spec.exactlyOne.map((key) => `"${key}"`);
      const listed = `${kinds.slice(0, -1).join(", ")} or ${kinds.at(-1)}`;
      if (held.length > 1) {
        this.#report(
          map.range?.[0] ?? 0,
          parents.join("."),
          `must hold exactly one of ${listed}, one step per list item (got ${
            held.map((key) => `"${key}"`).join(" and ")
          })`,
        );
      } else if (held.length === 0 && !unknownSeen) {
        this.#report(
          map.range?.[0] ?? 0,
          parents.join("."),
          `must hold exactly one of ${listed} (got an empty mapping)`,
        );
      }
    }
  }

  /**
   * Pass 1 for a list: its length, then every item as a mapping of the list's
   * item keys, named `<list>[<index>]` (`rollout.steps[2].weight`).
   */
  #list(spec: ListSpec, seq: YAMLSeq, parents: string[], offset: number): void {
    const path = parents.join(".");
    const key = parents.at(-1) ?? "";
    const items = seq.items as unknown[];
    if (items.length > spec.maxItems) {
      this.#report(
        offset,
        path,
        `must hold at most ${spec.maxItems} ${spec.itemName}s (got ${items.length})`,
      );
      return;
    }
    this.#lists.set(path, { length: items.length, offset });
    for (const [index, written] of items.entries()) {
      const itemParents = [...parents.slice(0, -1), `${key}[${index}]`];
      const itemPath = itemParents.join(".");
      const value = resolveAlias(this.#doc, written) as Node | null | undefined;
      const itemOffset = (written as Node | null)?.range?.[0] ?? offset;
      if (isAlias(written) && value === undefined) {
        this.#report(
          itemOffset,
          itemPath,
          `refers to an undefined anchor (got *${written.source})`,
        );
      } else if (spec.items.kind === "leaf") {
        this.#listValue(spec.items, written as Node | null, value, itemPath, itemOffset);
      } else if (isMap(value)) {
        this.#sections.set(itemPath, itemOffset);
        this.#section(spec.items, value, itemParents);
      } else {
        this.#report(
          itemOffset,
          itemPath,
          `must be a mapping such as "${spec.example}" (got ${describeNode(this.#text, value)})`,
        );
      }
    }
  }

  /** Pass 1 for one item of a list of values (`constraints[1]`): a scalar that passes the check. */
  #listValue(
    spec: LeafSpec,
    written: Node | null,
    value: Node | null | undefined,
    path: string,
    offset: number,
  ): void {
    const got = describeNode(this.#text, value);
    if (
      isNullNode(value) || (isScalar(value) && typeof value.value === "string" &&
        value.value.trim() === "")
    ) {
      this.#report(offset, path, `must not be empty (got ${got})`);
      return;
    }
    if (!isScalar(value)) {
      this.#report(offset, path, `must be a single value (got ${got})`);
      return;
    }
    const source = value.range ? this.#text.slice(value.range[0], value.range[1]).trim() : "";
    const problem = spec.check(value.value, source);
    if (problem !== undefined) {
      this.#report(offset, path, `${problem} (got ${got})`);
      return;
    }
    this.#given.set(path, { value: value.value, node: written ?? value, source });
  }

  /** The message for an unknown key, and the sibling it was probably meant to be. */
  #unknownKey(key: string, spec: SectionSpec, parents: string[]): [string, string | undefined] {
    const siblings = Object.entries(spec.fields)
      .filter(([, child]) => !(child.kind === "leaf" && child.legacy))
      .map(([name]) => name);
    const near = suggestKey(key, siblings);
    if (near !== undefined) return [`unknown key (did you mean "${near}"?)`, near];
    const elsewhere = schemaPaths().filter((path) => path.at(-1) === key).map((p) => p.join("."));
    if (elsewhere.length === 1) {
      return [`unknown key (did you mean "${elsewhere[0]}"?)`, undefined];
    }
    const where = parents.length === 0 ? "the top level" : `"${parents.join(".")}"`;
    return [`unknown key: ${where} accepts ${siblings.join(", ")}`, undefined];
  }

  #get<T>(path: string, fallback: T): T {
    const given = this.#given.get(path);
    return given === undefined ? fallback : given.value as T;
  }

  /** Every key of a section of numbers: the given value, or the section's default. */
  #numbers<T extends Record<string, number>>(prefix: string, defaults: T): T {
    const out: Record<string, number> = {};
    for (const [key, fallback] of Object.entries(defaults)) {
      out[key] = this.#get(`${prefix}.${key}`, fallback);
    }
    return out as T;
  }

  #resolve(): ResolvedManifest {
    const project = this.#get("project", DEFAULT_PROJECT);
    const d = DEFAULTS;
    const legacyVolume = this.#get<string | undefined>("services.log_volume", undefined);
    const a = d.rollout.analysis;
    return {
      project,
      target: this.#get("target", d.target),
      swarm: this.#swarm(),
      // Left out when it equals the defaults (hardeningSpec gives them), so
      // resolved manifests, their goldens and earlier bundles stay as they were.
      ...this.#hardeningIfChanged(),
      services: {
        image: this.#get("services.image", ""),
        port: this.#get("services.port", 0),
        mode: this.#get("services.mode", d.services.mode),
        version: this.#get("services.version", d.services.version),
        restart_policy: this.#get("services.restart_policy", d.services.restart_policy),
        ...this.#source(),
      },
      nginx: {
        image: this.#get("nginx.image", ""),
        port: this.#get("nginx.port", 0),
        proxy_timeout: this.#get("nginx.proxy_timeout", d.nginx.proxy_timeout),
        contact: this.#get("nginx.contact", d.nginx.contact),
      },
      opa: {
        image: this.#get("opa.image", d.opa.image),
        port: this.#get("opa.port", d.opa.port),
        decision_timeout_seconds: this.#get(
          "opa.decision_timeout_seconds",
          d.opa.decision_timeout_seconds,
        ),
      },
      network: {
        name: this.#get("network.name", defaultNetworkName(project)),
        driver_type: this.#get("network.driver_type", d.network.driver_type),
      },
      logs: {
        volume_name: this.#get("logs.volume_name", legacyVolume ?? defaultVolumeName(project)),
      },
      policy_limits: {
        infrastructure: this.#numbers(
          "policy_limits.infrastructure",
          d.policy_limits.infrastructure,
        ),
        canary: this.#numbers("policy_limits.canary", d.policy_limits.canary),
      },
      audit: {
        history_file: this.#get("audit.history_file", d.audit.history_file),
        report_file: this.#get("audit.report_file", d.audit.report_file),
      },
      rollout: {
        strategy: this.#get("rollout.strategy", d.rollout.strategy),
        steps: this.#steps(),
        analysis: {
          source: this.#get("rollout.analysis.source", d.rollout.analysis.source),
          window_seconds: this.#seconds("rollout.analysis.window", a.window_seconds),
          min_requests: this.#get("rollout.analysis.min_requests", a.min_requests),
          max_error_rate_percent: this.#get(
            "rollout.analysis.max_error_rate_percent",
            a.max_error_rate_percent,
          ),
          max_p99_latency_ms: this.#get(
            "rollout.analysis.max_p99_latency_ms",
            a.max_p99_latency_ms,
          ),
          max_error_rate_increase_points: this.#get(
            "rollout.analysis.max_error_rate_increase_points",
            a.max_error_rate_increase_points,
          ),
          max_p99_ratio: this.#get("rollout.analysis.max_p99_ratio", a.max_p99_ratio),
          p99_ratio_floor_ms: this.#get(
            "rollout.analysis.p99_ratio_floor_ms",
            a.p99_ratio_floor_ms,
          ),
          failure_limit: this.#get("rollout.analysis.failure_limit", a.failure_limit),
          inconclusive_limit: this.#get(
            "rollout.analysis.inconclusive_limit",
            a.inconclusive_limit,
          ),
        },
        routing: {
          header: this.#get("rollout.routing.header", d.rollout.routing.header),
          sticky_cookie: this.#get<string | null>(
            "rollout.routing.sticky_cookie",
            d.rollout.routing.sticky_cookie,
          ),
        },
      },
      registry: {
        address: this.#get<string | null>("registry.address", null),
        insecure: this.#get("registry.insecure", false),
        username: this.#get<string | null>("registry.username", null),
        password_env: this.#get<string | null>("registry.password_env", null),
        password_file: this.#get<string | null>("registry.password_file", null),
      },
      prometheus: {
        enabled: this.#get("prometheus.enabled", d.prometheus.enabled),
        image: this.#get("prometheus.image", d.prometheus.image),
        port: this.#get("prometheus.port", d.prometheus.port),
        scrape_interval_seconds: this.#seconds(
          "prometheus.scrape_interval",
          d.prometheus.scrape_interval_seconds,
        ),
      },
      ...(this.#given.has("releases.retain")
        ? { releases: { retain: this.#get("releases.retain", d.releases.retain) } }
        : {}),
    };
  }

  /** `services.source` resolved (see `SourceSpec`); absent when not written. */
  #source(): { source?: SourceSpec } {
    if (!this.#given.has("services.source.repo")) return {};
    return {
      source: {
        repo: this.#get("services.source.repo", ""),
        branch: this.#get("services.source.branch", "main"),
        entry: this.#get("services.source.entry", "service/main.ts"),
        secret_env: this.#get<string | null>("services.source.secret_env", null),
        secret_file: this.#get<string | null>("services.source.secret_file", null),
      },
    };
  }

  /** `{ hardening }` when it differs from `defaultHardening()`, else nothing. */
  #hardeningIfChanged(): { hardening?: HardeningSpec } {
    const h = this.#hardening();
    return canonicalJson(h) === canonicalJson(defaultHardening()) ? {} : { hardening: h };
  }

  /** `nginx.private_sources`, `logs.containers`, `logs.nginx` and `resources`, resolved. */
  #hardening(): HardeningSpec {
    const sources: string[] = [];
    const length = this.#lists.get("nginx.private_sources")?.length ?? 0;
    for (let index = 0; index < length; index++) {
      const given = this.#given.get(`nginx.private_sources[${index}]`);
      if (given !== undefined) sources.push(String(given.value));
    }
    const d = defaultHardening();
    const resources = {} as HardeningSpec["resources"];
    for (const role of RESOURCE_ROLES) {
      const r = DEFAULT_RESOURCES[role];
      const at = `resources.${role}`;
      resources[role] = containerResources(
        this.#get(`${at}.memory`, r.memory),
        this.#get(`${at}.cpus`, r.cpus),
        this.#get(`${at}.pids`, r.pids),
      );
    }
    const nginxSize = this.#get("logs.nginx.max_size", d.nginx_logs.max_size);
    return {
      private_sources: sources,
      container_logs: {
        driver: this.#get("logs.containers.driver", d.container_logs.driver),
        max_size: this.#get("logs.containers.max_size", d.container_logs.max_size),
        max_files: this.#get("logs.containers.max_files", d.container_logs.max_files),
      },
      nginx_logs: {
        max_size: nginxSize,
        max_size_bytes: sizeBytes(nginxSize) ?? d.nginx_logs.max_size_bytes,
        max_files: this.#get("logs.nginx.max_files", d.nginx_logs.max_files),
      },
      resources,
    };
  }

  /** `services.replicas`, `.placement` and `.update`, resolved (see `SwarmSpec`). */
  #swarm(): SwarmSpec {
    const d = DEFAULTS.swarm;
    const constraints: string[] = [];
    const length = this.#lists.get("services.placement.constraints")?.length ?? 0;
    for (let index = 0; index < length; index++) {
      const given = this.#given.get(`services.placement.constraints[${index}]`);
      if (given !== undefined) constraints.push(String(given.value).trim());
    }
    return {
      replicas: this.#get("services.replicas", d.replicas),
      placement: {
        constraints,
        spread: this.#get<string | null>("services.placement.spread", null),
      },
      update: {
        parallelism: this.#get("services.update.parallelism", d.update.parallelism),
        delay_seconds: this.#seconds("services.update.delay", d.update.delay_seconds),
        monitor_seconds: this.#seconds("services.update.monitor", d.update.monitor_seconds),
        failure_action: this.#get("services.update.failure_action", d.update.failure_action),
        order: this.#get("services.update.order", d.update.order),
      },
    };
  }

  /** A duration key in seconds: the given value, or `fallback`. */
  #seconds(path: string, fallback: number): number {
    const given = this.#given.get(path);
    return given === undefined ? fallback : durationSeconds(given.value, given.source) ?? fallback;
  }

  /** `rollout.steps` as written, each item as the one kind it holds (a broken item is left out). */
  #steps(): RolloutStep[] {
    const steps: RolloutStep[] = [];
    const length = this.#lists.get("rollout.steps")?.length ?? 0;
    for (let index = 0; index < length; index++) {
      const item = `rollout.steps[${index}]`;
      if (this.#given.has(`${item}.weight`)) {
        steps.push({ weight: this.#get(`${item}.weight`, 0) });
      } else if (this.#given.has(`${item}.pause`)) {
        steps.push({ pause_seconds: this.#seconds(`${item}.pause`, 0) });
      } else if (this.#sections.has(`${item}.analysis`)) {
        const window = `${item}.analysis.window`;
        steps.push({
          analysis: this.#given.has(window) ? { window_seconds: this.#seconds(window, 0) } : {},
        });
      }
    }
    return steps;
  }

  /** True when neither `path` nor a section above it had a shape problem. */
  #clean(path: string): boolean {
    for (const bad of this.#bad) {
      if (path === bad || path.startsWith(`${bad}.`) || path.startsWith(`${bad}[`)) return false;
    }
    return true;
  }

  /** True when `path` or anything written under it had a shape problem. */
  #troubled(path: string): boolean {
    for (const bad of this.#bad) {
      if (bad === path || bad.startsWith(`${path}.`) || bad.startsWith(`${path}[`)) return true;
    }
    return !this.#clean(path);
  }

  /** Points at the value of `path` as written. */
  #offsetOf(path: string): number {
    return this.#given.get(path)?.node.range?.[0] ?? 0;
  }

  /**
   * No two output paths (manifest, generated files, history and its head and
   * lock, report and chart, state files) may be one file or nest. Each
   * collision is reported on the key it comes from: the one the user wrote,
   * the later one when both are written.
   */
  #outputCollisions(m: ResolvedManifest): void {
    const outputs = outputPaths(m, this.#file).filter((o) =>
      o.field === undefined || this.#clean(o.field)
    );
    /** One message per key: a report named like a folder may hold several outputs. */
    const reported = new Set<string>();
    for (const c of findCollisions(outputs, this.#canonical)) {
      const keyed = [c.a, c.b].filter((o) => o.field !== undefined);
      if (c.a.scope !== c.b.scope) {
        if (reported.has("environments")) continue;
        reported.add("environments");
        this.#report(
          this.#lists.get("environments")?.offset ?? 0,
          "environments",
          `must give every environment a folder of its own: ${c.a.what} and ${c.b.what} are one path${
            c.resolved ? ` once symlinks are resolved ("${c.resolved.b}")` : ""
          }`,
        );
        continue;
      }
      if (keyed.length === 0) {
        this.#report(
          0,
          "",
          `Manifest cannot be written beside itself: ${c.a.what} and ${c.b.what} are one path; rename the manifest`,
        );
        continue;
      }
      const written = keyed.filter((o) => this.#given.has(o.field!));
      const own = (written.length > 0 ? written : keyed)
        .toSorted((x, y) => this.#offsetOf(y.field!) - this.#offsetOf(x.field!))[0]!;
      const field = own.field!;
      if (reported.has(field)) continue;
      reported.add(field);
      this.#report(
        this.#offsetOf(field),
        field,
        `${collisionMessage(c, own)} (got ${JSON.stringify(this.#get(field, ""))})`,
      );
    }
  }

  /** What cli/manifest/_environments.ts may read of this check (and report through it). */
  #reader(): EnvironmentReader {
    return {
      get: (path, fallback) => this.#get(path, fallback),
      has: (path) => this.#given.has(path),
      seconds: (path, fallback) => this.#seconds(path, fallback),
      length: (path) => this.#lists.get(path)?.length ?? 0,
      written: (path) => this.#lists.has(path) || this.#sections.has(path),
      clean: (path) => this.#clean(path),
      offsetOf: (path) =>
        this.#given.get(path)?.node.range?.[0] ?? this.#lists.get(path)?.offset ??
          this.#sections.get(path) ?? 0,
      report: (offset, path, message) => this.#report(offset, path, message),
    };
  }

  /**
   * `environments` and `promotion` (its defaults once environments are
   * declared), only when written: a manifest without them is unchanged.
   */
  #environments(m: ResolvedManifest): void {
    const environments = resolveEnvironments(this.#reader(), m);
    if (environments !== undefined) m.environments = environments;
    if (this.#sections.has("promotion") || environments !== undefined) {
      const registries: string[] = [];
      const length = this.#lists.get("promotion.allowed_registries")?.length ?? 0;
      for (let index = 0; index < length; index++) {
        const given = this.#given.get(`promotion.allowed_registries[${index}]`);
        if (given !== undefined) registries.push(String(given.value));
      }
      m.promotion = {
        allowed_registries: this.#lists.has("promotion.allowed_registries")
          ? registries
          : [...DEFAULT_ALLOWED_REGISTRIES],
      };
    }
  }

  /** Pass 2: rules between keys. */
  #crossField(m: ResolvedManifest): void {
    checkEnvironments(this.#reader(), m);
    // Both are published on the host, so they cannot share a port.
    if (this.#clean("nginx.port") && this.#clean("opa.port") && m.nginx.port === m.opa.port) {
      if (this.#given.has("opa.port")) {
        this.#report(
          this.#offsetOf("opa.port"),
          "opa.port",
          `must differ from nginx.port, both are published on the host (got ${m.opa.port})`,
        );
      } else {
        this.#report(
          this.#offsetOf("nginx.port"),
          "nginx.port",
          `must differ from opa.port (default ${m.opa.port}), both are published on the host (got ${m.nginx.port})`,
        );
      }
    }

    this.#outputCollisions(m);

    const legacy = this.#given.get("services.log_volume");
    if (legacy && this.#given.has("logs.volume_name")) {
      this.#report(
        legacy.node.range?.[0] ?? 0,
        "services.log_volume",
        "remove this old spelling of logs.volume_name: both are set",
      );
    }

    this.#rolloutSteps(m);
    this.#prometheus(m);
    this.#target(m);
    this.#registry(m);
    this.#sourceSecret(m);
  }

  /** The webhook secret is read from one place: an environment variable or a file. */
  #sourceSecret(m: ResolvedManifest): void {
    const s = m.services.source;
    if (!s || s.secret_env === null || s.secret_file === null) return;
    if (!this.#clean("services.source.secret_env") || !this.#clean("services.source.secret_file")) {
      return;
    }
    this.#report(
      this.#offsetOf("services.source.secret_file"),
      "services.source.secret_file",
      "must be null when services.source.secret_env is set: give the secret one way",
    );
  }

  /**
   * Registry credentials come as a pair: a user name and exactly one place
   * to read its password from (an environment variable or a file), never
   * the password itself.
   */
  #registry(m: ResolvedManifest): void {
    const r = m.registry;
    if (!r) return;
    const keys = ["username", "password_env", "password_file"].map((k) => `registry.${k}`);
    if (!keys.every((k) => this.#clean(k))) return;
    if (r.password_env !== null && r.password_file !== null) {
      this.#report(
        this.#offsetOf("registry.password_file"),
        "registry.password_file",
        "must be null when registry.password_env is set: give the password one way",
      );
      return;
    }
    const hasPassword = r.password_env !== null || r.password_file !== null;
    if (r.username !== null && !hasPassword) {
      this.#report(
        this.#offsetOf("registry.username"),
        "registry.username",
        "needs registry.password_env or registry.password_file: where to read its password",
      );
    } else if (r.username === null && hasPassword) {
      const key = r.password_env !== null ? "registry.password_env" : "registry.password_file";
      this.#report(this.#offsetOf(key), key, "needs registry.username: whose password it is");
    }
  }

  /**
   * The target against what only one target can do. On `engine` (one host)
   * there is one app container, so `services.replicas` above 1, placement
   * and update settings are refused, never ignored. On `swarm` the driver
   * runs the switch strategy only (Swarm's own rolling update) and no
   * Prometheus: a canary or Prometheus there is refused.
   */
  #target(m: ResolvedManifest): void {
    if (!this.#clean("target")) return;
    const given = this.#given.has("target");
    const target = `target is "${m.target}"${given ? "" : " (the default)"}`;
    if (m.target === "engine") {
      const replicas = this.#given.get("services.replicas");
      if (replicas !== undefined && (replicas.value as number) > 1) {
        this.#report(
          this.#offsetOf("services.replicas"),
          "services.replicas",
          `must be 1 when ${target}: one host runs one app container; set target "swarm" to run ${replicas.value} replicas (got ${replicas.value})`,
        );
      }
      for (const section of ["services.placement", "services.update"]) {
        const offset = this.#sections.get(section);
        if (offset === undefined || this.#troubled(section)) continue;
        this.#report(
          offset,
          section,
          `applies only to target "swarm" (${target}): remove it, or set target "swarm"`,
        );
      }
      return;
    }
    if (this.#clean("rollout.strategy") && m.rollout.strategy === "canary") {
      this.#report(
        this.#offsetOf("rollout.strategy"),
        "rollout.strategy",
        'must be "switch" when target is "swarm": Swarm rolls the app out itself (services.update), canary steps run on target "engine" only (got "canary")',
      );
    }
    if (this.#clean("prometheus.enabled") && m.prometheus.enabled) {
      this.#report(
        this.#offsetOf("prometheus.enabled"),
        "prometheus.enabled",
        'must be false when target is "swarm": the stack\'s Prometheus runs on target "engine" only (got true)',
      );
    }
    const replicas = m.swarm?.replicas ?? 1;
    const parallelism = this.#given.get("services.update.parallelism");
    if (
      parallelism !== undefined && this.#clean("services.replicas") &&
      (parallelism.value as number) > replicas
    ) {
      this.#report(
        this.#offsetOf("services.update.parallelism"),
        "services.update.parallelism",
        `must be at most services.replicas (${replicas}): Swarm cannot update more tasks at once than there are (got ${parallelism.value})`,
      );
    }
  }

  /**
   * The step list against the strategy: steps only with `canary`, which
   * needs at least one weight step; weights strictly increasing; an
   * analysis only once a weight step sent the canary traffic. A step with a
   * shape problem is skipped, and a rule that would only repeat one is not
   * applied.
   */
  #rolloutSteps(m: ResolvedManifest): void {
    const list = this.#lists.get("rollout.steps");
    if (!this.#clean("rollout.steps")) return;
    const length = list?.length ?? 0;
    const items = Array.from({ length }, (_, index) => `rollout.steps[${index}]`);
    /** A weight key was written in the item (valid or not). */
    const wroteWeight = (item: string) =>
      this.#given.has(`${item}.weight`) || this.#bad.has(`${item}.weight`);
    const strategyGiven = this.#given.has("rollout.strategy");

    if (this.#clean("rollout.strategy")) {
      if (m.rollout.strategy === "switch" && list !== undefined && length > 0) {
        this.#report(
          list.offset,
          "rollout.steps",
          `must be empty when rollout.strategy is "switch"${
            strategyGiven ? "" : " (the default)"
          }: set strategy "canary" to walk these steps, or remove them (got ${length} step${
            length === 1 ? "" : "s"
          })`,
        );
      }
      const allClean = items.every((item) => !this.#troubled(item));
      if (m.rollout.strategy === "canary" && allClean && !items.some(wroteWeight)) {
        if (list === undefined) {
          this.#report(
            this.#offsetOf("rollout.strategy"),
            "rollout.strategy",
            'needs rollout.steps with at least one "weight" step (got "canary" and no steps)',
          );
        } else {
          this.#report(
            list.offset,
            "rollout.steps",
            `must hold at least one "weight" step when rollout.strategy is "canary" (got ${
              length === 0 ? "an empty list" : `${length} step${length === 1 ? "" : "s"}, no weight`
            })`,
          );
        }
      }
    }

    let previous: { weight: number; item: string } | undefined;
    let weighted = false;
    for (const item of items) {
      if (wroteWeight(item)) weighted = true;
      if (!this.#clean(item)) continue;
      const weight = this.#given.get(`${item}.weight`);
      if (weight !== undefined) {
        const value = weight.value as number;
        if (previous !== undefined && value <= previous.weight) {
          this.#report(
            weight.node.range?.[0] ?? 0,
            `${item}.weight`,
            `must be greater than the weight before it (${previous.item}.weight is ${previous.weight}): weights only go up (got ${value})`,
          );
        } else {
          previous = { weight: value, item };
        }
      }
      const analysis = this.#sections.get(`${item}.analysis`);
      if (analysis !== undefined && !weighted) {
        this.#report(
          analysis,
          `${item}.analysis`,
          "must come after a weight step: before one the canary has no traffic to judge",
        );
      }
    }
  }

  /**
   * The stack's Prometheus: the only source of `prometheus` analysis, a
   * port of its own on the host, and a scrape interval that leaves two
   * scrapes in every analysis window (a rate needs two samples).
   */
  #prometheus(m: ResolvedManifest): void {
    if (!this.#clean("prometheus.enabled")) return;
    const enabled = m.prometheus.enabled;
    if (
      this.#given.has("rollout.analysis.source") && m.rollout.analysis.source === "prometheus" &&
      !enabled
    ) {
      this.#report(
        this.#offsetOf("rollout.analysis.source"),
        "rollout.analysis.source",
        'must be "edge" while prometheus.enabled is false: enable the stack\'s Prometheus to query it (got "prometheus")',
      );
    }
    if (!enabled) return;

    if (this.#clean("prometheus.port")) {
      const clashes = [["nginx.port", m.nginx.port], ["opa.port", m.opa.port]] as const;
      for (const [other, port] of clashes) {
        if (!this.#clean(other) || port !== m.prometheus.port) continue;
        if (this.#given.has("prometheus.port")) {
          this.#report(
            this.#offsetOf("prometheus.port"),
            "prometheus.port",
            `must differ from ${other}, both are published on the host (got ${port})`,
          );
        } else {
          this.#report(
            this.#offsetOf("prometheus.enabled"),
            "prometheus.enabled",
            `needs prometheus.port to differ from ${other}: the default ${port} is taken (got true)`,
          );
        }
        break;
      }
    }

    if (m.rollout.analysis.source !== "prometheus" || !this.#clean("prometheus.scrape_interval")) {
      return;
    }
    const interval = m.prometheus.scrape_interval_seconds;
    const windows = ["rollout.analysis.window"];
    const length = this.#lists.get("rollout.steps")?.length ?? 0;
    for (let index = 0; index < length; index++) {
      windows.push(`rollout.steps[${index}].analysis.window`);
    }
    for (const path of windows) {
      if (!this.#clean(path)) continue;
      const seconds = path === "rollout.analysis.window"
        ? m.rollout.analysis.window_seconds
        : this.#given.has(path)
        ? this.#seconds(path, 0)
        : undefined;
      if (seconds === undefined || seconds >= 2 * interval) continue;
      const at = this.#given.has(path)
        ? path
        : this.#given.has("prometheus.scrape_interval")
        ? "prometheus.scrape_interval"
        : "rollout.analysis.source";
      this.#report(
        this.#offsetOf(at),
        at,
        `${
          at === path ? "must be" : `needs ${path} (${formatDuration(seconds)}) to be`
        } at least twice prometheus.scrape_interval (${
          formatDuration(interval)
        }): a rate needs two scrapes in the window${
          at === path ? ` (got ${formatDuration(seconds)})` : ""
        }`,
      );
    }
  }
}
