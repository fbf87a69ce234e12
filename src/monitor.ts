// The library's Monitor (its public API): wires probes, the scheduler and the pure ladder,
// and — when given an executor and a store — remediation and durable state.
//
// Flow per probe: acquire a concurrency slot → probe → release the slot → ladder step
// → commit (state, journal, outbox, effect intents in one transaction) → run effects and
// record their results (effects/runner.ts) → call escalation handlers (outside any
// critical section). On start, effects/resume.ts settles what a previous run left pending.
import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createExecutor } from "./act/default-executor.js";
import type { Executor, IsolationRecord } from "./act/executor.js";
import { sendJsonText } from "./api/http-error.js";
import { parseDuration, iso, type Duration } from "./core/duration.js";
import { InvalidOptionError, WatchdogError } from "./core/errors.js";
import { CONCURRENCY_DEFAULT, LOOP_DELAY_DEFAULTS, PROBE_DEFAULTS } from "./core/defaults.js";
import { concurrencyProblem, SECRET_MIN_LENGTH } from "./core/rules.js";
import type { GateVerdict, InFlightStep, RemediationGate } from "./core/gate.js";
import {
  initialState,
  isSilenced,
  step,
  type LadderEvent,
  type LadderState,
  type RemediationEffect,
  type StepContext,
} from "./core/ladder.js";
import { policyOf, restartDelayMs, type PeerSpec, type Policy, type TimingOptions } from "./core/options.js";
import type { EscalationAction, MonitorStats, PeerHealth, ProbeResult } from "./core/types.js";
import { Listeners } from "./listeners.js";
import { silentLogger, type Logger } from "./logger.js";
import { MeshNode, type MeshOptions, type MeshView } from "./mesh/mesh-node.js";
import { meshRoutes, readAllowed } from "./mesh/routes.js";
import { TokenSet } from "./api/auth.js";
import { escalationStateChanged, toPeerHealth } from "./peer-health.js";
import { createProber, probeEndpoint, probeTarget } from "./probe/index.js";
import type { Prober } from "./probe/prober.js";
import { systemClock, type Clock } from "./schedule/clock.js";
import { LatenessRecorder, type LatenessSummary } from "./schedule/lateness.js";
import { Scheduler } from "./schedule/scheduler.js";
import { Semaphore } from "./schedule/semaphore.js";
import { validatePeerSpec } from "./peer-spec.js";
import { probesInFlight, TimerLoopDelay, type LoopDelaySource } from "./health/loop-delay.js";
import { SelfHealth, type SelfHealthOptions, type SelfHealthReport } from "./health/self-health.js";
import { inconclusiveWhy } from "./health/inconclusive.js";
import { SelfJournal } from "./health/self-journal.js";
import type { MonitorStore } from "./store/types.js";
import { EffectRunner, effectIntent, type RemediatedPeer } from "./effects/runner.js";
import { resumeInterrupted } from "./effects/resume.js";
import { StepLog } from "./effects/step-log.js";
import { Correlation, type NodeEntry } from "./correlation.js";
import { stormPolicy, stormProblem, type StormOptions } from "./core/storm.js";
import { dependencyCycle, isFailingStatus } from "./core/dependencies.js";

export interface MonitorOptions extends TimingOptions {
  /** This node's name; stamped on every action. Required. */
  /**
   * The command that releases `peer`, named in the CRITICAL alert that isolates it
   * (the daemon adds --url when it is not on the default address). Default
   * `wdmesh release PEER`.
   */
  releaseCommand?: (peer: string) => string;
  selfName: string;
  /**
   * The timing defaults already compiled by compilePolicy (monitorOptionsFromConfig
   * gives one): used as it is instead of the timing keys, which must then be absent.
   */
  policy?: Policy;
  /** Max probes in flight at once (count). Default 256. */
  concurrency?: number;
  logger?: Logger;
  /** Time source (tests pass a fake). */
  clock?: Clock;
  /**
   * Carries out restart / isolate / release. Default: systemd (systemctl) and command
   * executors. Peers registered without a `restart`/`isolate` method (e.g. the seed
   * form) only emit their actions.
   */
  executor?: Executor;
  /** Durable state; without one, state lives in memory. */
  store?: MonitorStore;
  /** Probe implementation (tests pass a fake). Default: HTTP/TCP/exec/heartbeat prober. */
  prober?: Prober;
  /** Random in [0,1) for start jitter (tests pass a fixed one). */
  random?: () => number;
  /**
   * Mesh ownership and quorum as a custom hook; default: this node owns every peer.
   * Set by the `mesh` option; give one or the other.
   */
  gate?: RemediationGate;
  /**
   * Makes this node one node of a mesh (other agents embedding Monitor, or wdmesh
   * daemons): its members are watched as peers (authenticated heartbeats with a key),
   * their signed views are polled every `interval` (deadline `timeout`) once start()
   * is called, and a target is remediated by exactly one node, only after `confirm`
   * nodes see it fail. Serve `handler` or mount `routes` so the others can reach this
   * node. Default: no mesh.
   */
  mesh?: MeshOptions;
  /**
   * Bearer token (at least 16 characters) that `GET /v1/mesh` on `routes`/`handler`
   * requires (`Authorization: Bearer <token>`), compared in constant time; it also lets
   * its holder read `/v1/mesh/view`. Set it when the agent's server is reachable off
   * loopback: /v1/mesh lists every watched endpoint. Default: none (open, as the seed's
   * handler was). /health stays open.
   */
  readToken?: string;
  /**
   * Local health awareness: thresholds of this node's own event-loop delay and probe
   * lateness (see SelfHealthOptions for units and defaults). While they are exceeded
   * the node stretches its probe deadlines and holds remediation. `false` turns it off.
   */
  selfHealth?: SelfHealthOptions | false;
  /** Source of this node's event-loop delay (tests pass a fake). Default: a 50 ms timer-gap detector. */
  loopDelay?: LoopDelaySource;
  /**
   * Storm guard: when at least `fraction` (default 0.5) of the watched peers, and at least
   * `minPeers` (default 3), fail within one probe cycle (interval + timeout), every restart and isolation is held
   * and one `correlated_failure` (CRITICAL) names them and what they share; per-peer
   * remediation resumes with fresh counters once fewer fail. `false` turns it off.
   */
  storm?: StormOptions | false;
}

export type { GateVerdict, InFlightStep, RemediationGate } from "./core/gate.js";

export type EscalationHandler = (action: EscalationAction) => void | Promise<void>;
export type ProbeListener = (peer: string, result: ProbeResult, latenessMs: number) => void;

export interface SchedulerStats {
  in_flight: number;
  queued: number;
  lateness: LatenessSummary;
}

/** A registered peer; the effect runner reads and updates its isolation (RemediatedPeer). */
interface Peer extends RemediatedPeer {
  spec: PeerSpec;
  policy: Policy;
  endpoint: string;
  target: { host?: string; port?: number };
  state: LadderState;
  /** Serialises everything that touches this peer (probes, release, restart). */
  lock: Promise<void>;
  /** The probe in flight, shared by concurrent callers. */
  probing: Promise<void> | null;
  /** Epoch ms before which the scheduler should not probe (after a restart). */
  notBefore: number;
  /** The failing dependency whose incident this peer's failures joined (dependency_failing), or null. */
  joined?: string | null;
}

export class Monitor {
  readonly selfName: string;
  private readonly releaseCommand: ((peer: string) => string) | undefined;
  private readonly policy: Policy;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly store: MonitorStore | undefined;
  private readonly random: () => number;
  private gate: RemediationGate | undefined;
  private readonly sem: Semaphore;
  private readonly peers = new Map<string, Peer>();
  private readonly handlers: Listeners<[EscalationAction]>;
  private readonly probeListeners: Listeners<Parameters<ProbeListener>>;
  private readonly lateness = new LatenessRecorder();
  private readonly persisted: Map<
    string,
    { state: LadderState; isolation: IsolationRecord | null; isolationId: string | null }
  >;
  private readonly ownProber: boolean;
  private prober: Prober | null;
  private scheduler: Scheduler | null = null;
  private abort = Monitor.newAbort();
  private resumed = false;
  private readonly counters = { checks: 0, misses: 0, inconclusive: 0, restarts: 0, isolations: 0 };
  private readonly loopDelay: LoopDelaySource;
  private readonly selfHealth: SelfHealth | null;
  /** Journal entries for entering and leaving the degraded state (null without self-health). */
  private readonly selfJournal: SelfJournal | null;
  /** Restart/isolate steps running and recently finished (shared with the mesh). */
  private readonly steps = new StepLog();
  private readonly effects: EffectRunner;
  private readonly startedAt: number;
  private changes = 0;
  /** Epoch ms of the last completed probe (or of start()). */
  private progressAt = 0;
  /** The mesh side of this node (members, view poller, gate); undefined without the `mesh` option. */
  readonly mesh: MeshNode | undefined;
  private meshCache: { version: number; text: string } | null = null;
  /** Storm guard, node_blind and dependencies: what is seen across peers. */
  private readonly correlation: Correlation;

  constructor(opts: MonitorOptions) {
    if (!opts || typeof opts.selfName !== "string" || opts.selfName.trim() === "") {
      throw new InvalidOptionError("selfName", "is required: a non-empty name for this node");
    }
    this.selfName = opts.selfName;
    this.releaseCommand = opts.releaseCommand;
    if (
      opts.readToken !== undefined &&
      (typeof opts.readToken !== "string" || opts.readToken.length < SECRET_MIN_LENGTH)
    ) {
      throw new InvalidOptionError(
        "readToken",
        `must be a string of at least ${SECRET_MIN_LENGTH} characters`,
      );
    }
    this.readTokens = new TokenSet([opts.readToken]);
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
    this.effects = new EffectRunner({
      executor: opts.executor ?? createExecutor(),
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      steps: this.steps,
    });
    this.random = opts.random ?? Math.random;
    this.gate = opts.gate;
    this.ownProber = opts.prober === undefined;
    this.prober = opts.prober ?? null;
    this.startedAt = this.clock.now();
    // With the real clock, gaps are measured on the monotonic clock (a wall-clock step is no stall).
    this.loopDelay =
      opts.loopDelay ??
      new TimerLoopDelay(
        this.clock,
        LOOP_DELAY_DEFAULTS.resolutionMs,
        LOOP_DELAY_DEFAULTS.retainMs,
        this.clock === systemClock ? () => performance.now() : undefined,
        { activity: probesInFlight, idleMs: LOOP_DELAY_DEFAULTS.idleMs },
      );
    this.selfHealth = opts.selfHealth === false ? null : new SelfHealth(this.loopDelay, opts.selfHealth);
    this.selfJournal = this.selfHealth ? new SelfJournal(this.selfName, this.selfHealth) : null;
    const stormBad = opts.storm ? stormProblem(opts.storm) : undefined;
    if (stormBad) throw new InvalidOptionError(`storm.${stormBad.field}`, stormBad.problem);
    this.correlation = new Correlation({
      selfName: this.selfName,
      storm: opts.storm === false ? null : stormPolicy(opts.storm),
      windowMs: this.policy.intervalMs + this.policy.timeoutMs,
      newId: randomUUID,
    });
    this.persisted = new Map(
      (this.store?.loadPeers() ?? []).map((p) => [
        p.name,
        { state: p.state, isolation: p.isolation, isolationId: p.isolationId ?? null },
      ]),
    );
    if (opts.mesh !== undefined) {
      if (opts.gate !== undefined)
        throw new InvalidOptionError("gate", "give either mesh or gate: the mesh installs its own gate");
      this.mesh = new MeshNode(this, opts.mesh, {
        intervalMs: this.policy.intervalMs,
        timeoutMs: this.policy.timeoutMs,
        logger: this.logger,
        clock: this.clock,
      });
    }
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
    this.checkDependencies(spec);
    const saved = this.persisted.get(spec.name);
    const peer: Peer = {
      spec,
      policy,
      endpoint: probeEndpoint(spec.probe),
      target: probeTarget(spec.probe),
      state: saved?.state ?? initialState(),
      isolation: saved?.isolation ?? null,
      isolationId: saved?.isolationId ?? null,
      lock: Promise.resolve(),
      probing: null,
      notBefore: 0,
    };
    this.peers.set(spec.name, peer);
    this.correlation.peersChanged();
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
    this.checkDependencies(spec);
    p.policy = policyOf(spec, this.policy, `peers.${spec.name}.`);
    p.spec = spec;
    this.correlation.peersChanged();
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
    this.correlation.peersChanged(name);
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
    if (!this.selfHealth) return { status: "ok", loop_delay_p99_ms: 0, lateness_p99_ms: 0 };
    return this.evaluateSelf();
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
    let bound = 0;
    for (const p of this.peers.values()) {
      bound = Math.max(
        bound,
        2 * Math.max(p.policy.intervalMs, p.policy.retryIntervalMs) + p.policy.timeoutMs,
      );
    }
    return this.clock.now() - this.progressAt <= bound;
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
   * GET /v1/mesh: seed-compatible {self, peers, stats} plus node, members (the other
   * mesh nodes, which are left out of `peers`) and scheduler.
   */
  meshDocument(): MeshView {
    const mesh = this.mesh;
    const all = this.allPeers();
    return {
      self: this.selfName,
      node: this.selfName,
      peers: mesh ? all.filter((p) => !mesh.isMember(p.name)) : all,
      stats: this.stats(),
      members: mesh?.memberViews() ?? [],
      scheduler: this.schedulerStats(),
      self_health: this.selfHealthReport(),
    };
  }

  /** meshDocument() serialised; rebuilt only when a probe result or an operator action changed something. */
  meshJson(): string {
    if (this.meshCache?.version !== this.changes)
      this.meshCache = { version: this.changes, text: JSON.stringify(this.meshDocument()) };
    return this.meshCache.text;
  }

  /** `proof` for GET /health?nonce=N (hex HMAC-SHA256(mesh key, "NAME:N")); undefined without a mesh key. */
  healthProof(nonce: string): string | undefined {
    return this.mesh?.healthProof(nonce);
  }

  /** GET /v1/mesh/view: this node's signed view of its peers; undefined without a mesh key. */
  meshView(nonce?: string): { body: string; proof: string } | undefined {
    return this.mesh?.view(nonce, this.clock.now());
  }

  /** `signature` for GET /health?nonce=N&from=R with this node's own identity; undefined without one. */
  healthSignature(nonce: string, from: string): string | undefined {
    return this.mesh?.healthSignature(nonce, from);
  }

  /** Why a view request is not from a member that signed it; undefined when it is, or without a mesh. */
  viewRequestProblem(headers: IncomingHttpHeaders, nonce: string | undefined): string | undefined {
    return this.mesh?.viewRequestProblem(headers, nonce, this.clock.now());
  }

  /**
   * Serves this node's mesh routes — GET /health (with `proof` for ?nonce= when there is
   * a mesh key), GET /v1/mesh/view (signed) and GET /v1/mesh — and returns true; returns
   * false without touching `res` for any other path, so an agent mounts the mesh inside
   * its own server: `if (!monitor.routes(req, res)) app(req, res)`.
   */
  readonly routes: (req: IncomingMessage, res: ServerResponse) => boolean = meshRoutes(this);

  /** Tokens that reading /v1/mesh through `routes`/`handler` requires (option `readToken`). */
  readonly readTokens: TokenSet;

  /**
   * node:http handler: the mesh routes (see `routes`), and the /v1/mesh JSON on every
   * other path (the seed served it on any path).
   */
  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (!this.routes(req, res) && readAllowed(this, req, res)) sendJsonText(res, 200, this.meshJson());
  };

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
    this.abort = Monitor.newAbort();
    const scheduler = new Scheduler({ clock: this.clock, run: (peer, due) => this.scheduledRun(peer, due) });
    this.progressAt = this.clock.now();
    this.scheduler = scheduler;
    if (this.selfHealth) this.loopDelay.start();
    scheduler.start();
    this.resume();
    for (const [name, p] of this.peers) scheduler.schedule(name, this.firstDue(p));
    this.mesh?.start();
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
    this.abort = Monitor.newAbort(); // later checkPeer()/checkAllPeers() calls still work
    aborting.abort();
    await this.mesh?.stop();
    this.loopDelay.stop();
    if (scheduler) await scheduler.stop();
    await Promise.allSettled([...this.peers.values()].map((p) => p.lock));
    if (this.ownProber && this.prober) {
      const pr = this.prober;
      this.prober = null;
      await pr.close();
    }
    this.store?.flush();
    if (scheduler) this.logger.info({}, "watchdog stopped");
  }

  // ---------------------------------------------------------------- operator actions

  /** Undoes isolation, resets counters, closes the incident; emits `release`. */
  async release(name: string, by?: string): Promise<EscalationAction> {
    const p = this.require(name);
    const out = await this.withLock(p, () => this.apply(name, p, { type: "release", by }));
    p.notBefore = 0;
    this.rescheduleSoon(name);
    return out.find((a) => a.action === "release") as EscalationAction;
  }

  /** Maintenance: probed and shown, never escalated, for `duration` ("1h", ms). 0 lifts it. */
  silence(name: string, duration: Duration): PeerHealth {
    const p = this.require(name);
    const ms = parseDuration(duration, "duration");
    const until = ms === 0 ? null : this.clock.now() + ms;
    const prev = p.state;
    p.state = step(p.state, { type: "silence", until }, p.policy, this.ctx(name)).state;
    this.changes++;
    this.persist(name, p, prev, []);
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
    const out = await this.withLock(p, () => this.apply(name, p, { type: "operator-restart", by }));
    return out.find((a) => a.action === "restart") as EscalationAction;
  }

  // ---------------------------------------------------------------- internals

  /** One signal aborts every probe in flight on stop(); each probe adds a listener. */
  private static newAbort(): AbortController {
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    return ac;
  }

  private require(name: string): Peer {
    const p = this.peers.get(name);
    if (!p) throw new WatchdogError("WDM_UNKNOWN_PEER", `no peer named "${name}" is registered`, name);
    return p;
  }

  private health(name: string, p: Peer): PeerHealth {
    const seen = { status: p.state.status, missed_count: p.state.missed };
    const h = toPeerHealth(name, p.endpoint, p.state, this.gate?.owner(name, seen) ?? this.selfName);
    const root = p.joined ? this.correlation.rootOf(name, this.peers) : null;
    const rootPeer = root === null ? undefined : this.peers.get(root);
    if (root !== null && rootPeer) h.root_cause = { peer: root, incident_id: rootPeer.state.incidentId };
    return h;
  }

  /** Installs (or removes) the mesh gate after construction. */
  setGate(gate: RemediationGate | undefined): void {
    this.gate = gate;
  }

  private ctx(peer: string): StepContext {
    return {
      now: this.clock.now(),
      node: this.selfName,
      peer,
      newId: randomUUID,
      ...(this.releaseCommand ? { releaseCommand: this.releaseCommand(peer) } : {}),
    };
  }

  private firstDue(p: Peer): number {
    const now = this.clock.now();
    // Random initial delay so probes of many peers do not synchronise.
    return Math.max(now + Math.floor(this.random() * p.policy.intervalMs), p.notBefore);
  }

  private rescheduleSoon(name: string): void {
    if (this.scheduler?.running) this.scheduler.schedule(name, this.clock.now());
  }

  private getProber(): Prober {
    if (!this.prober) this.prober = createProber();
    return this.prober;
  }

  private async withLock<T>(p: Peer, fn: () => Promise<T>): Promise<T> {
    const prev = p.lock;
    let release!: () => void;
    p.lock = new Promise<void>((r) => (release = r));
    try {
      await prev;
      return await fn();
    } finally {
      release();
    }
  }

  private mayAct(name: string): GateVerdict {
    const verdict = this.gateVerdict(name);
    // An overloaded node cannot trust its own deadlines: it holds what it would do.
    if (this.selfHealth?.degraded !== true || (!verdict.act && verdict.hold === undefined)) return verdict;
    const overloaded = this.selfHealth.holdReason();
    return { act: false, hold: verdict.act ? overloaded : `${verdict.hold}; ${overloaded}` };
  }

  private gateVerdict(name: string): GateVerdict {
    if (!this.gate) return { act: true };
    try {
      return this.gate.mayAct(name);
    } catch (err) {
      // The node cannot tell whether it may act: it holds and says why.
      this.logger.warn({ peer: name, err: String(err) }, "mesh gate failed; holding remediation");
      return { act: false, hold: `the mesh gate failed (${String(err)})` };
    }
  }

  /** Re-evaluates this node's health; journals entering and leaving the degraded state. */
  private evaluateSelf(): SelfHealthReport {
    const now = this.clock.now();
    const { report, changed } = (this.selfHealth as SelfHealth).evaluate(now);
    const entry = this.selfJournal?.entryFor(changed, report, now);
    if (entry) {
      this.changes++;
      this.store?.commit({
        peer: this.selfName,
        actions: [entry.action],
        snapshot: entry.snapshot,
        effects: [],
      });
      this.notify(entry.action);
    }
    return report;
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
    const run = this.withLock(p, async () => {
      // Lateness that says this node is starved is how late the probe was called; a wait
      // for a concurrency slot behind this node's own probes is its own work, not a stall.
      const calledAt = this.clock.now();
      await this.sem.acquire();
      const startedAt = this.clock.now();
      const lateness = startedAt - dueAt;
      // While this node is overloaded its own slowness must not run out a peer's deadline.
      const timeoutMs = this.selfHealth?.degraded
        ? Math.round(p.policy.timeoutMs * this.selfHealth.deadlineFactor)
        : p.policy.timeoutMs;
      let result: ProbeResult;
      // While a deadline runs, this node's loop delay is sampled finely (see TimerLoopDelay);
      // counted here, so a prober passed in by the caller counts too.
      probesInFlight.begin();
      try {
        result = await this.getProber().probe(p.spec.probe, timeoutMs, this.abort.signal);
      } finally {
        probesInFlight.end();
        this.sem.release();
      }
      this.lateness.record(lateness);
      this.selfHealth?.recordLateness(Math.max(0, calledAt - dueAt), calledAt);
      if (this.selfHealth) this.evaluateSelf();
      this.counters.checks++;
      this.progressAt = this.clock.now();
      const inconclusive = result.ok
        ? null
        : inconclusiveWhy(result, timeoutMs, () => this.loopDelay.stalledMs(startedAt, this.clock.now()));
      if (inconclusive !== null) {
        this.counters.inconclusive++;
        result = { ...result, inconclusive: true, error: inconclusive.error, cause: inconclusive.cause };
        // Said once per run of inconclusive results of a peer, not once per probe.
        if (p.state.lastError?.startsWith("inconclusive: ") !== true) {
          this.logger.warn(
            { peer: name, error: inconclusive.error, cause: inconclusive.cause.kind },
            "probe inconclusive (this node's own trouble); not a miss",
          );
        }
      } else if (!result.ok) this.counters.misses++;
      if (this.probeListeners.size > 0) this.probeListeners.emit({ peer: name }, name, result, lateness);
      this.observeAcross(name, p, result.ok ? "ok" : inconclusive !== null ? "inconclusive" : "miss");
      const event: LadderEvent = result.ok
        ? { type: "probe-ok", durationMs: result.duration_ms }
        : inconclusive !== null
          ? { type: "probe-inconclusive", durationMs: result.duration_ms, error: inconclusive.error }
          : {
              type: "probe-miss",
              durationMs: result.duration_ms,
              error: result.error ?? "probe failed",
              ...this.missVerdict(name, p, result.error ?? "probe failed"),
            };
      await this.apply(name, p, event);
      const wait =
        result.ok || p.state.status === "ISOLATED" ? p.policy.intervalMs : p.policy.retryIntervalMs;
      next = Math.max(startedAt + wait, p.notBefore);
    });
    p.probing = run;
    try {
      await run;
    } finally {
      p.probing = null;
    }
    return next;
  }

  /** Steps the ladder, persists, runs effects, notifies. Caller holds the peer lock. */
  private async apply(name: string, p: Peer, event: LadderEvent): Promise<EscalationAction[]> {
    const prev = p.state;
    const out = step(prev, event, p.policy, this.ctx(name));
    p.state = out.state;
    this.changes++;
    const actions = out.effects.flatMap((e) => (e.kind === "emit" ? [e.action] : []));
    const remediation = out.effects.filter((e): e is RemediationEffect => e.kind !== "emit");
    for (const e of remediation) {
      if (e.kind === "restart") this.counters.restarts++;
      if (e.kind === "isolate") this.counters.isolations++;
    }
    if (prev.status !== p.state.status) {
      this.logger.info(
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
    this.persist(name, p, prev, actions, remediation);
    if (isFailingStatus(prev.status) && !isFailingStatus(p.state.status)) this.graceDependents(name);
    for (const e of remediation) {
      const result = await this.effects.run(name, p, e, this.abort.signal);
      // The first probe after a restart waits for the start-up grace (and the backoff).
      if (e.kind === "restart") {
        p.notBefore =
          this.clock.now() +
          (e.attempt === 0 ? p.policy.startupGraceMs : restartDelayMs(p.policy, Math.max(1, e.attempt)));
      }
      const a = actions.find((x) => x.id === e.actionId);
      if (a) a.result = result;
    }
    for (const a of actions) this.notify(a);
    return actions;
  }

  private persist(
    name: string,
    p: Peer,
    prev: LadderState,
    actions: EscalationAction[],
    effects: RemediationEffect[] = [],
  ): void {
    if (!this.store) return;
    if (actions.length > 0 || effects.length > 0 || escalationStateChanged(prev, p.state)) {
      this.store.commit({
        peer: name,
        state: p.state,
        actions,
        snapshot: this.health(name, p),
        effects: effects.map((e) => effectIntent(e, p.isolationId)),
      });
    } else {
      this.store.saveState(name, p.state);
    }
  }

  private notify(action: EscalationAction): void {
    this.logger.warn(
      {
        peer: action.peer_name,
        action: action.action,
        severity: action.severity,
        incident_id: action.incident_id,
        result: action.result,
      },
      action.reason,
    );
    // Each handler gets its own copy: one cannot change what the next one sees.
    if (this.handlers.size > 0) {
      this.handlers.emit(
        { peer: action.peer_name },
        { ...action, result: action.result ? { ...action.result } : undefined },
      );
    }
  }

  // ---------------------------------------------------------------- across peers

  /** Refuses a dependsOn that would close a cycle among the registered peers. */
  private checkDependencies(spec: PeerSpec): void {
    if (!spec.dependsOn || spec.dependsOn.length === 0) return;
    const graph = new Map<string, readonly string[]>();
    for (const [n, q] of this.peers) if (q.spec.dependsOn) graph.set(n, q.spec.dependsOn);
    graph.set(spec.name, spec.dependsOn);
    const cycle = dependencyCycle(graph);
    if (cycle) {
      throw new InvalidOptionError(
        `peers.${spec.name}.dependsOn`,
        `closes a cycle: ${cycle.join(" → ")}; a peer cannot depend on itself through others`,
      );
    }
  }

  /** Feeds one verdict to the storm guard and node_blind; journals their episodes. */
  private observeAcross(name: string, p: Peer, verdict: "ok" | "miss" | "inconclusive"): void {
    const now = this.clock.now();
    // Peers that cannot be remediated (mesh members) or are settled say nothing of a new storm.
    const settled = p.spec.alertOnly === true || p.state.status === "ISOLATED" || isSilenced(p.state, now);
    const seen = this.correlation.observe(name, verdict, now, this.peers, settled);
    for (const e of seen.entries) this.journalNode(e);
    if (!seen.stormEnded) return;
    // Per-peer remediation resumes from fresh counters: misses seen during the storm do not count.
    for (const [n, q] of this.peers) {
      if (q.state.missed === 0 && q.state.held !== true) continue;
      q.state = { ...q.state, missed: 0, held: false };
      this.store?.saveState(n, q.state);
    }
    this.changes++;
  }

  /**
   * Whether a miss may be acted on: not while a dependency fails (the miss joins its
   * incident) or a storm is on (observed only; correlated_failure said it once), else the gate.
   */
  private missVerdict(name: string, p: Peer, error: string): GateVerdict {
    const root = this.correlation.rootOf(name, this.peers);
    const rootPeer = root === null ? undefined : this.peers.get(root);
    if (root !== null && rootPeer) {
      if (p.joined !== root) {
        p.joined = root;
        const action = this.correlation.joinEntry(name, root, rootPeer.state, error, this.clock.now());
        this.journalNode({ action, snapshot: this.health(name, p) });
      }
      return { act: false };
    }
    p.joined = null;
    if (this.correlation.storm) return { act: false };
    return this.mayAct(name);
  }

  /** `root` recovered: each peer depending on it starts afresh after its startup grace. */
  private graceDependents(root: string): void {
    const now = this.clock.now();
    for (const d of this.correlation.dependentsOf(root, this.peers)) {
      const q = this.peers.get(d);
      // A dependent that kept answering needs no grace.
      if (!q || (!q.joined && q.state.missed === 0 && !isFailingStatus(q.state.status))) continue;
      q.joined = null;
      q.state = { ...q.state, missed: 0, held: false };
      q.notBefore = Math.max(q.notBefore, now + q.policy.startupGraceMs);
      this.store?.saveState(d, q.state);
      if (this.scheduler?.running) this.scheduler.schedule(d, q.notBefore);
      this.logger.info(
        { peer: d, dependency: root, grace_ms: q.policy.startupGraceMs },
        "dependency recovered; fresh startup grace before misses count",
      );
    }
  }

  /** Commits and notifies a journal entry that is not a ladder step (node episodes, joins). */
  private journalNode(e: NodeEntry): void {
    this.changes++;
    this.store?.commit({ peer: e.action.peer_name, actions: [e.action], snapshot: e.snapshot, effects: [] });
    this.notify(e.action);
  }

  /** After a crash or restart of the watchdog: effects written but never finished (once). */
  private resume(): void {
    if (this.resumed || !this.store) return;
    this.resumed = true;
    void resumeInterrupted({
      store: this.store,
      peer: (name) => this.peers.get(name),
      steps: this.steps,
      now: () => this.clock.now(),
      logger: this.logger,
      rerun: (name, p, e) => this.withLock(p, () => this.effects.run(name, p, e, this.abort.signal)),
    });
  }
}
