// What the Monitor writes to its state store: each ladder transition (committed before
// anything it decided happens), the node's own journal entries (self health, storm,
// node_blind, joins, fenced steps), and the store-failure episode. While the store cannot
// commit, every step is held and the peers keep their last committed state (see
// health/store-health.ts); the first commit that succeeds again journals the episode.
import { initialState, type LadderState, type RemediationEffect } from "./core/ladder.js";
import { announceAction, Listeners } from "./core/listeners.js";
import type { Logger } from "./core/logger.js";
import { escalationStateChanged, toPeerHealth } from "./core/peer-health.js";
import type { EscalationAction, PeerHealth } from "./core/types.js";
import type { Clock } from "./schedule/clock.js";
import { StoreHealth, type StoreHealthReport } from "./health/store-health.js";
import type { NodeEntry } from "./health/correlation.js";
import { StoreCommitError } from "./store/commit-error.js";
import type { MonitorStore } from "./store/types.js";
import { effectIntent, type FencedStep } from "./effects/runner.js";
import { fencedAction } from "./effects/fence.js";
import type { Peer } from "./monitor-peer.js";

export interface MonitorJournalOptions {
  selfName: string;
  store: MonitorStore | undefined;
  clock: Clock;
  logger: Logger;
  /** The escalation handlers an action is announced to once it is journaled. */
  handlers: Listeners<[EscalationAction]>;
  /** Called on every change worth a new status version. */
  changed: () => void;
}

export class MonitorJournal {
  /** Whether the store commits; while it does not, every step is held. */
  private readonly storeHealth: StoreHealth;
  private readonly storeListeners: Listeners<[EscalationAction]>;

  constructor(private readonly o: MonitorJournalOptions) {
    this.storeHealth = new StoreHealth(o.selfName);
    this.storeListeners = new Listeners(o.logger, "store failure listener");
  }

  /** Whether the state store commits: `failing` (every step held) with the error, and the errors so far. */
  report(): StoreHealthReport {
    return this.storeHealth.report();
  }

  /** Why no step may be taken now (the store cannot commit), or undefined. */
  holdReason(): string | undefined {
    return this.storeHealth.holdReason();
  }

  /** Subscribes to the `store_failed` action that opens an episode; returns unsubscribe. */
  onStoreFailure(listener: (action: EscalationAction) => void): () => void {
    return this.storeListeners.add(listener);
  }

  notify(action: EscalationAction): void {
    announceAction(this.o.logger, this.o.handlers, action);
  }

  /**
   * Commits the transition from `prev` to `p.state`; when the store refuses it, puts `prev`
   * back (memory never runs ahead of disk), records the failure and throws StoreCommitError.
   */
  commitOrRestore(
    name: string,
    p: Peer,
    prev: LadderState,
    actions: EscalationAction[],
    effects: RemediationEffect[],
    snapshot: () => PeerHealth,
  ): void {
    const store = this.o.store;
    if (!store) return;
    try {
      if (actions.length > 0 || effects.length > 0 || escalationStateChanged(prev, p.state)) {
        store.commit({
          peer: name,
          state: p.state,
          actions,
          snapshot: snapshot(),
          effects: effects.map((e) => effectIntent(e, p.isolationId)),
        });
      } else {
        store.saveState(name, p.state);
      }
    } catch (err) {
      p.state = prev;
      this.storeFailed(err);
      throw new StoreCommitError(name, err);
    }
  }

  /** Counts a refused commit; the first of an episode is logged and announced without the store. */
  storeFailed(err: unknown): void {
    this.o.changed();
    const action = this.storeHealth.failed(err, this.o.clock.now());
    if (action === null) return;
    this.o.logger.error(
      { err: String(err), action: action.action, severity: action.severity },
      `${action.reason}`,
    );
    if (this.storeListeners.size > 0) this.storeListeners.emit({ peer: this.o.selfName }, { ...action });
  }

  /** While the store is failing: commits the episode's entries; their success ends it. */
  tryStoreRecovery(): void {
    const { store, selfName } = this.o;
    if (!store || !this.storeHealth.failing) return;
    const now = this.o.clock.now();
    const actions = this.storeHealth.recoveryEntries(now);
    try {
      store.commit({
        peer: selfName,
        actions,
        snapshot: toPeerHealth(selfName, "self", initialState(), selfName),
        effects: [],
      });
    } catch (err) {
      this.storeFailed(err);
      return;
    }
    this.storeHealth.recovered();
    this.o.changed();
    this.o.logger.info({ action: "store_recovered" }, actions[1]?.reason ?? "state store commits again");
    for (const a of actions) this.notify(a);
  }

  /** Commits and notifies a journal entry that is not a ladder step (node episodes, joins). */
  journalNode(e: NodeEntry, peer: string = e.action.peer_name): void {
    this.o.changed();
    try {
      this.o.store?.commit({ peer, actions: [e.action], snapshot: e.snapshot, effects: [] });
    } catch (err) {
      // Not on disk, so not announced (an alert is never sent that the journal lacks).
      this.storeFailed(err);
      return;
    }
    this.notify(e.action);
  }

  /** A step the host's ledger refused or held: journaled and notified as `step_fenced`. */
  journalFenced(f: FencedStep, snapshot: PeerHealth | undefined): void {
    const action = fencedAction(f, this.o.selfName, this.o.clock.now());
    this.o.changed();
    if (snapshot) this.o.store?.commit({ peer: f.peer, actions: [action], snapshot, effects: [] });
    this.notify(action);
  }
}
