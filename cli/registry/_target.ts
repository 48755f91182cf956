/**
 * Which registry `swiftdeploy build` pushes to, and how the nodes reach it:
 * the manifest's `registry.address` when set (both sides use it), else the
 * running lab's (`swiftdeploy lab up`: the host's engine pushes to its
 * loopback instance, the nodes pull from the bridge, one storage behind
 * both). The password is read here, from the environment variable or file
 * the manifest names, and held as a `Secret`.
 */
import { isAbsolute, join } from "node:path";
import { SwiftDeployError } from "../errors/mod.ts";
import { type Lab, readLab } from "../lab/mod.ts";
import type { RegistrySpec } from "../manifest/mod.ts";
import type { RegistryCredentials } from "./_auth.ts";
import { Secret } from "./_secret.ts";

/** A registry as both sides reach it. */
export interface RegistryTarget {
  /** `host:port` the host's engine pushes to. */
  push: string;
  /** `host:port` the nodes pull from: the address in every by-digest reference. */
  pull: string;
  /** Plain HTTP (the lab's registry; a manifest's `registry.insecure`). */
  insecure: boolean;
  credentials?: RegistryCredentials | undefined;
  /** For messages: "the lab's registry" or the manifest's address. */
  label: string;
}

/**
 * The registry target from the resolved `registry` section, the running lab
 * (or undefined) and the password (already read). Pure.
 *
 * @throws SwiftDeployError REGISTRY_UNAVAILABLE (exit 1) when the manifest
 *   names no registry and no lab is up
 */
export function chooseRegistry(
  spec: RegistrySpec,
  lab: Pick<Lab, "registry"> | undefined,
  password: Secret | undefined,
): RegistryTarget {
  const credentials = spec.username !== null && password
    ? { username: spec.username, password }
    : undefined;
  if (spec.address !== null) {
    return {
      push: spec.address,
      pull: spec.address,
      insecure: spec.insecure,
      credentials,
      label: `"${spec.address}"`,
    };
  }
  if (!lab) {
    throw new SwiftDeployError(
      "REGISTRY_UNAVAILABLE",
      "Cannot push the images: registry.address is null and no lab is up",
      {
        hint:
          "run `swiftdeploy lab up` for the local three-node lab and its registry, or set registry.address in the manifest",
      },
    );
  }
  return {
    push: lab.registry.host,
    pull: lab.registry.node,
    insecure: true,
    credentials,
    label: `the lab's registry (${lab.registry.node})`,
  };
}

/**
 * Reads the password the `registry` section points at: the environment
 * variable `password_env`, or the file `password_file` (relative to
 * `manifestDir`; one trailing newline dropped). Undefined when none is set.
 *
 * @throws SwiftDeployError REGISTRY_AUTH_FAILED (exit 1) when the variable is
 *   unset or empty, or the file cannot be read or is empty; the message
 *   names the variable or file, never a value
 */
export async function readRegistryPassword(
  spec: RegistrySpec,
  manifestDir: string,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Promise<Secret | undefined> {
  if (spec.password_env !== null) {
    const value = env(spec.password_env);
    if (!value) {
      throw new SwiftDeployError(
        "REGISTRY_AUTH_FAILED",
        `Cannot read the registry password: environment variable "${spec.password_env}" is not set`,
        { hint: `export ${spec.password_env}=… before running the command` },
      );
    }
    return new Secret(value);
  }
  if (spec.password_file !== null) {
    const path = isAbsolute(spec.password_file)
      ? spec.password_file
      : join(manifestDir, spec.password_file);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      throw new SwiftDeployError(
        "REGISTRY_AUTH_FAILED",
        `Cannot read the registry password file "${path}": ${(error as Error).name}`,
        { cause: error },
      );
    }
    const value = text.replace(/\r?\n$/, "");
    if (!value) {
      throw new SwiftDeployError(
        "REGISTRY_AUTH_FAILED",
        `Cannot read the registry password: the file "${path}" is empty`,
      );
    }
    return new Secret(value);
  }
  return undefined;
}

/** The registry target for this manifest: its section, its password, and the lab when needed. */
export async function resolveRegistry(
  spec: RegistrySpec,
  manifestDir: string,
  opts: { env?: (name: string) => string | undefined; lab?: () => Promise<Lab | undefined> } = {},
): Promise<RegistryTarget> {
  const password = await readRegistryPassword(spec, manifestDir, opts.env);
  const lab = spec.address === null ? await (opts.lab ?? (() => readLab()))() : undefined;
  return chooseRegistry(spec, lab, password);
}
