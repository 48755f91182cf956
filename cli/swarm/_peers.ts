/**
 * Whether every nginx worker balances over exactly the app's running tasks.
 * Pure.
 *
 * Swarm reports a task running (and healthy) before nginx's workers have
 * it: each worker asks Docker's DNS for `tasks.<app>` every
 * DNS_REFRESH_SECONDS (see _nginx_conf.ts), and Docker's DNS itself lags
 * the task's start. `deploy` therefore waits, after Swarm converged, until
 * each worker's list (the admin socket's `/peers`) equals the addresses of
 * the app's running tasks on the project's overlay network.
 */
import type { Task } from "./_api.ts";

/** One nginx worker's line of `/peers`. */
export interface WorkerPeers {
  worker: number;
  /** The worker's task addresses, sorted; undefined when it has had no DNS answer yet. */
  addresses: string[] | undefined;
}

/**
 * Parses the admin socket's `/peers` answer: one line per worker,
 * `worker <n> <answer time, s since the epoch> <address>…`, or
 * `worker <n> -` for a worker without an answer yet (see `peers_api` in
 * _nginx_conf.ts). Lines of another shape are ignored.
 */
export function parsePeers(text: string): WorkerPeers[] {
  const out: WorkerPeers[] = [];
  for (const line of text.split("\n")) {
    const [word, n, time, ...addresses] = line.trim().split(/\s+/);
    if (word !== "worker" || n === undefined || !/^\d+$/.test(n) || time === undefined) continue;
    out.push({
      worker: Number(n),
      addresses: time === "-" ? undefined : addresses.filter(Boolean).sort(),
    });
  }
  return out;
}

/**
 * The addresses (no prefix length), sorted, of the tasks Swarm wants
 * running and reports running, on the overlay network named `network`
 * (the tasks' NetworksAttachments): what `tasks.<app>` answers once
 * Docker's DNS caught up.
 */
export function runningTaskAddresses(tasks: readonly Task[], network: string): string[] {
  return tasks
    .filter((t) => t.DesiredState === "running" && t.Status.State === "running")
    .flatMap((t) => t.NetworksAttachments ?? [])
    .filter((a) => a.Network.Spec.Name === network)
    .flatMap((a) => (a.Addresses ?? []).map((c) => c.split("/")[0]!))
    .sort();
}

/** How nginx's workers stand against the app's running tasks. */
export interface PeersAgreement {
  /** Every worker (at least one) lists exactly `expected`. */
  done: boolean;
  /** Workers whose list is `expected`. */
  agreeing: number;
  workers: number;
  /** "nginx workers listing the 3 app tasks: 1/2 [worker 1: missing 10.0.1.7]" */
  line: string;
}

/**
 * Compares each worker's list with `expected` (the running tasks'
 * addresses, `runningTaskAddresses`): done when there is at least one
 * worker and every worker lists the same set (order and duplicates
 * aside). The line names, per lagging worker, the addresses it misses and
 * those it still lists but no running task has ("gone").
 */
export function comparePeers(
  workers: readonly WorkerPeers[],
  expected: readonly string[],
): PeersAgreement {
  const want = new Set(expected);
  const lagging: string[] = [];
  let agreeing = 0;
  for (const w of workers) {
    if (w.addresses === undefined) {
      lagging.push(`worker ${w.worker}: no DNS answer yet`);
      continue;
    }
    const have = new Set(w.addresses);
    const missing = [...want].filter((a) => !have.has(a)).sort();
    const gone = [...have].filter((a) => !want.has(a)).sort();
    if (missing.length === 0 && gone.length === 0) {
      agreeing++;
      continue;
    }
    const parts = [
      ...(missing.length ? [`missing ${missing.join(" ")}`] : []),
      ...(gone.length ? [`gone ${gone.join(" ")}`] : []),
    ];
    lagging.push(`worker ${w.worker}: ${parts.join(", ")}`);
  }
  const done = workers.length > 0 && agreeing === workers.length;
  const head = `nginx workers listing the ${want.size} app task(s): ${
    workers.length ? `${agreeing}/${workers.length}` : "no worker reported"
  }`;
  return {
    done,
    agreeing,
    workers: workers.length,
    line: lagging.length ? `${head} [${lagging.join("; ")}]` : head,
  };
}
