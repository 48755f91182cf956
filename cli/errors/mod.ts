/**
 * Typed errors. Every failure the CLI reports is a SwiftDeployError with a
 * stable code, a hint for the operator and the exit code the process ends
 * with. Only cli/main.ts turns these into output and an exit.
 */

/** Exit codes shared by every command. */
export const ExitCode = {
  ok: 0,
  /** A check or operation failed (validate FAIL, deploy failed, engine unreachable). */
  failure: 1,
  /** The manifest or a command-line argument is invalid: nothing was changed. */
  invalid: 2,
  /** A policy denied the operation: nothing was changed. */
  policyDenied: 3,
  /** Another change holds the project lock. */
  locked: 4,
  /** The Docker Engine answers but shares no API version with this client: nothing was changed. */
  engineIncompatible: 5,
  /** DOCKER_HOST is not an address this client can use: nothing was contacted. */
  dockerHostInvalid: 6,
} as const;

export type ErrorCode =
  | "MANIFEST_INVALID"
  | "MANIFEST_NOT_FOUND"
  | "MANIFEST_CHANGED"
  | "USAGE"
  | "POLICY_DENIED"
  | "POLICY_UNAVAILABLE"
  | "POLICY_BUNDLE_MISSING"
  | "ENGINE_UNREACHABLE"
  | "ENGINE_ERROR"
  | "ENGINE_NOT_FOUND"
  | "ENGINE_CONFLICT"
  | "ENGINE_API_VERSION"
  | "DOCKER_HOST_INVALID"
  | "IMAGE_BUILD_FAILED"
  | "TOOL_MISSING"
  | "CHECK_FAILED"
  | "DEPLOY_FAILED"
  | "PROMOTE_FAILED"
  | "LOCKED"
  | "HISTORY_TAMPERED"
  | "HISTORY_KEY"
  | "METRICS_INVALID"
  | "METRICS_UNREACHABLE"
  | "ROLLOUT_ACTIVE"
  | "ROLLOUT_REJECTED"
  | "ROLLOUT_STATE"
  | "NO_ROLLOUT"
  | "ROUTES_INVALID"
  | "ROUTES_UNAPPLIED"
  | "LAB_FAILED"
  | "LAB_NOT_ROOT"
  | "SWARM_UNAVAILABLE"
  | "SWARM_CONFLICT"
  | "SWARM_ROLLED_BACK"
  | "SWARM_TIMEOUT"
  | "SWARM_FAILED"
  | "REGISTRY_UNAVAILABLE"
  | "REGISTRY_AUTH_FAILED"
  | "REGISTRY_PUSH_FAILED"
  | "TOKEN_STORE"
  | "SERVE_FAILED"
  | "RELEASE_NOT_FOUND"
  | "RELEASE_DAMAGED"
  /** A rollback target's image is no longer on the engine (exit 2, nothing touched). */
  | "RELEASE_IMAGE_MISSING"
  /** A git source (services.source) could not be fetched, archived or found (issue 16). */
  | "SOURCE_FAILED"
  | "INTERNAL";

export interface SwiftDeployErrorOptions {
  hint?: string;
  exitCode?: number;
  cause?: unknown;
}

export class SwiftDeployError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: SwiftDeployErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SwiftDeployError";
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.failure;
  }
}

/** One problem found in a file, located by line and column (1-based). */
export interface FileIssue {
  file: string;
  line: number;
  col: number;
  /** Dotted key path, e.g. `nginx.port`; empty for document-level problems. */
  path: string;
  message: string;
}

export function formatFileIssue(issue: FileIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`;
}

/** The manifest failed to parse or validate; carries every problem at once. */
export class ManifestError extends SwiftDeployError {
  readonly issues: readonly FileIssue[];

  constructor(issues: readonly FileIssue[], hint?: string) {
    const first = issues[0];
    const count = issues.length;
    super(
      "MANIFEST_INVALID",
      count === 1 && first
        ? `Invalid manifest: ${formatFileIssue(first)}`
        : `Invalid manifest: ${count} problems\n${
          issues.map((i) => "  " + formatFileIssue(i)).join("\n")
        }`,
      {
        exitCode: ExitCode.invalid,
        hint: hint ?? "fix the manifest and run the command again; nothing was changed",
      },
    );
    this.issues = issues;
  }
}
