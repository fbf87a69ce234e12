// In-memory OutboxPort for unit tests of the alert workers (the real one is SqliteStore).
// Besides the port it lets tests append rows, record effects and open/close incidents.
import type { ActionResult, EscalationAction, PeerHealth } from "../../src/core/types.js";
import type {
  DeliveryState,
  EffectRecord,
  OpenIncident,
  OutboxPort,
  OutboxRow,
} from "../../src/store/types.js";

export function makePeer(name: string, over: Partial<PeerHealth> = {}): PeerHealth {
  return {
    name,
    endpoint: `http://127.0.0.1:9770/health`,
    status: "DEGRADED",
    last_seen: null,
    missed_count: 1,
    restart_count: 0,
    last_restart: null,
    response_time_ms: 0,
    last_error: "connection refused",
    incident_id: "inc-1",
    isolated_at: null,
    silenced_until: null,
    owner: "immune",
    ...over,
  };
}

let idCounter = 0;
export function makeAction(over: Partial<EscalationAction> = {}): EscalationAction {
  idCounter++;
  return {
    timestamp: "2025-01-02T03:04:05.000Z",
    peer_name: "sidecar",
    action: "alert",
    reason: "1 missed heartbeat: connection refused",
    severity: "MEDIUM",
    id: `act-${idCounter}`,
    incident_id: "inc-1",
    node: "immune",
    ...over,
  };
}

export class MemoryOutbox implements OutboxPort {
  rows: OutboxRow[] = [];
  effects = new Map<string, EffectRecord>();
  incidents = new Map<string, OpenIncident>();
  private listeners = new Set<() => void>();
  private effectListeners = new Set<(effectId: string) => void>();
  private seq = 0;
  /** Every call the worker made, in order, for assertions. */
  calls: string[] = [];

  constructor(private readonly clock: () => number = Date.now) {}

  append(
    sink: string,
    action: EscalationAction,
    peer: PeerHealth = makePeer(action.peer_name),
    createdAt = this.clock(),
  ): OutboxRow {
    const row: OutboxRow = {
      seq: ++this.seq,
      sink,
      action,
      peer,
      state: "pending",
      attempts: 0,
      created_at: createdAt,
      next_attempt_at: createdAt,
      delivered_at: null,
      last_error: null,
    };
    this.rows.push(row);
    for (const l of [...this.listeners]) l();
    return row;
  }

  addEffect(id: string, kind: EffectRecord["kind"], peer = "sidecar"): void {
    this.effects.set(id, { id, peer, kind, attempt: 1, status: "pending", result: null, against: null });
  }

  finishEffect(id: string, result: ActionResult): void {
    const e = this.effects.get(id);
    if (!e) throw new Error(`no effect ${id}`);
    this.effects.set(id, { ...e, status: "done", result });
    for (const l of [...this.effectListeners]) l(id);
  }

  private row(seq: number): OutboxRow {
    const r = this.rows.find((x) => x.seq === seq);
    if (!r) throw new Error(`no outbox row ${seq}`);
    return r;
  }

  head(sink: string): OutboxRow | undefined {
    const r = this.rows.find((x) => x.sink === sink && x.state === "pending");
    return r ? structuredClone(r) : undefined;
  }

  markDelivered(seq: number, now: number): void {
    this.calls.push(`delivered ${seq}`);
    const r = this.row(seq);
    r.state = "delivered";
    r.attempts++; // as SqliteStore: attempts counts every attempt, the successful one too
    r.delivered_at = now;
  }

  markRetry(seq: number, nextAttemptAt: number, error: string): void {
    this.calls.push(`retry ${seq}`);
    const r = this.row(seq);
    r.attempts++;
    r.next_attempt_at = nextAttemptAt;
    r.last_error = error;
  }

  markDead(seq: number, reason: string, _now: number): void {
    this.calls.push(`dead ${seq}`);
    const r = this.row(seq);
    r.state = "dead";
    r.last_error = reason;
  }

  list(filter: { state?: DeliveryState; sink?: string; limit?: number }): OutboxRow[] {
    return this.rows
      .filter(
        (r) =>
          (filter.state === undefined || r.state === filter.state) &&
          (filter.sink === undefined || r.sink === filter.sink),
      )
      .slice(0, filter.limit ?? Infinity)
      .map((r) => structuredClone(r));
  }

  depth(): Record<string, { pending: number; dead: number }> {
    const out: Record<string, { pending: number; dead: number }> = {};
    for (const r of this.rows) {
      const d = (out[r.sink] ??= { pending: 0, dead: 0 });
      if (r.state === "pending") d.pending++;
      if (r.state === "dead") d.dead++;
    }
    return out;
  }

  effect(effectId: string): EffectRecord | undefined {
    const e = this.effects.get(effectId);
    return e ? structuredClone(e) : undefined;
  }

  openIncidents(): OpenIncident[] {
    return [...this.incidents.values()].map((i) => structuredClone(i));
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onEffectResult(listener: (effectId: string) => void): () => void {
    this.effectListeners.add(listener);
    return () => this.effectListeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size + this.effectListeners.size;
  }
}
