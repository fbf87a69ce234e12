// One step of a peer's ladder inside the Monitor: the pure reducer (core/ladder.ts), then
// the commit (monitor-journal.ts: nothing below happens unless it is on disk), then the
// remediation effects through the host's step ledger (effects/runner.ts), then the
// notifications. On start it settles what a previous run left pending (effects/resume.ts).
import { randomUUID } from "node:crypto";
import { createExecutor } from "./act/default-executor.js";
import type { Executor } from "./act/executor.js";
import { isFailingStatus } from "./core/dependencies.js";
import { step, type LadderEvent, type RemediationEffect, type StepContext } from "./core/ladder.js";
import type { Logger } from "./core/logger.js";
import { restartDelayMs } from "./core/options.js";
import type { ActionResult, EscalationAction, PeerHealth } from "./core/types.js";
import type { Clock } from "./schedule/clock.js";
import type { LedgerOptions } from "./ledger/sqlite-ledger.js";
import type { MonitorStore } from "./store/types.js";
import { EffectRunner, type StepClaimer } from "./effects/runner.js";
import { resumeInterrupted } from "./effects/resume.js";
import { ledgerDir, StepFence } from "./effects/fence.js";
import type { StepLog } from "./effects/step-log.js";
import type { MonitorJournal } from "./monitor-journal.js";
import { withPeerLock, type Peer } from "./monitor-peer.js";

export interface PeerStepperOptions {
  selfName: string;
  releaseCommand: ((peer: string) => string) | undefined;
  clock: Clock;
  logger: Logger;
  store: MonitorStore | undefined;
  /** Default: the built-in executor (systemd, containers, commands). */
  executor: Executor | undefined;
  /** The host's step ledger: default on with the built-in executor, off with one of your own. */
  ledger: LedgerOptions | false | undefined;
  /** Claims each step beyond this host before the ledger (the fleet's etcd). */
  claimer: StepClaimer | undefined;
  /** Restart/isolate steps running and recently finished (shared with the mesh). */
  steps: StepLog;
  journal: MonitorJournal;
  /** The Monitor's counters of steps taken. */
  counters: { restarts: number; isolations: number };
  /** The signal that aborts what runs on stop(). */
  signal: () => AbortSignal;
  /** A registered peer by name. */
  peer: (name: string) => Peer | undefined;
  /** A peer's health as shown (the snapshot committed with a transition). */
  health: (name: string, p: Peer) => PeerHealth;
  /** A peer left a failing status (its dependents may start afresh). */
  recovered: (name: string) => void;
  /** Called on every change worth a new status version. */
  changed: () => void;
}

export class PeerStepper {
  readonly effects: EffectRunner;
  private resumed = false;

  constructor(private readonly o: PeerStepperOptions) {
    this.effects = new EffectRunner({
      executor: o.executor ?? createExecutor(),
      store: o.store,
      clock: o.clock,
      logger: o.logger,
      steps: o.steps,
      claimer: o.claimer,
      fence:
        o.ledger === false || (o.ledger === undefined && o.executor !== undefined)
          ? undefined
          : new StepFence({
              dir: ledgerDir(o.ledger?.dir),
              node: o.selfName,
              clock: o.clock,
              logger: o.logger,
            }),
      onFenced: (f) => {
        const p = this.o.peer(f.peer);
        this.o.journal.journalFenced(f, p ? this.o.health(f.peer, p) : undefined);
      },
    });
  }

  ctx(peer: string): StepContext {
    return {
      now: this.o.clock.now(),
      node: this.o.selfName,
      peer,
      newId: randomUUID,
      ...(this.o.releaseCommand ? { releaseCommand: this.o.releaseCommand(peer) } : {}),
    };
  }

  /**
   * Steps the ladder, persists, runs effects, notifies. Caller holds the peer lock, and has
   * given a failing store its chance to recover (journal.tryStoreRecovery) before it asked
   * whether it may act.
   */
  async apply(name: string, p: Peer, event: LadderEvent): Promise<EscalationAction[]> {
    const { journal, counters, logger } = this.o;
    const prev = p.state;
    const out = step(prev, event, p.policy, this.ctx(name));
    p.state = out.state;
    this.o.changed();
    const actions = out.effects.flatMap((e) => (e.kind === "emit" ? [e.action] : []));
    const remediation = out.effects.filter((e): e is RemediationEffect => e.kind !== "emit");
    // Commit first: nothing below happens (counters, effects, alerts) unless it is on disk.
    journal.commitOrRestore(name, p, prev, actions, remediation, () => this.o.health(name, p));
    for (const e of remediation) {
      if (e.kind === "restart") counters.restarts++;
      if (e.kind === "isolate") counters.isolations++;
    }
    if (prev.status !== p.state.status) {
      logger.info(
        {
          peer: name,
          from: prev.status,
          to: p.state.status,
          missed: p.state.missed,
          restarts: p.state.restarts,
        },
        "peer status changed",
      );
    }
    if (isFailingStatus(prev.status) && !isFailingStatus(p.state.status)) this.o.recovered(name);
    for (const e of remediation) {
      const result = await this.runEffect(name, p, e);
      // The first probe after a restart waits for the start-up grace (and the backoff).
      if (e.kind === "restart") {
        p.notBefore =
          this.o.clock.now() +
          (e.attempt === 0 ? p.policy.startupGraceMs : restartDelayMs(p.policy, Math.max(1, e.attempt)));
      }
      const a = actions.find((x) => x.id === e.actionId);
      if (a) a.result = result;
    }
    // An incident that ended (recovery, release): the ledger refuses any step of it from now on.
    if (prev.incidentId !== null && p.state.incidentId !== prev.incidentId)
      await this.effects.endIncident(name, p, prev.incidentId, `${name} is ${p.state.status}`);
    for (const a of actions) journal.notify(a);
    return actions;
  }

  /** After a crash or restart of the watchdog: effects written but never finished (once). */
  resume(): void {
    const { store } = this.o;
    if (this.resumed || !store) return;
    this.resumed = true;
    void resumeInterrupted({
      store,
      peer: (name) => this.o.peer(name),
      steps: this.o.steps,
      now: () => this.o.clock.now(),
      logger: this.o.logger,
      rerun: (name, p, e) =>
        withPeerLock(p, () => this.effects.run(name, p, e, this.o.signal(), { resume: true })),
    });
  }

  /** Runs one committed effect; a store that cannot record its result is a store failure, not a lost alert. */
  private async runEffect(name: string, p: Peer, e: RemediationEffect): Promise<ActionResult> {
    try {
      return await this.effects.run(name, p, e, this.o.signal());
    } catch (err) {
      this.o.journal.storeFailed(err);
      return { ok: false, error: `the step ran but its result could not be recorded: ${String(err)}` };
    }
  }
}
