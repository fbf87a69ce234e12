// Commits escalation actions to a real SqliteStore the way the Monitor does (one
// transition per action: journal + outbox rows + effect intents in one transaction).
import { randomUUID } from "node:crypto";
import { initialState } from "../../src/core/ladder.js";
import type { EscalationAction } from "../../src/core/types.js";
import type { MonitorStore } from "../../src/store/types.js";
import { makePeer } from "../helpers/memory-outbox.js";

export const LADDER: Array<Pick<EscalationAction, "action" | "severity" | "reason">> = [
  { action: "alert", severity: "MEDIUM", reason: "1 missed heartbeat: connection refused" },
  { action: "restart", severity: "HIGH", reason: "3 missed heartbeats" },
  { action: "restart", severity: "HIGH", reason: "3 missed heartbeats after restart 1" },
  { action: "restart", severity: "HIGH", reason: "3 missed heartbeats after restart 2" },
  { action: "isolate", severity: "CRITICAL", reason: "3 restarts did not help" },
  { action: "alert_architect", severity: "CRITICAL", reason: "sidecar isolated; needs a human" },
];

export function newAction(
  over: Partial<EscalationAction> & Pick<EscalationAction, "action" | "severity" | "reason">,
): EscalationAction {
  return {
    timestamp: new Date().toISOString(),
    peer_name: "sidecar",
    id: randomUUID(),
    incident_id: "inc-" + randomUUID().slice(0, 8),
    node: "immune",
    ...over,
  };
}

/** Commits one action; `withEffect` also writes its pending effect intent (restart/isolate/release). */
export function commitAction(store: MonitorStore, action: EscalationAction, withEffect = false): void {
  const kind = action.action;
  const effects =
    withEffect && (kind === "restart" || kind === "isolate" || kind === "release")
      ? [{ id: action.id, kind, attempt: kind === "restart" ? 1 : 0 }]
      : [];
  store.commit({
    peer: action.peer_name,
    state: { ...initialState(), status: "DEGRADED", incidentId: action.incident_id },
    actions: [action],
    snapshot: makePeer(action.peer_name, { incident_id: action.incident_id, last_error: action.reason }),
    effects,
  });
}

/** The seed's ladder for one incident: alert, 3 restarts, isolate, alert_architect. */
export function commitLadder(
  store: MonitorStore,
  incident = "inc-" + randomUUID().slice(0, 8),
): EscalationAction[] {
  return LADDER.map((step) => {
    const a = newAction({ ...step, incident_id: incident });
    commitAction(store, a);
    return a;
  });
}
