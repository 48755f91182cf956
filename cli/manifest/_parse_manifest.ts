/**
 * parseManifest: manifest text to ResolvedManifest, or a ManifestError that
 * lists every problem at once. Pure: no I/O.
 *
 * Pass 1 (shape) walks the YAML nodes against MANIFEST_SCHEMA: types,
 * required keys, enums, ranges, unknown and duplicate keys. Pass 2 (cross-field)
 * checks rules between keys, only for keys that passed pass 1.
 */

import { type Document, isAlias, isMap, isScalar, type Node, type Pair, type YAMLMap } from "yaml";
import { type FileIssue, ManifestError } from "../errors/mod.ts";
import { DEFAULT_PROJECT, defaultNetworkName, DEFAULTS, defaultVolumeName } from "./_defaults.ts";
import { collisionMessage, findCollisions, outputPaths } from "./_output_paths.ts";
import { MANIFEST_SCHEMA, schemaPaths, type SectionSpec } from "./_schema.ts";
import { suggestKey } from "./_suggest.ts";
import { describeNode, isNullNode, parseYaml, resolveAlias } from "./_yaml.ts";
import type { ResolvedManifest } from "./types.ts";

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
}

class ManifestCheck {
  readonly issues: FileIssue[] = [];
  /** Dotted paths with a problem: cross-field rules skip them and what is under them. */
  readonly #bad = new Set<string>();
  /** Dotted paths of leaves that passed the shape pass. */
  readonly #given = new Map<string, Given>();
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
        this.#report(valueOffset, path, "must not be empty");
        continue;
      }
      const got = describeNode(this.#text, value);
      if (child.kind === "section") {
        if (isMap(value)) this.#section(child, value, [...parents, key]);
        else this.#report(valueOffset, path, `must be a mapping (got ${got})`);
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
      this.#given.set(path, { value: scalar, node: written ?? (value as Node) });
    }

    for (const [key, child] of Object.entries(spec.fields)) {
      if (child.required && !firstLine.has(key) && !suggested.has(key)) {
        this.#report(map.range?.[0] ?? 0, [...parents, key].join("."), "is required");
      }
    }
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
    return {
      project,
      services: {
        image: this.#get("services.image", ""),
        port: this.#get("services.port", 0),
        mode: this.#get("services.mode", d.services.mode),
        version: this.#get("services.version", d.services.version),
        restart_policy: this.#get("services.restart_policy", d.services.restart_policy),
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
    };
  }

  /** True when neither `path` nor a section above it had a shape problem. */
  #clean(path: string): boolean {
    for (const bad of this.#bad) {
      if (path === bad || path.startsWith(`${bad}.`)) return false;
    }
    return true;
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

  /** Pass 2: rules between keys. */
  #crossField(m: ResolvedManifest): void {
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
  }
}
