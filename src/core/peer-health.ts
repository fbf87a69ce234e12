// Builds the public PeerHealth JSON (the library's public peer shape) from the ladder's state.
import { iso } from "./duration.js";
import type { LadderState } from "./ladder.js";
import type { PeerHealth } from "./types.js";

export function toPeerHealth(
  name: string,
  endpoint: string,
  s: LadderState,
  owner: string | null,
): PeerHealth {
  return {
    name,
    endpoint,
    status: s.status,
    last_seen: iso(s.lastSeenAt),
    missed_count: s.missed,
    restart_count: s.restarts,
    last_restart: iso(s.lastRestartAt),
    response_time_ms: s.responseTimeMs,
    last_error: s.lastError,
    incident_id: s.incidentId,
    isolated_at: iso(s.isolatedAt),
    silenced_until: iso(s.silencedUntil),
    owner,
  };
}

/** True when a transition changed something that must survive a crash (counters, status, incident, silence). */
export function escalationStateChanged(a: LadderState, b: LadderState): boolean {
  return (
    a.status !== b.status ||
    a.missed !== b.missed ||
    a.restarts !== b.restarts ||
    a.incidentId !== b.incidentId ||
    a.alerted !== b.alerted ||
    (a.held ?? false) !== (b.held ?? false) ||
    a.isolatedAt !== b.isolatedAt ||
    a.silencedUntil !== b.silencedUntil ||
    a.okStreak !== b.okStreak
  );
}
