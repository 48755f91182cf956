/**
 * The shell of a promotion: what the source environment holds (release N's
 * record and manifest text, verified), what runs there now, and the policy
 * bundle that would gate the target.
 */
import { join } from "node:path";
import type { EngineClient } from "../engine/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { readIfExists } from "../fs/mod.ts";
import { LABEL_PROJECT, LABEL_ROLE } from "../plan/mod.ts";
import {
  BUNDLE_FILES,
  latestGood,
  listRecords,
  readBundleFile,
  type ReleaseRecord,
  verifyRelease,
} from "../release/mod.ts";

/** Release N of a source environment with the manifest text it applied. */
export interface SourceRelease {
  record: ReleaseRecord;
  text: string;
  /** The newest good release there, or null. */
  latest: number | null;
}

/**
 * Reads and verifies release `n` in the state folder `stateDir` of
 * environment `env`.
 *
 * @throws SwiftDeployError RELEASE_NOT_FOUND (exit 2) when there is none
 * @throws SwiftDeployError RELEASE_DAMAGED (exit 1) when its bundle fails verification
 */
export async function readSourceRelease(
  stateDir: string,
  env: string,
  n: number,
): Promise<SourceRelease> {
  const records = await listRecords(stateDir);
  const record = records.find((r) => r.number === n);
  if (!record) {
    throw new SwiftDeployError("RELEASE_NOT_FOUND", `Cannot find release ${n} of "${env}"`, {
      exitCode: ExitCode.invalid,
      hint: `\`swiftdeploy -e ${env} releases\` lists them`,
    });
  }
  const problems = await verifyRelease(stateDir, record);
  const text = await readBundleFile(stateDir, n, BUNDLE_FILES.manifest);
  if (problems.length > 0 || text === undefined) {
    throw new SwiftDeployError(
      "RELEASE_DAMAGED",
      `Cannot promote release ${n} of "${env}": its bundle ${
        problems.join("; ") || "has no manifest.yaml"
      }`,
      { hint: "promote another release; a damaged bundle is not evidence" },
    );
  }
  return { record, text, latest: latestGood(records)?.number ?? null };
}

/**
 * What the source stack runs now: whether every container of `project` is
 * running and healthy, and whether its app runs release `record`'s app image.
 */
export async function sourceNow(
  engine: EngineClient,
  project: string,
  record: ReleaseRecord,
): Promise<{ healthy: boolean; runsRelease: boolean }> {
  const containers = await engine.containerList([`${LABEL_PROJECT}=${project}`], true);
  const healthy = containers.length > 0 &&
    containers.every((c) => c.State === "running" && /\(healthy\)/.test(c.Status));
  const app = record.images.find((i) => i.role === "app")?.id;
  const runsRelease = app !== undefined && app !== null &&
    containers.some((c) => c.Labels[LABEL_ROLE] === "app" && c.ImageID === app);
  return { healthy, runsRelease };
}

/** The hash of the built policy bundle (`build/policy/policy.json`), null when none was built. */
export async function builtPolicyBundleHash(home: string): Promise<string | null> {
  const text = await readIfExists(join(home, "build", "policy", "policy.json"));
  try {
    const hash = text === undefined ? undefined : JSON.parse(text).hash;
    return typeof hash === "string" ? hash : null;
  } catch {
    return null;
  }
}
