// One registered peer as the Monitor holds it, and the lock that serialises its work.
import { setMaxListeners } from "node:events";
import type { IsolationRecord } from "./act/executor.js";
import { initialState, type LadderState } from "./core/ladder.js";
import type { PeerSpec, Policy } from "./core/options.js";
import type { PeerCount } from "./core/types.js";
import type { RemediatedPeer } from "./effects/runner.js";
import { probeEndpoint, probeTarget } from "./probe/index.js";
import type { MonitorStore } from "./store/types.js";

/** A registered peer; the effect runner reads and updates its isolation (RemediatedPeer). */
export interface Peer extends RemediatedPeer {
  spec: PeerSpec;
  policy: Policy;
  endpoint: string;
  target: { host?: string; port?: number };
  state: LadderState;
  /** Serialises everything that touches this peer (probes, release, restart). */
  lock: Promise<void>;
  /** The probe in flight, shared by concurrent callers. */
  probing: Promise<void> | null;
  /** Epoch ms before which the scheduler should not probe (after a restart). */
  notBefore: number;
  /** The failing dependency whose incident this peer's failures joined (dependency_failing), or null. */
  joined?: string | null;
}

/** Runs `fn` once every earlier holder of `p`'s lock has finished; the next waits for it. */
export async function withPeerLock<T>(p: Peer, fn: () => Promise<T>): Promise<T> {
  const prev = p.lock;
  let release!: () => void;
  p.lock = new Promise<void>((r) => (release = r));
  try {
    await prev;
    return await fn();
  } finally {
    release();
  }
}

/** What the store kept of a peer: taken up again when a peer of that name is registered. */
export interface SavedPeer {
  state: LadderState;
  isolation: IsolationRecord | null;
  isolationId: string | null;
}

/** Every peer the store kept, by name (none without a store). */
export function savedPeers(store: MonitorStore | undefined): Map<string, SavedPeer> {
  return new Map(
    (store?.loadPeers() ?? []).map((p) => [
      p.name,
      { state: p.state, isolation: p.isolation, isolationId: p.isolationId ?? null },
    ]),
  );
}

/** A peer as registered: its saved state and isolation when the store had them, else fresh. */
export function newPeer(spec: PeerSpec, policy: Policy, saved: SavedPeer | undefined): Peer {
  return {
    spec,
    policy,
    endpoint: probeEndpoint(spec.probe),
    target: probeTarget(spec.probe),
    state: saved?.state ?? initialState(),
    isolation: saved?.isolation ?? null,
    isolationId: saved?.isolationId ?? null,
    lock: Promise.resolve(),
    probing: null,
    notBefore: 0,
  };
}

/** How long probing may go without a completed probe before it is not progressing, ms. */
export function progressBoundMs(peers: Iterable<Peer>): number {
  let bound = 0;
  for (const p of peers) {
    bound = Math.max(bound, 2 * Math.max(p.policy.intervalMs, p.policy.retryIntervalMs) + p.policy.timeoutMs);
  }
  return bound;
}

/** The signal that aborts every probe in flight on stop(); each probe adds a listener. */
export function newProbeAbort(): AbortController {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  return ac;
}

/** Each peer's name, status and missed count, sorted by name (the same fields as its PeerHealth). */
export function peerCounts(peers: ReadonlyMap<string, Peer>): PeerCount[] {
  return [...peers.keys()].sort().map((name) => {
    const s = (peers.get(name) as Peer).state;
    return { name, status: s.status, missed_count: s.missed };
  });
}
