// What this node says about its own health: one journal entry when it becomes degraded
// ("self_degraded", HIGH) and one when it is well again ("self_recovered", INFO), the pair
// sharing an incident id, each with a snapshot of this node as a peer record. The Monitor
// commits and notifies them like any other escalation.
import { randomUUID } from "node:crypto";
import { iso } from "../core/duration.js";
import { initialState } from "../core/ladder.js";
import type { EscalationAction, PeerHealth, SelfHealthReport } from "../core/types.js";
import { toPeerHealth } from "../core/peer-health.js";
import type { SelfHealth } from "./self-health.js";

export interface SelfJournalEntry {
  action: EscalationAction;
  /** This node as a PeerHealth (the snapshot sent with its own alerts). */
  snapshot: PeerHealth;
}

export class SelfJournal {
  /** The open degraded episode's incident id. */
  private incident: string | null = null;

  constructor(
    private readonly selfName: string,
    private readonly health: SelfHealth,
    private readonly newId: () => string = randomUUID,
  ) {}

  /** The entry for a change of this node's state (from `SelfHealth.evaluate`), or null when nothing changed. */
  entryFor(
    changed: "entered" | "left" | null,
    report: SelfHealthReport,
    now: number,
  ): SelfJournalEntry | null {
    if (changed === null) return null;
    const sh = this.health;
    const entered = changed === "entered";
    const incident = entered ? this.newId() : this.incident;
    this.incident = entered ? incident : null;
    const action: EscalationAction = {
      timestamp: iso(now) as string,
      peer_name: this.selfName,
      action: entered ? "self_degraded" : "self_recovered",
      reason: entered
        ? `${sh.holdReason()} (thresholds ${sh.loopDelayP99Ms} ms, ${sh.latenessP99Ms} ms); ` +
          `probe deadlines ×${sh.deadlineFactor}, remediation held`
        : `this node is well again: loop delay p99 ${report.loop_delay_p99_ms} ms, lateness p99 ${report.lateness_p99_ms} ms; remediation resumes`,
      severity: entered ? "HIGH" : "INFO",
      id: this.newId(),
      incident_id: incident,
      node: this.selfName,
    };
    const snapshot: PeerHealth = {
      ...toPeerHealth(this.selfName, "self", initialState(), this.selfName),
      status: report.status === "ok" ? "HEALTHY" : "DEGRADED",
      last_error: report.status === "ok" ? null : sh.holdReason(),
    };
    return { action, snapshot };
  }
}
