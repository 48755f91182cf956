/**
 * Do the containers' resource caps (`resources.<role>`, issue 17) fit the
 * engine that will run them? The manifest's own check knows only fixed
 * ranges (0.01-1024 CPUs, 6m-1024g, 16+ pids); the engine refuses more CPUs
 * than its host has ("Range of CPUs is from 0.01 to 2.00, as there are only
 * 2 CPUs available", Docker 20.10, HTTP 400 on POST /containers/create), and
 * a memory cap above the host's memory can never bind. Checked before
 * anything is created, each misfit located at its key in the manifest
 * (exit 2). Pure: no I/O; the engine's figures come from GET /info.
 */
import type { FileIssue } from "../errors/mod.ts";
import { type HardeningSpec, parseYaml, type ResourceRole } from "../manifest/mod.ts";

/** The engine's host as GET /info describes it; 0 when the engine does not say. */
export interface EngineHost {
  /** `NCPU`: CPUs the engine may give containers. */
  ncpu: number;
  /** `MemTotal`: the host's memory in bytes. */
  memTotal: number;
}

/** One cap that does not fit: its dotted manifest path and why. */
export interface Misfit {
  path: string;
  message: string;
}

/**
 * Every cap of the containers in `roles` (each role once) above what `host`
 * has: cpus above NCPU, memory above MemTotal. A host figure of 0 (unknown)
 * is not judged; exactly the host's figure fits.
 *
 * @returns in `roles` order, cpus before memory; empty when all fit
 */
export function resourceMisfits(
  hardening: HardeningSpec,
  host: EngineHost,
  roles: readonly ResourceRole[],
): Misfit[] {
  const misfits: Misfit[] = [];
  for (const role of roles) {
    const caps = hardening.resources[role];
    if (host.ncpu > 0 && caps.nano_cpus > host.ncpu * 1e9) {
      misfits.push({
        path: `resources.${role}.cpus`,
        message: `${caps.nano_cpus / 1e9} CPUs is more than the engine's host has (${host.ncpu})`,
      });
    }
    if (host.memTotal > 0 && caps.memory_bytes > host.memTotal) {
      misfits.push({
        path: `resources.${role}.memory`,
        message: `${caps.memory} is more than the engine's host has (${
          Math.floor(host.memTotal / 1024 ** 2)
        }m)`,
      });
    }
  }
  return misfits;
}

/**
 * The misfits as FileIssues of `file`, each at its key's line and column in
 * `text` (1-based); a cap not written (a default) is placed at line 1, col 1.
 */
export function locateMisfits(text: string, file: string, misfits: readonly Misfit[]): FileIssue[] {
  const { doc, lineCounter } = parseYaml(text, file);
  return misfits.map(({ path, message }) => {
    const keys = path.split(".");
    const parent = doc.getIn(keys.slice(0, -1), true) as
      | { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] }
      | undefined;
    const key = parent?.items?.find((pair) => pair.key?.value === keys.at(-1))?.key;
    const { line, col } = key?.range ? lineCounter.linePos(key.range[0]) : { line: 1, col: 1 };
    return { file, line, col, path, message };
  });
}
