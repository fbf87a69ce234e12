// Whether this node's state store can commit. A node whose store cannot commit (a full
// disk, a read-only remount, an I/O error) must not act: state, counters, journal,
// outbox and effect intents change together or not at all, so while commits fail every
// step is held and the peers keep the state last committed. The first failure opens an
// episode: a `store_failed` action (HIGH) that the daemon sends straight to its sinks
// (the outbox lives in the store), and that is journaled — with `store_recovered` (INFO,
// same incident) — by the first commit that succeeds again. Both share an incident id and
// the failure's action id, so a receiver that got the direct alert dedupes the journaled one.
import { randomUUID } from "node:crypto";
import { iso } from "../core/duration.js";
import type { EscalationAction, StoreHealthReport } from "../core/types.js";

export type { StoreHealthReport } from "../core/types.js";

interface Episode {
  since: number;
  error: string;
  failures: number;
  /** The HIGH action announcing the failure (sent directly; journaled on recovery). */
  action: EscalationAction;
}

export class StoreHealth {
  private episode: Episode | null = null;
  private errors = 0;

  constructor(
    private readonly selfName: string,
    private readonly newId: () => string = randomUUID,
  ) {}

  get failing(): boolean {
    return this.episode !== null;
  }

  get errorsTotal(): number {
    return this.errors;
  }

  /**
   * Records a failed commit. Returns the `store_failed` action when this failure opens an
   * episode (to be sent straight to the sinks), else null.
   */
  failed(err: unknown, now: number): EscalationAction | null {
    this.errors += 1;
    const error = err instanceof Error ? err.message : String(err);
    if (this.episode) {
      this.episode.failures += 1;
      this.episode.error = error;
      return null;
    }
    const incident = this.newId();
    const action: EscalationAction = {
      timestamp: iso(now) as string,
      peer_name: this.selfName,
      action: "store_failed",
      reason: `this node's state store cannot commit (${error}); every remediation step is held and peers keep their last committed state until it can`,
      severity: "HIGH",
      id: this.newId(),
      incident_id: incident,
      node: this.selfName,
    };
    this.episode = { since: now, error, failures: 1, action };
    return action;
  }

  /**
   * The entries to commit to end the episode: the failure itself (as it was announced)
   * and its recovery. Empty while the store is fine. Call `recovered()` once they committed.
   */
  recoveryEntries(now: number): EscalationAction[] {
    const ep = this.episode;
    if (!ep) return [];
    const seconds = Math.round((now - ep.since) / 1000);
    return [
      ep.action,
      {
        timestamp: iso(now) as string,
        peer_name: this.selfName,
        action: "store_recovered",
        reason: `this node's state store commits again after ${seconds} s and ${ep.failures} refused commits (last error: ${ep.error}); remediation resumes from the committed state`,
        severity: "INFO",
        id: this.newId(),
        incident_id: ep.action.incident_id,
        node: this.selfName,
      },
    ];
  }

  recovered(): void {
    this.episode = null;
  }

  /** Why remediation is held, or undefined while the store commits. */
  holdReason(): string | undefined {
    const ep = this.episode;
    return ep
      ? `the state store cannot commit since ${iso(ep.since) as string} (${ep.error}); every step is held`
      : undefined;
  }

  report(): StoreHealthReport {
    const ep = this.episode;
    if (!ep) return { status: "ok", errors_total: this.errors };
    return {
      status: "failing",
      errors_total: this.errors,
      failing_since: iso(ep.since) as string,
      error: ep.error,
      failed_commits: ep.failures,
    };
  }
}
