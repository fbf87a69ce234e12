// The recent probe results of each peer, in memory, for the dashboard's beat strip and
// latency sparkline (GET /v1/peers/:name/history). Bounded: at most `size` results per
// peer, and only peers the caller records (the daemon drops removed peers).
import { iso } from "../core/duration.js";
import type { ProbeCause, ProbeResult } from "../core/types.js";

/** One probe as the dashboard draws it. */
export interface ProbeBeat {
  /** When the verdict came, ISO 8601. */
  at: string;
  /** ok: alive; miss: failed; inconclusive: this node could not tell (its own trouble, or the peer still starting: cause grace). */
  result: "ok" | "miss" | "inconclusive";
  /** Time from the start of the probe to its verdict, ms. */
  duration_ms: number;
  error?: string;
  /** Why an inconclusive probe said nothing about the peer (local errno, stall, queued, prober, grace). */
  cause?: ProbeCause;
}

/** Results kept per peer (the dashboard shows 60). */
export const HISTORY_SIZE = 60;

/** A probe result as the event stream carries it: the beat and whose it is. */
export interface PeerBeat extends ProbeBeat {
  peer: string;
}

export class ProbeHistory {
  private readonly rings = new Map<string, ProbeBeat[]>();
  private readonly listeners = new Set<(b: PeerBeat) => void>();

  constructor(private readonly size = HISTORY_SIZE) {}

  record(peer: string, r: ProbeResult, atMs: number): void {
    let ring = this.rings.get(peer);
    if (!ring) this.rings.set(peer, (ring = []));
    const beat: ProbeBeat = {
      at: iso(atMs),
      result: r.ok ? "ok" : r.inconclusive === true ? "inconclusive" : "miss",
      duration_ms: Math.round(r.duration_ms),
      ...(r.ok || r.error === undefined ? {} : { error: r.error }),
      ...(r.ok || r.cause === undefined ? {} : { cause: r.cause }),
    };
    ring.push(beat);
    if (ring.length > this.size) ring.splice(0, ring.length - this.size);
    for (const l of [...this.listeners]) l({ peer, ...beat });
  }

  /** Called with every result recorded from now on. Returns unsubscribe. */
  onRecord(listener: (b: PeerBeat) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Oldest first; empty for a peer never probed. */
  get(peer: string): ProbeBeat[] {
    return [...(this.rings.get(peer) ?? [])];
  }

  remove(peer: string): void {
    this.rings.delete(peer);
  }
}
