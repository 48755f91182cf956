/**
 * Where the Docker Engine is: DOCKER_HOST, then /var/run/docker.sock, then
 * the socket of a daemon this project started (`swiftdeploy engine start`).
 */

export type Endpoint =
  | { kind: "unix"; path: string; label: string }
  | { kind: "tcp"; host: string; port: number; label: string };

export const DEFAULT_SOCKET = "/var/run/docker.sock";

/** Parses a DOCKER_HOST value (`unix:///path` or `tcp://host:port`). */
export function parseDockerHost(value: string): Endpoint {
  if (value.startsWith("unix://")) {
    const path = value.slice("unix://".length);
    if (!path.startsWith("/")) {
      throw new Error(`Invalid DOCKER_HOST "${value}": a unix socket path must be absolute`);
    }
    return { kind: "unix", path, label: value };
  }
  if (value.startsWith("tcp://")) {
    const rest = value.slice("tcp://".length).replace(/\/+$/, "");
    const m = rest.match(/^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/);
    if (!m || !m[1]) throw new Error(`Invalid DOCKER_HOST "${value}": expected tcp://HOST:PORT`);
    const port = m[2] ? Number(m[2]) : 2375;
    return { kind: "tcp", host: m[1], port, label: value };
  }
  throw new Error(`Invalid DOCKER_HOST "${value}": only unix:// and tcp:// are supported`);
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
