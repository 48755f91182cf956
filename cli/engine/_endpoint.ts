/**
 * Where the Docker Engine is: DOCKER_HOST, then /var/run/docker.sock, then
 * the socket of a daemon this project started (`swiftdeploy engine start`).
 */
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";

export type Endpoint =
  | { kind: "unix"; path: string; label: string }
  | { kind: "tcp"; host: string; port: number; label: string };

export const DEFAULT_SOCKET = "/var/run/docker.sock";

/**
 * DOCKER_HOST names no address this client can use. Exit 6; the message
 * names the variable and its value, and says what is wrong with it.
 */
export class DockerHostError extends SwiftDeployError {
  /** The DOCKER_HOST value as given. */
  readonly value: string;
  constructor(value: string, problem: string) {
    super("DOCKER_HOST_INVALID", `Invalid DOCKER_HOST "${value}": ${problem}`, {
      exitCode: ExitCode.dockerHostInvalid,
      hint: "set DOCKER_HOST to unix:///absolute/path.sock or tcp://HOST:PORT, " +
        "or unset it to use /var/run/docker.sock",
    });
    this.value = value;
  }
}

const TCP_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?\/?$/;

/**
 * Parses a DOCKER_HOST value: `unix:///absolute/path` or `tcp://HOST[:PORT]`
 * (port 2375 when absent; HOST a name, IPv4 or bracketed IPv6). Anything else
 * (no scheme, another scheme, an empty or relative socket path, an empty
 * host, a port outside 1–65535, a path after the port) throws
 * {@link DockerHostError}.
 */
export function parseDockerHost(value: string): Endpoint {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)?.[1];
  if (scheme === undefined) {
    throw new DockerHostError(
      value,
      value.startsWith("/")
        ? `a socket path needs the unix:// scheme (unix://${value})`
        : "expected unix:///PATH or tcp://HOST:PORT",
    );
  }
  const rest = value.slice(scheme.length + 3);
  switch (scheme.toLowerCase()) {
    case "unix": {
      if (rest === "") throw new DockerHostError(value, "the unix socket path is empty");
      if (!rest.startsWith("/")) {
        throw new DockerHostError(value, `the unix socket path "${rest}" is not absolute`);
      }
      return { kind: "unix", path: rest, label: value };
    }
    case "tcp": {
      if (rest === "" || rest === "/") throw new DockerHostError(value, "the host is empty");
      const m = TCP_RE.exec(rest);
      if (!m || !m[1]) throw new DockerHostError(value, "expected tcp://HOST:PORT");
      const port = m[2] === undefined ? 2375 : Number(m[2]);
      if (port < 1 || port > 65535) {
        throw new DockerHostError(value, `port ${m[2]} is not between 1 and 65535`);
      }
      return { kind: "tcp", host: m[1], port, label: value };
    }
    default:
      throw new DockerHostError(
        value,
        `scheme "${scheme}" is not supported (only unix:// and tcp://)`,
      );
  }
}

/** Candidate endpoints in the order they are tried. */
export function candidateEndpoints(
  env: { dockerHost?: string | undefined; projectSocket?: string | undefined },
): Endpoint[] {
  if (env.dockerHost) return [parseDockerHost(env.dockerHost)];
  const list: Endpoint[] = [{
    kind: "unix",
    path: DEFAULT_SOCKET,
    label: `unix://${DEFAULT_SOCKET}`,
  }];
  if (env.projectSocket && env.projectSocket !== DEFAULT_SOCKET) {
    list.push({ kind: "unix", path: env.projectSocket, label: `unix://${env.projectSocket}` });
  }
  return list;
}
