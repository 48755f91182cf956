/**
 * The routing table nginx follows: which app container is stable, which (if
 * any) is the canary and what share of traffic it gets. It is data the CLI
 * writes through nginx's admin socket and persists beside nginx.conf, so a
 * restarted nginx reads it back; nginx.conf itself names no app address.
 */

/** One app container traffic can be sent to. */
export interface RouteTarget {
  /** `IPv4:port` on the project network. */
  address: string;
  /** The app version it reports (for display and the per-variant metrics' labels). */
  version: string;
  /** Its container name (for display). */
  container: string;
}

export interface Routes {
  /** Increases with every change; nginx refuses one not above what it holds. */
  revision: number;
  stable: RouteTarget;
  /** Absent: everything goes to stable. */
  canary?: RouteTarget & {
    /** Percent of unpinned traffic (integer 0–100). */
    weight: number;
  };
}
