/**
 * What a rollback's manifest text changes in the file it replaces: the
 * top-level and second-level keys (`services.source`, `rollout`, …) the
 * restored text removes, adds or gives another value. Pure.
 */
import YAML from "yaml";
import { canonicalJson } from "../digest/mod.ts";

/** One changed key path (`a` or `a.b`). */
export interface KeyChange {
  /** `removed`: in the file, not in the restored text; `added`: the reverse; `changed`: both, different values. */
  change: "removed" | "added" | "changed";
  path: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * The key paths (down to the second level) whose presence or value differ
 * between `before` (the manifest file's text) and `after` (the restored
 * release's text), in the file's key order then the new keys'. A
 * top-level key present on one side only is one entry (its children are
 * not listed); a top-level mapping present on both sides lists its
 * second-level keys that differ; any other differing value is `changed` at
 * the top level. Text that is not a YAML mapping gives one `changed` entry
 * for `(whole file)`.
 */
export function manifestKeyChanges(before: string, after: string): KeyChange[] {
  let a: unknown;
  let b: unknown;
  try {
    a = YAML.parse(before);
    b = YAML.parse(after);
  } catch {
    return before === after ? [] : [{ change: "changed", path: "(whole file)" }];
  }
  if (!isObj(a) || !isObj(b)) {
    return same(a, b) ? [] : [{ change: "changed", path: "(whole file)" }];
  }
  const out: KeyChange[] = [];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const k of keys) {
    if (!(k in b)) out.push({ change: "removed", path: k });
    else if (!(k in a)) out.push({ change: "added", path: k });
    else if (same(a[k], b[k])) continue;
    else if (isObj(a[k]) && isObj(b[k])) {
      const x = a[k] as Obj;
      const y = b[k] as Obj;
      for (const j of [...new Set([...Object.keys(x), ...Object.keys(y)])]) {
        const path = `${k}.${j}`;
        if (!(j in y)) out.push({ change: "removed", path });
        else if (!(j in x)) out.push({ change: "added", path });
        else if (!same(x[j], y[j])) out.push({ change: "changed", path });
      }
    } else out.push({ change: "changed", path: k });
  }
  return out;
}

/**
 * One short line for the operator, e.g. `removes services.source,
 * rollout; changes services.version; adds nginx.port`; "" when nothing
 * differs. At most `max` paths per kind are named, then "(+N more)".
 */
export function describeKeyChanges(changes: readonly KeyChange[], max = 8): string {
  const part = (kind: KeyChange["change"], verb: string) => {
    const paths = changes.filter((c) => c.change === kind).map((c) => c.path);
    if (paths.length === 0) return "";
    const shown = paths.slice(0, max).join(", ");
    return `${verb} ${shown}${paths.length > max ? ` (+${paths.length - max} more)` : ""}`;
  };
  return [part("removed", "removes"), part("changed", "changes"), part("added", "adds")]
    .filter(Boolean).join("; ");
}
