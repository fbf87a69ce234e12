// The storm guard as pure rules: when a large part of the watched peers fail within one
// probe cycle (interval + timeout), the cause is most likely shared (a database, DNS, a switch, this host)
// and restarting each peer on its own only adds harm. Then the node holds every restart
// and isolation, says once what it sees (correlated_failure, naming the failing peers and
// what they share), and resumes per-peer remediation with fresh counters once the
// fraction drops back. Kubernetes stops evicting when 55 % of a zone is NotReady; medik8s
// NHC remediates only while 51 % stay healthy: the default here is half of the peers.
// No I/O, no clock: time comes in as `now`.
import { STORM_DEFAULTS } from "./defaults.js";

/** Storm guard thresholds (library option `storm`; config `storm:`). */
export interface StormOptions {
  /** Fraction of the watched peers (0 < f <= 1) that must fail within one window. Default 0.5. */
  fraction?: number;
  /** And at least this many peers (count >= 1). Default 3. */
  minPeers?: number;
}

export interface StormPolicy {
  fraction: number;
  minPeers: number;
}

/** One failing peer as the guard describes it. */
export interface StormPeer {
  name: string;
  /** "host:port" it is probed at (absent for an exec check). */
  hostPort?: string;
  /** What checks it (e.g. "exec:/usr/bin/check"). */
  check?: string;
  /** Peers it depends on. */
  dependsOn?: readonly string[];
}

export interface StormVerdict {
  /** True while the failing peers reach both thresholds. */
  storm: boolean;
  /** Names of the peers failing within the window, sorted. */
  failing: string[];
  /** How many peers are watched. */
  watched: number;
}

/** The thresholds with their defaults; undefined fields take STORM_DEFAULTS. */
export function stormPolicy(o: StormOptions = {}): StormPolicy {
  return {
    fraction: o.fraction ?? STORM_DEFAULTS.fraction,
    minPeers: o.minPeers ?? STORM_DEFAULTS.minPeers,
  };
}

/** Why `o` is not a valid set of thresholds (field, problem), or undefined. */
export function stormProblem(o: StormOptions): { field: string; problem: string } | undefined {
  if (o.fraction !== undefined && !(Number.isFinite(o.fraction) && o.fraction > 0 && o.fraction <= 1)) {
    return {
      field: "fraction",
      problem: `must be a number above 0 and at most 1 (got ${String(o.fraction)})`,
    };
  }
  if (o.minPeers !== undefined && !(Number.isInteger(o.minPeers) && o.minPeers >= 1)) {
    return { field: "minPeers", problem: `must be an integer >= 1 (got ${String(o.minPeers)})` };
  }
  return undefined;
}

/**
 * Is a storm on: did at least `fraction` of the `watched` peers, and at least `minPeers`,
 * fail within `windowMs` of `now`? `lastMissAt` holds each peer's latest miss since it
 * last answered (epoch ms); a peer that answers again leaves it.
 */
export function stormVerdict(
  lastMissAt: ReadonlyMap<string, number>,
  watched: number,
  now: number,
  windowMs: number,
  policy: StormPolicy,
): StormVerdict {
  const failing: string[] = [];
  for (const [name, at] of lastMissAt) if (now - at <= windowMs) failing.push(name);
  failing.sort();
  return { storm: stormReached(failing.length, watched, policy), failing, watched };
}

/** Do `failing` of `watched` peers reach both thresholds? */
export function stormReached(failing: number, watched: number, policy: StormPolicy): boolean {
  return watched > 0 && failing >= policy.minPeers && failing >= policy.fraction * watched;
}

/** What the failing peers have in common: a shared host:port, check or dependency (each with its peers), most shared first. */
export function sharedByFailing(peers: readonly StormPeer[]): string[] {
  const groups = new Map<string, string[]>();
  const add = (key: string, name: string): void => {
    const g = groups.get(key);
    if (g) g.push(name);
    else groups.set(key, [name]);
  };
  for (const p of peers) {
    if (p.hostPort !== undefined) add(`same host:port ${p.hostPort}`, p.name);
    if (p.check !== undefined) add(`same check ${p.check}`, p.name);
    for (const d of p.dependsOn ?? []) add(`same dependency ${d}`, p.name);
  }
  return [...groups.entries()]
    .filter(([, names]) => names.length >= 2)
    .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
    .map(([key, names]) => `${key} (${names.sort().join(", ")})`);
}

/** The sentence of a correlated_failure: how many, who, what they share, what the node does. */
export function stormReason(
  v: StormVerdict,
  shared: readonly string[],
  windowMs: number,
  policy: StormPolicy,
): string {
  const pct = Math.round(policy.fraction * 100);
  return (
    `${v.failing.length} of ${v.watched} watched peers failed within ${windowMs} ms: ${v.failing.join(", ")}; ` +
    (shared.length > 0 ? `they share ${shared.join("; ")}` : "they share nothing this node can see") +
    ` — a shared cause is likely: every restart and isolation is held until fewer than ${pct} % ` +
    `(or fewer than ${policy.minPeers}) fail`
  );
}
