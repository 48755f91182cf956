/**
 * Can a container's user read what it bind-mounts? The containers run as
 * non-root users (10001, 10002, 10003) with every capability dropped, so
 * the kernel applies plain permission bits: the owner's bits when the user
 * owns the file, else the group's when its group matches, else the others'
 * (POSIX.1-2017, 4.5 "File Access Permissions"). Only the mounted folder and
 * what is inside it count: a bind mount does not need its host parents.
 * POSIX ACLs and user-namespace remapping are not considered.
 */
import { join } from "node:path";

/** The numeric user and group a container runs as (`User: "10002:10002"`). */
export interface ContainerUser {
  uid: number;
  gid: number;
}

/** The part of `Deno.FileInfo` the check needs. */
export interface Owned {
  uid: number | null;
  gid: number | null;
  mode: number | null;
}

/** Parses an Engine API `User` ("uid" or "uid:gid", numeric); undefined for names. */
export function parseUser(user: string | undefined): ContainerUser | undefined {
  const m = /^(\d+)(?::(\d+))?$/.exec(user ?? "");
  if (!m) return undefined;
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}

/**
 * True when `user` may read `info` (and, for a folder, list and enter it):
 * `r` for files, `r` and `x` for folders, from the one class of bits that
 * applies. uid 0 is root: allowed (capabilities are not modelled).
 */
export function mayRead(info: Owned, user: ContainerUser, isDirectory: boolean): boolean {
  if (user.uid === 0) return true;
  const mode = info.mode ?? 0;
  const shift = info.uid === user.uid ? 6 : info.gid === user.gid ? 3 : 0;
  const bits = (mode >> shift) & 0o7;
  const want = isDirectory ? 0o5 : 0o4;
  return (bits & want) === want;
}

/** One path a user cannot read, and why (mode and owner as the kernel sees them). */
export interface Unreadable {
  path: string;
  detail: string;
}

function describe(info: Owned): string {
  const mode = ((info.mode ?? 0) & 0o7777).toString(8).padStart(4, "0");
  return `mode ${mode}, owner ${info.uid ?? "?"}:${info.gid ?? "?"}`;
}

/**
 * Walks `root` (following symlinks, as the container does) and returns the
 * first path `user` cannot read, or undefined. A missing root is fine (it is
 * created before the containers start).
 *
 * @param maxEntries stop after this many entries (a mounted folder is small)
 */
export async function findUnreadable(
  root: string,
  user: ContainerUser,
  maxEntries = 10_000,
): Promise<Unreadable | undefined> {
  let seen = 0;
  const visit = async (path: string): Promise<Unreadable | undefined> => {
    if (++seen > maxEntries) return undefined;
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    if (!mayRead(info, user, info.isDirectory)) return { path, detail: describe(info) };
    if (!info.isDirectory) return undefined;
    for await (const entry of Deno.readDir(path)) {
      const found = await visit(join(path, entry.name));
      if (found) return found;
    }
    return undefined;
  };
  return await visit(root);
}
