// The library's Monitor (its public API): wires probes, the scheduler and the pure ladder,
// and — when given an executor and a store — remediation and durable state. Per probe:
// a concurrency slot → probe → release the slot → ladder step → commit (state, journal,
// outbox, effect intents in one transaction) → run effects and record their results
// (effects/runner.ts) → escalation handlers (outside any critical section). On start,
// effects/resume.ts settles what a previous run left pending. Collaborators: monitor-step.ts,
// monitor-journal.ts (commits; store-failure hold), monitor-across.ts, monitor-self.ts.
import { fetchRoutes, notServed } from "./http/fetch-adapter.js";
import { parseDuration, iso, type Duration } from "./core/duration.js";
import { InvalidOptionError, WatchdogError } from "./core/errors.js";
import { CONCURRENCY_DEFAULT, PROBE_DEFAULTS } from "./core/defaults.js";
import { concurrencyProblem } from "./core/rules.js";
import {
  askGate,
  holdWhileOverloaded,
  type GateVerdict,
  type InFlightStep,
  type RemediationGate,
} from "./core/gate.js";
import { step, type LadderEvent } from "./core/ladder.js";
import { policyOf, type PeerSpec, type Policy } from "./core/options.js";
import type { EscalationAction, MonitorStats, PeerCount, PeerHealth, ProbeResult } from "./core/types.js";
import { Listeners } from "./core/listeners.js";
import { silentLogger, type Logger } from "./core/logger.js";
import { MeshNode } from "./mesh/mesh-node.js";
import { toPeerHealth } from "./core/peer-health.js";
import { StoreCommitError } from "./store/commit-error.js";
import { createProber, probeEndpoint, probeTarget } from "./probe/index.js";
import type { Prober } from "./probe/prober.js";
import { systemClock, type Clock } from "./schedule/clock.js";
import { LatenessRecorder } from "./schedule/lateness.js";
import { Scheduler } from "./schedule/scheduler.js";
import { nearestBoundary, nextBoundary } from "./schedule/boundary.js";
import { Semaphore } from "./schedule/semaphore.js";
import { validatePeerSpec } from "./core/peer-spec.js";
import { probesInFlight } from "./health/loop-delay.js";
import type { SelfHealthReport } from "./health/self-health.js";
import type { StoreHealthReport } from "./health/store-health.js";
import { probeVerdict } from "./health/correlation.js";
import type { MonitorStore } from "./store/types.js";
import { AcrossPeers } from "./monitor-across.js";
import { NodeSelf } from "./monitor-self.js";
import { PeerStepper } from "./monitor-step.js";
import { MonitorJournal } from "./monitor-journal.js";
import { StepLog } from "./effects/step-log.js";
import { releasePlan } from "./effects/release-plan.js";
import {
  newPeer,
  newProbeAbort,
  peerCounts,
  progressBoundMs,
  savedPeers,
  withPeerLock,
  type Peer,
  type SavedPeer,
} from "./monitor-peer.js";
import type { EscalationHandler, MonitorOptions, ProbeListener, SchedulerStats } from "./monitor-options.js";

export type { EscalationHandler, MonitorOptions, ProbeListener, SchedulerStats } from "./monitor-options.js";
export type { GateVerdict, InFlightStep, RemediationGate } from "./core/gate.js";

export class Monitor {
  readonly selfName: string;
  private readonly policy: Policy;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly store: MonitorStore | undefined;
  private readonly random: () => number;
  private readonly gate: RemediationGate | undefined;
  private readonly sem: Semaphore;
  private readonly peers = new Map<string, Peer>();
  private readonly handlers: Listeners<[EscalationAction]>;
  private readonly probeListeners: Listeners<Parameters<ProbeListener>>;
  private readonly lateness = new LatenessRecorder();
  private readonly persisted: Map<string, SavedPeer>;
  private readonly ownProber: boolean;
  private prober: Prober | null;
  private scheduler: Scheduler | null = null;
  private abort = newProbeAbort();
  private readonly counters = { checks: 0, misses: 0, inconclusive: 0, restarts: 0, isolations: 0 };
  /** This node's own health: loop delay, lateness, deadlines stretched and steps held while degraded. */
  private readonly self: NodeSelf;
  /** Restart/isolate steps running and recently finished (shared with the mesh). */
  private readonly steps = new StepLog();
  /** Commits, node journal entries and the store-failure episode (every step held while it fails). */
  private readonly journal: MonitorJournal;
  /** One ladder step: commit, remediation through the host's ledger, notifications. */
  private readonly stepper: PeerStepper;
  private readonly startedAt: number;
  private changes = 0;
  /** Monotonic ms of the last completed probe (or of start()). */
  private progressAt = 0;
  /** The mesh side of this node: members, views, gate, and its routes (no members without `mesh`). */
  readonly mesh: MeshNode;
  /** Storm guard, node_blind and dependencies: what is seen across peers. */
  private readonly across: AcrossPeers;

  constructor(opts: MonitorOptions) {
    if (!opts || typeof opts.selfName !== "string" || opts.selfName.trim() === "") {
      throw new InvalidOptionError("selfName", "is required: a non-empty name for this node");
    }
    this.selfName = opts.selfName;
    this.policy = policyOf(opts);
    const concurrency = opts.concurrency ?? CONCURRENCY_DEFAULT;
    const tooMany = concurrencyProblem(concurrency);
    if (tooMany) {
      throw new InvalidOptionError("concurrency", `${tooMany} (got ${String(concurrency)})`);
    }
    this.sem = new Semaphore(concurrency);
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    this.handlers = new Listeners(this.logger, "escalation handler");
    this.probeListeners = new Listeners(this.logger, "probe listener");
    this.store = opts.store;
    this.journal = new MonitorJournal({
      selfName: this.selfName,
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      handlers: this.handlers,
      changed: () => void this.changes++,
    });
    this.stepper = new PeerStepper({
      selfName: this.selfName,
      releaseCommand: opts.releaseCommand,
      clock: this.clock,
      logger: this.logger,
      store: this.store,
      executor: opts.executor,
      ledger: opts.ledger,
      claimer: opts.stepClaimer,
      steps: this.steps,
      journal: this.journal,
      counters: this.counters,
      signal: () => this.abort.signal,
      peer: (n) => this.peers.get(n),
      health: (n, p) => this.health(n, p),
      recovered: (n) => this.across.graceDependents(n),
      changed: () => void this.changes++,
    });
    this.random = opts.random ?? Math.random;
    this.ownProber = opts.prober === undefined;
    this.prober = opts.prober ?? null;
    this.startedAt = this.clock.now();
    this.self = new NodeSelf({
      selfName: this.selfName,
      clock: this.clock,
      logger: this.logger,
      loopDelay: opts.loopDelay,
      selfHealth: opts.selfHealth,
      journal: (e) => this.journal.journalNode(e, this.selfName),
    });
    this.across = new AcrossPeers({
      selfName: this.selfName,
      storm: opts.storm,
      windowMs: this.policy.intervalMs + this.policy.timeoutMs,
      peers: this.peers,
      clock: this.clock,
      logger: this.logger,
      saveState: (n, state) => this.store?.saveState(n, state),
      journalNode: (e) => this.journal.journalNode(e),
      health: (n, p) => this.health(n, p),
      mayAct: (n) => this.mayAct(n),
      reschedule: (n, at) => this.scheduleIfRunning(n, at),
      changed: () => void this.changes++,
    });
    this.persisted = savedPeers(this.store);
    if (opts.mesh !== undefined && opts.gate !== undefined)
      throw new InvalidOptionError("gate", "give either mesh or gate: the mesh installs its own gate");
    this.mesh = new MeshNode(this, opts.mesh ?? { members: [] }, {
      intervalMs: this.policy.intervalMs,
      timeoutMs: this.policy.timeoutMs,
      logger: this.logger,
      clock: this.clock,
      ...(opts.readToken === undefined ? {} : { readToken: opts.readToken }),
      journal: (e) => this.journal.journalNode(e),
    });
    const gate = opts.gate ?? this.mesh.gate;
    this.gate = opts.wrapGate ? opts.wrapGate(gate) : gate;
  }

  // ---------------------------------------------------------------- peers

  /** Seed form `registerPeer(name, url)` or full form `registerPeer(spec)`. */
  registerPeer(nameOrSpec: string | PeerSpec, endpoint?: string): void {
    const spec: PeerSpec =
      typeof nameOrSpec === "string"
        ? { name: nameOrSpec, probe: { http: { url: endpoint as string } } }
        : nameOrSpec;
    validatePeerSpec(spec);
    if (this.peers.has(spec.name)) {
      throw new WatchdogError(
        "WDM_DUPLICATE_PEER",
        `peer "${spec.name}" is already registered; peer names must be unique`,
        "name",
      );
    }
    const policy = policyOf(spec, this.policy, `peers.${spec.name}.`);
    this.across.checkDependencies(spec);
    const peer = newPeer(spec, policy, this.persisted.get(spec.name));
    this.peers.set(spec.name, peer);
    this.across.peersChanged();
    this.changes++;
    this.logger.info({ peer: spec.name, endpoint: peer.endpoint }, "peer registered");
    if (this.scheduler?.running) this.scheduler.schedule(spec.name, this.firstDue(peer));
  }

  /**
   * Replaces a registered peer's spec (probe, methods, timing; config reload) and keeps
   * everything it has lived through: status, counters, incident, isolation, silence.
   */
  updatePeer(spec: PeerSpec): void {
    validatePeerSpec(spec);
    const p = this.require(spec.name);
    this.across.checkDependencies(spec);
    p.policy = policyOf(spec, this.policy, `peers.${spec.name}.`);
    p.spec = spec;
    this.across.peersChanged();
    p.endpoint = probeEndpoint(spec.probe);
    p.target = probeTarget(spec.probe);
    this.changes++;
    this.logger.info({ peer: spec.name, endpoint: p.endpoint }, "peer updated");
    if (this.scheduler?.running) this.scheduler.schedule(spec.name, this.firstDue(p));
  }

  /**
   * Stops watching a peer (config reload). What it was doing finishes first; its state
   * stays in the store and is taken up again if it is registered anew. False if unknown.
   */
  async removePeer(name: string): Promise<boolean> {
    const p = this.peers.get(name);
    if (!p) return false;
    this.peers.delete(name);
    this.across.peersChanged(name);
    this.scheduler?.cancel(name);
    this.changes++;
    await p.lock;
    this.scheduler?.cancel(name);
    this.persisted.set(name, { state: p.state, isolation: p.isolation, isolationId: p.isolationId });
    this.logger.info({ peer: name }, "peer removed");
    return true;
  }

  /** Subscribes to escalation actions; returns the unsubscribe function. */
  onEscalation(handler: EscalationHandler): () => void {
    return this.handlers.add(handler);
  }

  /** Observes every probe result and its lateness (metrics). Returns unsubscribe. */
  onProbe(listener: ProbeListener): () => void {
    return this.probeListeners.add(listener);
  }

  getPeerStatus(name: string): PeerHealth | undefined {
    const p = this.peers.get(name);
    return p ? this.health(name, p) : undefined;
  }

  allPeers(): PeerHealth[] {
    return [...this.peers.keys()].sort().map((n) => this.health(n, this.peers.get(n) as Peer));
  }

  peerNames(): string[] {
    return [...this.peers.keys()].sort();
  }

  /** allPeers()' name, status and missed_count only (what a mesh view lists, served often). */
  peerCounts(): PeerCount[] {
    return peerCounts(this.peers);
  }

  stats(): MonitorStats {
    return {
      total_checks: this.counters.checks,
      total_misses: this.counters.misses,
      total_restarts: this.counters.restarts,
      total_isolations: this.counters.isolations,
      inconclusive_checks: this.counters.inconclusive,
      started_at: iso(this.startedAt) as string,
      peer_count: this.peers.size,
    };
  }

  /**
   * This node's own health: `degraded` while its event-loop delay p99 or probe lateness
   * p99 (over a sliding window) is above its threshold; then deadlines are stretched and
   * remediation is held.
   */
  selfHealthReport(): SelfHealthReport {
    return this.self.report();
  }

  /** Whether the state store commits: `failing` (every step held) with the error, and the errors so far. */
  storeReport(): StoreHealthReport {
    return this.journal.report();
  }

  /**
   * Called once when the store stops committing, with the `store_failed` action (HIGH) that
   * cannot go through the store's outbox: send it another way (the daemon posts it straight
   * to its sinks). It is journaled, same id, when the store commits again. Returns unsubscribe.
   */
  onStoreFailure(listener: (action: EscalationAction) => void): () => void {
    return this.journal.onStoreFailure(listener);
  }

  /** Why this node is not fit to answer "ok" on /health (its store cannot commit), or undefined. */
  healthProblem(): string | undefined {
    return this.journal.holdReason();
  }

  /** Grows on every change of any peer's state or of the stats (cache key for views). */
  get version(): number {
    return this.changes;
  }

  /**
   * True while probing makes progress: no peers, not started, or a probe completed
   * recently (within twice the longest interval plus its timeout). The daemon only
   * sends systemd WATCHDOG=1 while this holds, so a wedged loop gets restarted.
   */
  isProgressing(): boolean {
    if (!this.scheduler?.running || this.peers.size === 0) return true;
    return this.clock.monotonic() - this.progressAt <= progressBoundMs(this.peers.values());
  }

  /** The spec `name` was registered with (read-only; undefined for an unknown peer). */
  peerSpec(name: string): Readonly<PeerSpec> | undefined {
    return this.peers.get(name)?.spec;
  }

  /** Remediation steps (restart, isolate) started and not finished, oldest first. */
  inFlightSteps(): InFlightStep[] {
    return this.steps.inFlight();
  }

  /** Remediation steps: the finished ones started at or after `since` (epoch ms), then every one running. */
  recentSteps(since: number): InFlightStep[] {
    return this.steps.recent(since);
  }

  schedulerStats(): SchedulerStats {
    return { in_flight: this.sem.inFlight, queued: this.sem.queued, lateness: this.lateness.summary() };
  }

  /**
   * The mesh routes for fetch-style servers (Hono, Bun, Deno): a web `Request` in, a
   * `Response` out; 404 for any other path (mount it on /health, /v1/mesh, /v1/mesh/view).
   */
  readonly fetch = async (request: Request): Promise<Response> =>
    (await fetchRoutes(this.mesh.routes, request)) ?? notServed(request);

  // ---------------------------------------------------------------- probing

  /** One round now: probes every peer concurrently; resolves when all results are applied. */
  async checkAllPeers(): Promise<void> {
    // Probe starts are paced: a few dozen per event-loop turn, so that a round of
    // thousands does not stall this node's own loop (and trip its self-health).
    const all: Array<Promise<PeerHealth>> = [];
    for (const n of [...this.peers.keys()]) {
      if (!this.peers.has(n)) continue;
      all.push(this.checkPeer(n));
      if (all.length % PROBE_DEFAULTS.roundBatch === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
  }

  /** Probes one peer now (operator "check"); resolves with its health after the result is applied. */
  async checkPeer(name: string): Promise<PeerHealth> {
    const p = this.require(name);
    await this.probe(name, p, this.clock.now());
    return this.health(name, p);
  }

  /** Starts background scheduling. Idempotent. `signal` aborting is the same as stop(). */
  start(opts?: { signal?: AbortSignal }): void {
    if (this.scheduler?.running) return;
    this.abort = newProbeAbort();
    const scheduler = new Scheduler({ clock: this.clock, run: (peer, due) => this.scheduledRun(peer, due) });
    this.progressAt = this.clock.monotonic();
    this.scheduler = scheduler;
    this.self.start();
    scheduler.start();
    this.stepper.resume();
    for (const [name, p] of this.peers) scheduler.schedule(name, this.firstDue(p));
    this.mesh.start();
    const signal = opts?.signal;
    if (signal) {
      if (signal.aborted) void this.stop();
      else signal.addEventListener("abort", () => void this.stop(), { once: true });
    }
    this.logger.info({ peers: this.peers.size, interval_ms: this.policy.intervalMs }, "watchdog started");
  }

  /** Stops scheduling, aborts probes in flight and waits for them. Idempotent; leaves no timers or sockets. */
  async stop(): Promise<void> {
    const scheduler = this.scheduler;
    this.scheduler = null;
    const aborting = this.abort;
    this.abort = newProbeAbort(); // later checkPeer()/checkAllPeers() calls still work
    aborting.abort();
    await this.mesh.stop();
    this.self.stop();
    if (scheduler) await scheduler.stop();
    await Promise.allSettled([...this.peers.values()].map((p) => p.lock));
    if (this.ownProber && this.prober) {
      const pr = this.prober;
      this.prober = null;
      await pr.close();
    }
    this.store?.flush();
    this.stepper.effects.close();
    if (scheduler) this.logger.info({}, "watchdog stopped");
  }

  // ---------------------------------------------------------------- operator actions

  /** Undoes isolation, resets counters, closes the incident; emits `release`. */
  async release(name: string, by?: string): Promise<EscalationAction> {
    const p = this.require(name);
    this.journal.tryStoreRecovery();
    const out = await withPeerLock(p, () => {
      // What the isolation applied must be undone: refused (record and status kept) when it cannot be.
      const plan = p.state.status === "ISOLATED" ? releasePlan(p.isolation, p.spec.isolate) : undefined;
      if (plan !== undefined && "refuse" in plan) {
        throw new WatchdogError("WDM_INVALID_STATE", `cannot release "${name}": ${plan.refuse}`, name);
      }
      return this.stepper.apply(name, p, { type: "release", by });
    });
    p.notBefore = 0;
    this.rescheduleSoon(name);
    return out.find((a) => a.action === "release") as EscalationAction;
  }

  /** Maintenance: probed and shown, never escalated, for `duration` ("1h", ms). 0 lifts it. */
  silence(name: string, duration: Duration): PeerHealth {
    const p = this.require(name);
    const ms = parseDuration(duration, "duration");
    const until = ms === 0 ? null : this.clock.now() + ms;
    this.journal.tryStoreRecovery();
    const prev = p.state;
    p.state = step(p.state, { type: "silence", until }, p.policy, this.stepper.ctx(name)).state;
    this.changes++;
    this.journal.commitOrRestore(name, p, prev, [], [], () => this.health(name, p));
    this.logger.info({ peer: name, silenced_until: iso(until) }, until ? "peer silenced" : "silence lifted");
    return this.health(name, p);
  }

  /** Operator restart now, outside the ladder's counting. Resolves with the action and its result. */
  async restart(name: string, by?: string): Promise<EscalationAction> {
    const p = this.require(name);
    if (p.state.status === "ISOLATED") {
      throw new WatchdogError(
        "WDM_INVALID_STATE",
        `peer "${name}" is ISOLATED; release it first (wdmesh release ${name})`,
        name,
      );
    }
    this.journal.tryStoreRecovery();
    const out = await withPeerLock(p, () => this.stepper.apply(name, p, { type: "operator-restart", by }));
    return out.find((a) => a.action === "restart") as EscalationAction;
  }

  // ---------------------------------------------------------------- internals

  private require(name: string): Peer {
    const p = this.peers.get(name);
    if (!p) throw new WatchdogError("WDM_UNKNOWN_PEER", `no peer named "${name}" is registered`, name);
    return p;
  }

  private health(name: string, p: Peer): PeerHealth {
    const seen = { status: p.state.status, missed_count: p.state.missed };
    const h = toPeerHealth(name, p.endpoint, p.state, this.gate?.owner(name, seen) ?? this.selfName);
    const root = this.across.rootCause(name, p);
    if (root) h.root_cause = root;
    return h;
  }

  private firstDue(p: Peer): number {
    const now = this.clock.now();
    // A member's heartbeat aims at the interval's boundaries, where the members send their
    // views (one wakeup for the heartbeats, the views and this node's own streams).
    if (this.viewHeartbeat(p)) return Math.max(nextBoundary(now, p.policy.intervalMs), p.notBefore);
    // Random initial delay so probes of many peers do not synchronise.
    return Math.max(now + Math.floor(this.random() * p.policy.intervalMs), p.notBefore);
  }

  /** True when `p` is a mesh member's heartbeat that its views answer (this node's own prober). */
  private viewHeartbeat(p: Peer): boolean {
    return this.ownProber && this.mesh.isViewHeartbeat(p.spec.probe);
  }

  private rescheduleSoon(name: string): void {
    this.scheduleIfRunning(name, this.clock.now());
  }

  private scheduleIfRunning(name: string, at: number): void {
    if (this.scheduler?.running) this.scheduler.schedule(name, at);
  }

  private getProber(): Prober {
    return (this.prober ??= createProber());
  }

  private mayAct(name: string): GateVerdict {
    // A step of this peer in flight in the host's ledger (any node's, this one's before a
    // crash): this node observes until it ends; the ledger would refuse a step anyway.
    const p = this.peers.get(name);
    if (p && this.stepper.effects.inFlight(name, p) !== undefined) return { act: false };
    // This node's own ledger trouble holds the step (remediation_held) and spends no attempt.
    const trouble = p && this.stepper.effects.ledgerTrouble(p);
    if (trouble) return { act: false, hold: trouble };
    const verdict = holdWhileOverloaded(askGate(this.gate, name, this.logger), this.self.overloadHold());
    // Nothing may be done that is not recorded: held while the store cannot commit.
    const stuck = this.journal.holdReason();
    if (stuck === undefined || (!verdict.act && verdict.hold === undefined)) return verdict;
    return { act: false, hold: verdict.act ? stuck : `${verdict.hold}; ${stuck}` };
  }

  private async scheduledRun(name: string, dueAt: number): Promise<number | null> {
    const p = this.peers.get(name);
    if (!p) return null;
    try {
      return await this.probe(name, p, dueAt);
    } catch (err) {
      this.logger.error({ peer: name, err: String(err) }, "probe cycle failed");
      return this.clock.now() + p.policy.intervalMs;
    }
  }

  /** Probes one peer (coalescing with a probe already in flight); returns the next due time. */
  private async probe(name: string, p: Peer, dueAt: number): Promise<number> {
    if (p.probing) {
      await p.probing;
      return Math.max(this.clock.now() + p.policy.intervalMs, p.notBefore);
    }
    let next = 0;
    const run = withPeerLock(p, async () => {
      // Lateness that says this node is starved is how late the probe was called; a wait
      // for a concurrency slot behind this node's own probes is its own work, not a stall.
      const calledAt = this.clock.now();
      const calledMono = this.clock.monotonic();
      await this.sem.acquire();
      const startedAt = this.clock.now();
      const startedMono = this.clock.monotonic();
      const lateness = startedAt - dueAt;
      // While this node is overloaded its own slowness must not run out a peer's deadline.
      const timeoutMs = this.self.timeoutMs(p.policy.timeoutMs);
      let result: ProbeResult;
      // The ledger's token before the evidence: a step taken by anyone since fences this one.
      p.fenceSeen = this.stepper.effects.observe(name, p);
      // While a deadline runs, this node's loop delay is sampled finely (see TimerLoopDelay);
      // counted here, so a prober passed in by the caller counts too (and asked every time).
      const signal = this.abort.signal;
      // A streamed view may be a moment behind the heartbeat: waited for up to a quarter of
      // the shorter of interval and deadline before the member is probed.
      const waitMs = Math.min(p.policy.intervalMs, timeoutMs) / 4;
      const asked = this.ownProber
        ? this.mesh.heartbeatFromView(p.spec.probe, startedAt, waitMs, signal)
        : undefined;
      const fromView = asked instanceof Promise ? await asked : asked;
      if (fromView === undefined) probesInFlight.begin();
      try {
        result = fromView ?? (await this.getProber().probe(p.spec.probe, timeoutMs, signal));
      } finally {
        if (fromView === undefined) probesInFlight.end();
        this.sem.release();
      }
      // Stopped mid-probe: cut short by this node, the probe says nothing about the peer.
      if (signal.aborted) return;
      this.lateness.record(lateness);
      this.self.probed(Math.max(0, calledAt - dueAt), calledMono);
      this.counters.checks++;
      this.progressAt = this.clock.monotonic();
      const inconclusive = this.self.inconclusive(name, p, result, timeoutMs, startedMono);
      if (inconclusive !== null) {
        this.counters.inconclusive++;
        result = { ...result, inconclusive: true, error: inconclusive.error, cause: inconclusive.cause };
      } else if (!result.ok) this.counters.misses++;
      if (this.probeListeners.size > 0) this.probeListeners.emit({ peer: name }, name, result, lateness);
      // Before the gate is asked: a store that commits again no longer holds the step.
      this.journal.tryStoreRecovery();
      this.across.observe(name, p, probeVerdict(result.ok, inconclusive?.cause));
      const event: LadderEvent = result.ok
        ? { type: "probe-ok", durationMs: result.duration_ms }
        : inconclusive !== null
          ? { type: "probe-inconclusive", durationMs: result.duration_ms, error: inconclusive.error }
          : {
              type: "probe-miss",
              durationMs: result.duration_ms,
              error: result.error ?? "probe failed",
              ...this.across.missVerdict(name, p, result.error ?? "probe failed"),
            };
      try {
        await this.stepper.apply(name, p, event);
      } catch (err) {
        // Refused by the store: already counted and said (storeFailed); the peer keeps its
        // committed state and the next probe tries again.
        if (!(err instanceof StoreCommitError)) throw err;
      }
      const wait =
        result.ok || p.state.status === "ISOLATED" ? p.policy.intervalMs : p.policy.retryIntervalMs;
      // A member's heartbeat keeps to the boundaries (nearest, so lateness does not drift it).
      const due = startedAt + wait;
      const aligned =
        wait === p.policy.intervalMs && this.viewHeartbeat(p) ? nearestBoundary(due, wait) : due;
      next = Math.max(aligned, p.notBefore);
    });
    p.probing = run;
    try {
      await run;
    } finally {
      p.probing = null;
    }
    return next;
  }
}
