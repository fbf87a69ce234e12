// What the Monitor and the alert workers need from durable state. The SQLite
// implementation lives beside this file; tests use an in-memory fake.
import type { IsolationRecord } from "../core/isolation.js";
import type { LadderState } from "../core/ladder.js";
import type { ActionResult, EscalationAction, PeerHealth, Severity } from "../core/types.js";

export type EffectKind = "restart" | "isolate" | "release";

/** A remediation intent. Written `pending` with its transition, before it runs. */
export interface EffectRecord {
  /** = the id of the action that asked for it; the idempotency key. */
  id: string;
  peer: string;
  kind: EffectKind;
  attempt: number;
  status: "pending" | "done";
  result: ActionResult | null;
  /**
   * For a release: the id of the isolate effect whose record it undoes (the isolation
   * it was issued against); null when there was nothing to undo, and for other kinds.
   */
  against: string | null;
  /** Epoch ms when it was written, the step starting right after (set by pendingEffects). */
  createdAt?: number;
}

export interface PersistedPeer {
  name: string;
  state: LadderState;
  /** What the last isolation applied, for release. */
  isolation: IsolationRecord | null;
  /** Id of the isolate effect that applied `isolation` (its identity); null without one. */
  isolationId: string | null;
}

/** One ladder transition: state, journal entries, outbox rows, effect intents — one transaction. */
export interface TransitionCommit {
  peer: string;
  /**
   * The peer's new ladder state. Absent for entries about this node itself (its own
   * health): then only the journal, outbox and incidents are written.
   */
  state?: LadderState;
  /** Journal entries (and, per sink routing, outbox rows), in order. */
  actions: EscalationAction[];
  /** PeerHealth at the moment of the transition; sent with webhook alerts. */
  snapshot: PeerHealth;
  effects: Array<Pick<EffectRecord, "id" | "kind" | "attempt"> & { against?: string | null }>;
}

export interface MonitorStore {
  /** Peers as they were last committed (resume after a crash or restart). */
  loadPeers(): PersistedPeer[];
  /** Commits one transition atomically. Throws WDM_STATE_STORE if it cannot. */
  commit(t: TransitionCommit): void;
  /** Non-escalating changes (last_seen, response time, last_error); may be buffered. */
  saveState(peer: string, state: LadderState): void;
  /** Marks an effect done with its result; for isolate also remembers what was applied. */
  recordEffectResult(effectId: string, result: ActionResult, isolation?: IsolationRecord | null): void;
  /** Effects written pending but never finished (the watchdog died in between). */
  pendingEffects(): EffectRecord[];
  effect(effectId: string): EffectRecord | undefined;
  isolation(peer: string): IsolationRecord | null;
  /** Flush buffered state. */
  flush(): void;
  close(): void;
}

export type DeliveryState = "pending" | "delivered" | "dead";

/** Where an action's alert to one sink stands: its outbox row, as of the read. */
export interface JournalDelivery {
  /** Sink name (alerts[].name of the config). */
  sink: string;
  state: DeliveryState;
  /** Send attempts made so far (a delivered row counts the successful one). */
  attempts: number;
  /** The last failure (for a dead row: why it was given up); null when none. */
  last_error: string | null;
}

/** A journal entry as served by the API: the action, its outcome, and the chain links. */
export interface JournalEntry extends EscalationAction {
  seq: number;
  prev_hash: string;
  hash: string;
  /**
   * One item per sink the action was routed to (empty when none), in outbox order:
   * whether its alert is still pending, was delivered, or was dead-lettered. Merged
   * from the outbox when the entry is read, like `result`; not covered by `hash`.
   * Absent on entries from sources that do not track deliveries.
   */
  deliveries?: JournalDelivery[];
  /**
   * The node's signed checkpoint of the chain at this seq, when it signed one (a node with
   * an identity signs the last entry of every commit). Merged at read time; not hashed.
   */
  checkpoint?: JournalCheckpoint;
}

/** One action to deliver to one sink. */
export interface OutboxRow {
  seq: number;
  sink: string;
  action: EscalationAction;
  peer: PeerHealth;
  state: DeliveryState;
  attempts: number;
  /** Epoch ms. */
  created_at: number;
  next_attempt_at: number;
  delivered_at: number | null;
  last_error: string | null;
}

/** Routing of actions to sinks, fixed at open time from the config. */
export interface SinkRoute {
  name: string;
  minSeverity: Severity;
}

/** An incident still open, with the latest action raised in it. */
export interface OpenIncident {
  incident_id: string;
  peer: string;
  /** Epoch ms. */
  opened_at: number;
  last_action: EscalationAction;
}

/** What a delivery worker needs from the outbox. Rows of one sink are delivered in `seq` order. */
export interface OutboxPort {
  /**
   * Oldest pending row of `sink` (whatever its next_attempt_at), or undefined. With
   * `afterSeq`, the oldest pending row with seq > afterSeq (rows the caller delivered but
   * has not marked yet are skipped).
   */
  head(sink: string, afterSeq?: number): OutboxRow | undefined;
  markDelivered(seq: number, now: number): void;
  /**
   * Optional: marks several rows delivered in one transaction (one disk sync instead of
   * one per row), each with its own delivery time (epoch ms). A worker batches its marks
   * only when the port has this, and then relies on head()'s `afterSeq`.
   */
  markDeliveredMany?(marks: ReadonlyArray<{ seq: number; at: number }>): void;
  /** Failed attempt: attempts+1, next try at `nextAttemptAt` (epoch ms). */
  markRetry(seq: number, nextAttemptAt: number, error: string): void;
  /** Gives up on a row (4xx other than 408/429, or older than max_age); it stays visible. */
  markDead(seq: number, reason: string, now: number): void;
  list(filter: { state?: DeliveryState; sink?: string; limit?: number }): OutboxRow[];
  depth(): Record<string, { pending: number; dead: number }>;
  /** The outcome of the effect an action asked for (restart/isolate/release), if recorded. */
  effect(effectId: string): EffectRecord | undefined;
  openIncidents(): OpenIncident[];
  /** Called after every commit that added outbox rows. Returns unsubscribe. */
  onAppend(listener: () => void): () => void;
  /** Called after an effect's result was recorded, with the effect's id. Returns unsubscribe. */
  onEffectResult(listener: (effectId: string) => void): () => void;
}

/** A signed checkpoint as stored and served with the journal entry at its seq. */
export interface JournalCheckpoint {
  /** The node that signed (its name is part of the signed message). */
  node: string;
  /** The journal's hash at this seq when it was signed. */
  hash: string;
  /** The signer's public key, base64 (informational: verification uses the keys it is given). */
  public_key: string;
  /** Base64 Ed25519 signature of checkpointMessage(node, seq, hash). */
  signature: string;
}
