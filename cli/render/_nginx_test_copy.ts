import { NGINX_ADMIN_SOCKET } from "../plan/mod.ts";
import { NGINX_ROUTES_FILE } from "./_render_all.ts";

/** Directives whose first argument is a file or folder nginx writes. */
const WRITTEN_PATH =
  /^(\s*)(pid|error_log|access_log|[a-z_]+_temp_path)(\s+)\/(?:[^\s;]*\/)?([^/\s;]+)/gm;

/**
 * A copy of a generated nginx.conf that `nginx -t` can check on the host as
 * the current user, never the file itself: an upstream server named by a
 * host name (only Docker's DNS knows it) becomes 127.0.0.1, and every pid, log and temp path becomes a bare file
 * name, which nginx resolves against its `-p` prefix. The admin socket
 * (`listen unix:…`, which even `nginx -t` binds) moves to `<dir>/edge.sock`
 * and the persisted routing table to `<dir>/routes`,
 * `dir` being an absolute folder of the caller's. Write the result to
 * `<dir>/nginx.conf` and run `nginx` with `nginxTestArgs(dir)`.
 */
export function nginxTestCopy(conf: string, dir: string): string {
  const socket = `${dir.replace(/\/+$/, "")}/edge.sock`;
  return conf
    .replaceAll(NGINX_ADMIN_SOCKET, () => socket)
    .replaceAll(NGINX_ROUTES_FILE, () => `${dir.replace(/\/+$/, "")}/routes`)
    // Upstream servers are looked up when nginx loads the file; the app's
    // name resolves only inside Docker's network.
    .replace(
      /^(\s*server\s+)(?!\d+\.\d+\.\d+\.\d+:)[A-Za-z0-9.-]+(:\d+)/gm,
      (_, head, port) => `${head}127.0.0.1${port}`,
    )
    .replace(WRITTEN_PATH, (_, indent, name, space, file) => `${indent}${name}${space}${file}`);
}

/** Arguments for `nginx` checking `<dir>/nginx.conf` with `<dir>` as prefix and error log. */
export function nginxTestArgs(dir: string): string[] {
  const base = dir.replace(/\/+$/, "");
  return ["-t", "-p", `${base}/`, "-c", `${base}/nginx.conf`, "-e", `${base}/error.log`];
}
