// Clock skew between this node and its members, measured from the view exchange (NTP
// style): a member's clock read `at` somewhere between when this node sent the request
// and when the answer came, so offset = at − (sent + received) / 2, ± half the round trip.
// A signed view carries `at` (ms); a refused request still carries the member's Date
// header (1 s resolution), enough to name a skew beyond the ±60 s a member accepts.
//
// The offsets are shown (GET /v1/mesh, metrics) and named in hold reasons; they never
// decide anything that acts (a refusal's Date header is not authenticated). One
// node-level condition: clock_skew (HIGH) when some member's |offset| goes beyond the
// bound, clock_skew_cleared (INFO) when every measured member is back within it.
import { iso } from "../core/duration.js";
import { initialState } from "../core/ladder.js";
import { toPeerHealth } from "../core/peer-health.js";
import type { EscalationAction, PeerHealth } from "../core/types.js";
import { VIEW_REQUEST_SKEW_MS } from "./view-auth.js";

/** One measurement of a member's clock offset (member's clock − this node's), ms. */
export interface OffsetSample {
  offsetMs: number;
  /** Half the round trip, plus the resolution of the member's clock reading. */
  uncertaintyMs: number;
}

/**
 * The offset of a member whose clock read `memberAtMs` while this node's request was in
 * flight: sent at `sentWallMs` (this node's wall clock), answered `rttMs` later (monotonic).
 */
export function estimateOffset(
  memberAtMs: number,
  sentWallMs: number,
  rttMs: number,
  resolutionMs = 0,
): OffsetSample {
  const rtt = Math.max(0, rttMs);
  return {
    offsetMs: Math.round(memberAtMs - (sentWallMs + rtt / 2)),
    uncertaintyMs: Math.round(rtt / 2 + resolutionMs),
  };
}

/** The member's clock from an HTTP Date header (middle of its second), or undefined. */
export function dateHeaderMs(date: string | undefined): number | undefined {
  if (date === undefined) return undefined;
  const ms = Date.parse(date);
  return Number.isFinite(ms) ? ms + 500 : undefined;
}

/** Resolution of a Date header reading, ms (± half a second around the middle). */
export const DATE_HEADER_RESOLUTION_MS = 500;

/** "member wd-b's clock is 600 s ahead of this node's (the mesh allows 60 s): fix NTP on one of them". */
export function skewText(member: string, offsetMs: number, allowedMs: number): string {
  const s = Math.round(Math.abs(offsetMs) / 1_000);
  const way = offsetMs > 0 ? "ahead of" : "behind";
  return `member ${member}'s clock is ${s} s ${way} this node's (the mesh allows ${allowedMs / 1_000} s): fix NTP on one of them`;
}

/** A node-level journal entry (the shape Monitor journals). */
export interface SkewEntry {
  action: EscalationAction;
  snapshot: PeerHealth;
}

export interface ClockSkewOptions {
  selfName: string;
  /** clock_skew fires beyond this |offset|, ms. */
  boundMs: number;
  newId: () => string;
  /** Journals (and alerts) one node-level entry. */
  journal?: (e: SkewEntry) => void;
}

/** Keeps each member's latest offset and the clock_skew episode. */
export class ClockSkew {
  private readonly offsets = new Map<string, OffsetSample>();
  private incident: string | null = null;
  /** Grows when an offset changes (cache key of GET /v1/mesh). */
  version = 0;

  constructor(private readonly o: ClockSkewOptions) {}

  /** The latest measured offset of `member`, ms, or null before any. */
  offsetMs(member: string): number | null {
    return this.offsets.get(member)?.offsetMs ?? null;
  }

  /** Members with a measured offset. */
  measured(): ReadonlyMap<string, OffsetSample> {
    return this.offsets;
  }

  /**
   * Why `member`'s view requests are refused, when its measured offset is beyond what a
   * member accepts on a request's timestamp; undefined otherwise.
   */
  refusalReason(member: string): string | undefined {
    const s = this.offsets.get(member);
    if (s === undefined || Math.abs(s.offsetMs) <= VIEW_REQUEST_SKEW_MS) return undefined;
    return skewText(member, s.offsetMs, VIEW_REQUEST_SKEW_MS);
  }

  /**
   * Records a measurement at `now` (epoch ms); journals the start or end of an episode.
   * A sample that agrees with the kept one within their uncertainties and is no more
   * precise leaves it in place, so the words do not flicker by a second from poll to poll.
   */
  record(member: string, sample: OffsetSample, now: number): void {
    const prev = this.offsets.get(member);
    const agrees =
      prev !== undefined &&
      sample.uncertaintyMs >= prev.uncertaintyMs &&
      Math.abs(prev.offsetMs - sample.offsetMs) <= prev.uncertaintyMs + sample.uncertaintyMs;
    if (!agrees) {
      this.offsets.set(member, sample);
      if (prev?.offsetMs !== sample.offsetMs) this.version++;
    }
    const beyond = [...this.offsets].filter(([, s]) => Math.abs(s.offsetMs) > this.o.boundMs);
    // Cleared only when every member is within the bound by more than its uncertainty (no flapping at the edge).
    const within = [...this.offsets.values()].every(
      (s) => Math.abs(s.offsetMs) + s.uncertaintyMs <= this.o.boundMs,
    );
    if (beyond.length > 0 && this.incident === null) {
      this.incident = this.o.newId();
      const reason = beyond.map(([m, s]) => skewText(m, s.offsetMs, this.o.boundMs)).join("; ");
      this.o.journal?.(this.entry("clock_skew", "HIGH", reason, now, reason));
    } else if (within && this.incident !== null) {
      const reason = `every member's clock is within ${this.o.boundMs / 1_000} s of this node's again`;
      this.o.journal?.(this.entry("clock_skew_cleared", "INFO", reason, now, null));
      this.incident = null;
    }
  }

  private entry(
    kind: "clock_skew" | "clock_skew_cleared",
    severity: "HIGH" | "INFO",
    reason: string,
    now: number,
    lastError: string | null,
  ): SkewEntry {
    const self = this.o.selfName;
    const action: EscalationAction = {
      timestamp: iso(now) as string,
      peer_name: self,
      action: kind,
      reason,
      severity,
      id: this.o.newId(),
      incident_id: this.incident,
      node: self,
    };
    const snapshot: PeerHealth = {
      ...toPeerHealth(self, "self", initialState(), self),
      status: lastError === null ? "HEALTHY" : "DEGRADED",
      last_error: lastError,
    };
    return { action, snapshot };
  }
}
