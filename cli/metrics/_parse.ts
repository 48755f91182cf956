/**
 * Parser of the Prometheus text exposition format (version 0.0.4), the one
 * prom-client and every Prometheus client library serve on `/metrics`.
 *
 * Accepted: `# HELP` and `# TYPE` lines, other `#` comments, blank lines,
 * samples `name{label="value",...} value [timestamp]` with the label value
 * escapes `\\`, `\"` and `\n`, the values `+Inf`, `-Inf`, `NaN` (any case,
 * as Go's ParseFloat), a trailing comma in the label set, `\r\n` line ends.
 * Rejected with the line number: anything else, an unknown escape, a
 * repeated label, a repeated series, a second TYPE or HELP for one name, a
 * TYPE after that family's samples, a histogram bucket without `le`.
 */

import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import type { MetricFamily, MetricType, ParsedMetrics, Sample } from "./_types.ts";

/** The text could not be parsed; `line` is 1-based. */
export class PrometheusParseError extends SwiftDeployError {
  readonly line: number;

  constructor(line: number, detail: string) {
    super("METRICS_INVALID", `Cannot parse metrics: line ${line}: ${detail}`, {
      exitCode: ExitCode.failure,
      hint: "check that the URL serves Prometheus text format (GET /metrics of the app)",
    });
    this.name = "PrometheusParseError";
    this.line = line;
  }
}

const TYPES: ReadonlySet<string> = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

interface MutableFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
  typeLine: number;
  helpLine: number;
  /** `<name>_bucket` for a histogram, else "" (precomputed: this check is hot). */
  bucketName: string;
}

const SPACE = 0x20;
const TAB = 0x09;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39);
}

function isLabelStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

function isLabelChar(c: number): boolean {
  return isLabelStart(c) || (c >= 0x30 && c <= 0x39);
}

const SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;
const INTEGER = /^-?\d+$/;

/**
 * A float as Go's strconv.ParseFloat reads it (decimal forms, Inf, NaN), or
 * undefined. Used for sample values and `le` label values.
 */
export function parseFloatGo(token: string): number | undefined {
  if (isDecimal(token)) return Number(token);
  const special = SPECIAL.exec(token);
  if (special) {
    if ((special[2] ?? "").toLowerCase() === "nan") return special[1] === "" ? NaN : undefined;
    return special[1] === "-" ? -Infinity : Infinity;
  }
  return undefined;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?` — a hand loop, as hot as it gets. */
function isDecimal(t: string): boolean {
  const n = t.length;
  let i = 0;
  let c = t.charCodeAt(0);
  if (c === 0x2b || c === 0x2d) c = t.charCodeAt(++i);
  let digits = 0;
  while (i < n && isDigit(c)) {
    digits++;
    c = t.charCodeAt(++i);
  }
  if (c === 0x2e /* . */) {
    c = t.charCodeAt(++i);
    while (i < n && isDigit(c)) {
      digits++;
      c = t.charCodeAt(++i);
    }
  }
  if (digits === 0) return false;
  if (c === 0x65 || c === 0x45 /* e E */) {
    c = t.charCodeAt(++i);
    if (c === 0x2b || c === 0x2d) c = t.charCodeAt(++i);
    let exp = 0;
    while (i < n && isDigit(c)) {
      exp++;
      c = t.charCodeAt(++i);
    }
    if (exp === 0) return false;
  }
  return i === n;
}

/** Scans one sample line; positions index into `text`. */
class LineScanner {
  pos = 0;
  end = 0;
  line = 0;
  constructor(readonly text: string) {}

  reset(start: number, end: number, line: number): void {
    this.pos = start;
    this.end = end;
    this.line = line;
  }

  fail(detail: string): never {
    throw new PrometheusParseError(this.line, detail);
  }

  skipBlanks(): void {
    while (this.pos < this.end && isBlank(this.text.charCodeAt(this.pos))) this.pos++;
  }

  metricName(): string {
    const start = this.pos;
    if (start >= this.end || !isNameStart(this.text.charCodeAt(start))) {
      this.fail(
        `expected a metric name, got "${this.text.slice(start, Math.min(this.end, start + 20))}"`,
      );
    }
    this.pos++;
    while (this.pos < this.end && isNameChar(this.text.charCodeAt(this.pos))) this.pos++;
    return this.text.slice(start, this.pos);
  }

  labels(metric: string): Record<string, string> {
    const labels: Record<string, string> = {};
    // At "{".
    this.pos++;
    for (;;) {
      this.skipBlanks();
      if (this.pos >= this.end) this.fail(`unclosed label set of "${metric}"`);
      let c = this.text.charCodeAt(this.pos);
      if (c === 0x7d /* } */) {
        this.pos++;
        return labels;
      }
      if (!isLabelStart(c)) {
        this.fail(
          `invalid label name in "${metric}" at "${this.text.slice(this.pos, this.pos + 10)}"`,
        );
      }
      const nameStart = this.pos;
      while (this.pos < this.end && isLabelChar(this.text.charCodeAt(this.pos))) this.pos++;
      const name = this.text.slice(nameStart, this.pos);
      this.skipBlanks();
      if (this.text.charCodeAt(this.pos) !== 0x3d /* = */) {
        this.fail(`expected "=" after label "${name}" of "${metric}"`);
      }
      this.pos++;
      this.skipBlanks();
      if (this.text.charCodeAt(this.pos) !== 0x22 /* " */) {
        this.fail(`expected a quoted value for label "${name}" of "${metric}"`);
      }
      this.pos++;
      const value = this.quoted(metric, name);
      if (labels[name] !== undefined) this.fail(`label "${name}" repeated in "${metric}"`);
      labels[name] = value;
      this.skipBlanks();
      c = this.text.charCodeAt(this.pos);
      if (c === 0x2c /* , */) {
        this.pos++;
      } else if (c !== 0x7d) {
        this.fail(`expected "," or "}" after label "${name}" of "${metric}"`);
      }
    }
  }

  /** Reads a label value up to its closing quote (the opening one is consumed). */
  quoted(metric: string, label: string): string {
    let out = "";
    let chunk = this.pos;
    while (this.pos < this.end) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x22) {
        out += this.text.slice(chunk, this.pos);
        this.pos++;
        return out;
      }
      if (c === 0x5c /* \ */) {
        out += this.text.slice(chunk, this.pos);
        const next = this.text[this.pos + 1];
        if (next === "\\") out += "\\";
        else if (next === '"') out += '"';
        else if (next === "n") out += "\n";
        else {
          this.fail(
            `invalid escape "\\${
              next ?? ""
            }" in label "${label}" of "${metric}" (only \\\\, \\" and \\n)`,
          );
        }
        this.pos += 2;
        chunk = this.pos;
        continue;
      }
      this.pos++;
    }
    return this.fail(`unterminated value of label "${label}" in "${metric}"`);
  }

  token(): string {
    const start = this.pos;
    while (this.pos < this.end && !isBlank(this.text.charCodeAt(this.pos))) this.pos++;
    return this.text.slice(start, this.pos);
  }
}

function unescapeHelp(text: string, line: number): string {
  if (!text.includes("\\")) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === "\\") out += "\\";
    else if (next === "n") out += "\n";
    else throw new PrometheusParseError(line, `invalid escape "\\${next ?? ""}" in HELP text`);
    i++;
  }
  return out;
}

/** Parses exposition text into families; throws PrometheusParseError. */
export function parsePrometheusText(text: string): ParsedMetrics {
  const families = new Map<string, MutableFamily>();
  const seen = new Set<string>();
  let sampleCount = 0;
  let lineNo = 0;
  let start = 0;
  const length = text.length;

  const scan: LineScanner = new LineScanner(text);
  /** Family of each sample name seen so far. */
  const bySampleName = new Map<string, MutableFamily>();

  const declared = (name: string): MutableFamily => {
    let family = families.get(name);
    if (!family) {
      family = { name, type: "untyped", samples: [], typeLine: 0, helpLine: 0, bucketName: "" };
      families.set(name, family);
    }
    return family;
  };

  const familyOf = (sampleName: string): MutableFamily => {
    const known = bySampleName.get(sampleName);
    if (known) return known;
    const family = resolveFamily(sampleName);
    bySampleName.set(sampleName, family);
    return family;
  };

  const resolveFamily = (sampleName: string): MutableFamily => {
    const exact = families.get(sampleName);
    if (exact) return exact;
    for (const suffix of ["_bucket", "_sum", "_count"]) {
      if (!sampleName.endsWith(suffix)) continue;
      const base = families.get(sampleName.slice(0, -suffix.length));
      if (!base) continue;
      if (base.type === "histogram") return base;
      if (base.type === "summary" && suffix !== "_bucket") return base;
    }
    const family: MutableFamily = {
      name: sampleName,
      type: "untyped",
      samples: [],
      typeLine: 0,
      helpLine: 0,
      bucketName: "",
    };
    families.set(sampleName, family);
    return family;
  };

  while (start <= length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = length;
    const next = end + 1;
    lineNo++;
    let lineEnd = end;
    if (lineEnd > start && text.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;
    scan.reset(start, lineEnd, lineNo);
    start = next;
    scan.skipBlanks();
    if (scan.pos >= lineEnd) {
      if (end === length) break;
      continue;
    }

    if (text.charCodeAt(scan.pos) === 0x23 /* # */) {
      scan.pos++;
      scan.skipBlanks();
      const keyword = scan.token();
      if (keyword !== "HELP" && keyword !== "TYPE") continue; // plain comment
      scan.skipBlanks();
      if (scan.pos >= lineEnd) continue; // "# HELP" alone is a comment too
      const name = scan.metricName();
      const afterName = scan.pos;
      scan.skipBlanks();
      if (scan.pos === afterName && scan.pos < lineEnd) {
        scan.fail(`invalid metric name in ${keyword} line`);
      }
      const rest = text.slice(scan.pos, lineEnd);
      const family = declared(name);
      if (keyword === "HELP") {
        if (family.helpLine) {
          scan.fail(`second HELP line for "${name}" (first on line ${family.helpLine})`);
        }
        family.helpLine = lineNo;
        family.help = unescapeHelp(rest, lineNo);
      } else {
        const type = rest.trimEnd();
        if (!TYPES.has(type)) {
          scan.fail(`unknown metric type "${type}" for "${name}"`);
        }
        if (family.typeLine) {
          scan.fail(`second TYPE line for "${name}" (first on line ${family.typeLine})`);
        }
        if (family.samples.length > 0) scan.fail(`TYPE line for "${name}" after its samples`);
        family.typeLine = lineNo;
        family.type = type as MetricType;
        family.bucketName = type === "histogram" ? name + "_bucket" : "";
      }
      continue;
    }

    const name = scan.metricName();
    let labels: Record<string, string> = {};
    scan.skipBlanks();
    // The series key is the name and the label text as written: a repeated
    // line is a duplicate (the same labels in another order are not caught).
    let key = name;
    if (text.charCodeAt(scan.pos) === 0x7b /* { */) {
      const labelStart = scan.pos;
      labels = scan.labels(name);
      key = name + text.slice(labelStart, scan.pos);
      scan.skipBlanks();
    }
    const valueToken = scan.token();
    if (valueToken === "") scan.fail(`missing value for "${name}"`);
    const value = parseFloatGo(valueToken);
    if (value === undefined) scan.fail(`invalid value "${valueToken}" for "${name}"`);
    scan.skipBlanks();
    let timestampMs: number | undefined;
    if (scan.pos < lineEnd) {
      const tsToken = scan.token();
      if (!INTEGER.test(tsToken)) scan.fail(`invalid timestamp "${tsToken}" for "${name}"`);
      timestampMs = Number(tsToken);
      scan.skipBlanks();
      if (scan.pos < lineEnd) {
        scan.fail(
          `unexpected text after the timestamp of "${name}": "${text.slice(scan.pos, lineEnd)}"`,
        );
      }
    }

    const family = familyOf(name);
    if (name === family.bucketName) {
      const le = labels["le"];
      if (le === undefined) scan.fail(`histogram bucket "${name}" without "le" label`);
      if (parseFloatGo(le) === undefined) scan.fail(`invalid "le" value "${le}" in "${name}"`);
    }
    if (seen.has(key)) scan.fail(`duplicate series "${name}" with the same labels`);
    seen.add(key);
    const sample: Sample = timestampMs === undefined
      ? { name, labels, value, line: lineNo }
      : { name, labels, value, timestampMs, line: lineNo };
    family.samples.push(sample);
    sampleCount++;
    if (end === length) break;
  }

  const out = new Map<string, MetricFamily>();
  for (const [name, f] of families) {
    out.set(
      name,
      f.help === undefined
        ? { name, type: f.type, samples: f.samples }
        : { name, type: f.type, help: f.help, samples: f.samples },
    );
  }
  return { families: out, sampleCount };
}
