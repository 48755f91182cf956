/**
 * Addresses on the project network (issue 11 case 7). nginx names the app
 * by a static address, never by DNS: the network gets an explicit /24 whose
 * dynamic range (`IPRange`, the upper half) excludes a few reserved slots,
 * and each app container takes one slot. A container the engine restarts
 * keeps its slot; any other container connected to the network gets a
 * dynamic address and can never take the app's. Old and new app run side by
 * side on two different slots. Pure: no I/O.
 */
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import { sha256Hex } from "../digest/mod.ts";

/** The project network's IPAM and the app container's static address on it. */
export interface Addressing {
  /** `a.b.c.0/24`. */
  subnet: string;
  /** `a.b.c.1`. */
  gateway: string;
  /** `a.b.c.128/25`: where the engine picks dynamic addresses. */
  ipRange: string;
  /** The app container's address: one of `appSlots(subnet)`. */
  appAddress: string;
}

/** Candidate /24s: 10.200.0.0/24 … 10.249.255.0/24 (12,800 of them). */
const CANDIDATES = 50 * 256;
/** Host numbers of the reserved app slots, outside the dynamic range (.128–.255). */
const APP_SLOT_HOSTS = [16, 17, 18, 19] as const;

/** `a.b.c` of a `a.b.c.0/24` subnet; throws for anything else. */
function prefixOf(subnet: string): string {
  const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.0\/24$/.exec(subnet);
  if (!m) {
    throw new SwiftDeployError(
      "ENGINE_CONFLICT",
      `Cannot use the project network's subnet "${subnet}": SwiftDeploy needs a /24 it created`,
      { hint: "remove the stack with `swiftdeploy teardown` and deploy again" },
    );
  }
  return m[1]!;
}

/** The static addresses an app container may take on `subnet`, in order of preference. */
export function appSlots(subnet: string): string[] {
  const prefix = prefixOf(subnet);
  return APP_SLOT_HOSTS.map((h) => `${prefix}.${h}`);
}

/** Gateway, dynamic range and the given app address on `subnet`. */
export function addressingOf(subnet: string, appAddress: string): Addressing {
  const prefix = prefixOf(subnet);
  if (!appSlots(subnet).includes(appAddress)) {
    throw new SwiftDeployError(
      "INTERNAL",
      `Cannot address the app at "${appAddress}": not a reserved slot of ${subnet}`,
    );
  }
  return { subnet, gateway: `${prefix}.1`, ipRange: `${prefix}.128/25`, appAddress };
}

/** IPv4 CIDR as [first, last] address numbers; undefined for anything else (IPv6). */
function rangeOf(cidr: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const ip = m.slice(1, 5).reduce((acc, o) => acc * 256 + Number(o), 0);
  const bits = Number(m[5]);
  const size = 2 ** (32 - bits);
  const first = Math.floor(ip / size) * size;
  return [first, first + size - 1];
}

/**
 * The project's subnet: a /24 in 10.200.0.0–10.249.255.255 picked from the
 * sha256 of the project name, or the next one after it that overlaps none
 * of `taken` (the subnets of the engine's other networks). Deterministic:
 * the same project and the same taken subnets give the same answer.
 * Throws ENGINE_CONFLICT when all 12,800 are taken.
 */
export function chooseSubnet(project: string, taken: readonly string[] = []): string {
  const ranges = taken.map(rangeOf).filter((r): r is [number, number] => r !== undefined);
  const start = parseInt(sha256Hex(project).slice(0, 8), 16) % CANDIDATES;
  for (let k = 0; k < CANDIDATES; k++) {
    const i = (start + k) % CANDIDATES;
    const subnet = `10.${200 + Math.floor(i / 256)}.${i % 256}.0/24`;
    const [a, b] = rangeOf(subnet)!;
    if (!ranges.some(([c, d]) => a <= d && c <= b)) return subnet;
  }
  throw new SwiftDeployError(
    "ENGINE_CONFLICT",
    "Cannot choose a subnet for the project network: 10.200.0.0–10.249.255.255 is all taken",
    { exitCode: ExitCode.failure, hint: "remove unused Docker networks (`docker network prune`)" },
  );
}

/** The addressing `init` and a first deploy use when no engine state says otherwise. */
export function defaultAddressing(project: string): Addressing {
  const subnet = chooseSubnet(project);
  return addressingOf(subnet, appSlots(subnet)[0]!);
}
