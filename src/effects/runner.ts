// Carries out the ladder's remediation effects (restart, isolate, release) through the
// Executor, and records each one's result against the intent the transition committed.
// It lives apart from the Monitor so that what a step does to a peer's isolation record,
// and what it answers when there is nothing to run, can be tested with a fake executor.
import type { Executor, RemediationTarget } from "../act/executor.js";
import type { Clock } from "../core/clock.js";
import type { IsolationRecord } from "../core/isolation.js";
import type { LadderState, RemediationEffect } from "../core/ladder.js";
import type { Logger } from "../core/logger.js";
import type { PeerSpec } from "../core/options.js";
import type { ActionResult } from "../core/types.js";
import type { MonitorStore, TransitionCommit } from "../store/types.js";
import type { StepLog } from "./step-log.js";
import { releasePlan } from "./release-plan.js";
import type { StepFence } from "./fence.js";
import { stepTimeoutMs } from "../ledger/step-key.js";

/** What the runner reads, and for isolate/release updates, of the peer it acts on. */
export interface RemediatedPeer {
  readonly spec: Pick<PeerSpec, "restart" | "isolate">;
  /** Host and port of the peer's probe (an isolation is verified against them). */
  readonly target: { host?: string; port?: number };
  readonly state: Pick<LadderState, "status" | "incidentId">;
  /** What the isolation in force applied (a release undoes exactly this); null when none. */
  isolation: IsolationRecord | null;
  /** Id of the isolate effect that applied `isolation` (what a release is issued against). */
  isolationId: string | null;
  /**
   * The peer's token in the host's step ledger as this node read it before gathering the
   * evidence for its next step (before its probe); a step taken since fences this one.
   */
  fenceSeen?: number | undefined;
}

/**
 * A claim of a step beyond this host (the fleet's step key in etcd), taken before the
 * host's ledger: its token is the ledger's external token (an older one is refused there)
 * and the executor's fencing token.
 */
export interface StepClaimer {
  claim(peer: string, kind: RemediationEffect["kind"]): Promise<ClaimedStep | { ok: false; reason: string }>;
}

export interface ClaimedStep {
  ok: true;
  token: number;
  /** Why the step must not start now (asked just before the executor), or undefined. */
  check(): Promise<string | undefined>;
  /** Gives the claim up once the step ended. Never throws. */
  finish(): Promise<void>;
}

/** A step the host's step ledger refused (INFO) or held (HIGH): it was never performed. */
export interface FencedStep {
  peer: string;
  incident: string | null;
  effect: RemediationEffect;
  severity: "INFO" | "HIGH";
  /** Why, naming who took it. */
  reason: string;
}

export interface EffectRunnerDeps {
  executor: Executor;
  /** Where results are recorded; without one, results are only returned. */
  store?: Pick<MonitorStore, "recordEffectResult"> | undefined;
  clock: Pick<Clock, "now" | "monotonic">;
  logger: Logger;
  /** Restart and isolate steps are listed here while they run and after. */
  steps: StepLog;
  /** The host's step ledger: every step is taken there first. Without one, steps are not fenced. */
  fence?: StepFence | undefined;
  /** A step the ledger refused or held (journaled as `step_fenced`). */
  onFenced?: ((f: FencedStep) => void) | undefined;
  /** Claims each step beyond this host before the ledger takes it (the fleet's etcd). */
  claimer?: StepClaimer | undefined;
}

/** The restart attempt an effect carries (0 for an operator restart, isolate and release). */
export function effectAttempt(e: RemediationEffect): number {
  return e.kind === "restart" ? e.attempt : 0;
}

/**
 * The intent committed with the transition that asked for `e`. A release names the
 * isolation it undoes (`isolationId`, the peer's when the release was decided) so that
 * after a crash it is completed only against that isolation.
 */
export function effectIntent(
  e: RemediationEffect,
  isolationId: string | null,
): TransitionCommit["effects"][number] {
  return {
    id: e.actionId,
    kind: e.kind,
    attempt: effectAttempt(e),
    ...(e.kind === "release" ? { against: e.wasIsolated ? isolationId : null } : {}),
  };
}

/**
 * The result of a step that has no method to run. Stated at once, so the alert that
 * reports the step never waits for an effect that will not happen.
 */
export function notConfigured(kind: "restart" | "isolate"): ActionResult {
  return { ok: false, error: `no ${kind} method configured for this peer; nothing was done` };
}

/**
 * Whether `e` acts on the world for `p` (a release of an isolation, a restart or an
 * isolation with a method): only those are taken in the ledger. A release undoes what the
 * isolation record says, whatever the config says now (release-plan.ts), so it is taken
 * even after a reload to `isolate: none`.
 */
function hasMethod(p: RemediatedPeer, e: RemediationEffect): boolean {
  if (e.kind === "release") return e.wasIsolated;
  const spec = e.kind === "restart" ? p.spec.restart : p.spec.isolate;
  return spec !== undefined && spec !== "none";
}

/** Whether `p` has a restart or isolate method: only then is its token read and its incidents recorded. */
function remediable(p: RemediatedPeer): boolean {
  const { restart, isolate } = p.spec;
  return (restart !== undefined && restart !== "none") || (isolate !== undefined && isolate !== "none");
}

export class EffectRunner {
  constructor(private readonly deps: EffectRunnerDeps) {}

  /** The peer's token in the step ledger (read before a probe); undefined without a ledger or a method. */
  observe(name: string, p: RemediatedPeer): number | undefined {
    return this.fenceOf(p)?.observe(name);
  }

  /** Who holds a step of `name` in flight in the host's ledger, or undefined (none, no ledger, no method). */
  inFlight(name: string, p: RemediatedPeer): string | undefined {
    return this.fenceOf(p)?.inFlight(name);
  }

  /**
   * Why a step for `p` would be held now: the host's ledger could not be opened or read when
   * this node read the peer's token before its probe. Undefined when it could (or no ledger).
   */
  ledgerTrouble(p: RemediatedPeer): string | undefined {
    const fence = this.fenceOf(p);
    return fence && p.fenceSeen === undefined ? fence.trouble() : undefined;
  }

  /** Records that the incident of `name` ended (recovery, release): its steps never run again. */
  endIncident(name: string, p: RemediatedPeer, incident: string, why: string): Promise<void> {
    const fence = this.fenceOf(p);
    if (!fence) return Promise.resolve();
    return fence.endIncident(
      name,
      incident,
      why,
      stepTimeoutMs(p.spec, { kind: "restart", actionId: "", attempt: 1 }),
    );
  }

  /** The ledger, for a peer with a method (without one nothing of it is ever taken). */
  private fenceOf(p: RemediatedPeer): StepFence | undefined {
    return remediable(p) ? this.deps.fence : undefined;
  }

  /** Closes the ledger file (opened again on next use). */
  close(): void {
    this.deps.fence?.close();
  }

  /**
   * Runs `e` for peer `name` and records its result (with, for an isolation, what it
   * applied). Never throws: an executor that throws or answers nothing is a failed step.
   * The caller holds the peer's lock.
   */
  async run(
    name: string,
    p: RemediatedPeer,
    e: RemediationEffect,
    signal: AbortSignal,
    opts: { resume?: boolean } = {},
  ): Promise<ActionResult> {
    const { claimer } = this.deps;
    if (!claimer || !hasMethod(p, e)) return this.runTaken(name, p, e, signal, opts, undefined);
    // Claimed beyond this host first: the claim's token goes into the host's ledger below.
    const claim = await claimer.claim(name, e.kind);
    if (!claim.ok) {
      const result: ActionResult = { ok: false, error: `${e.kind} held: ${claim.reason}` };
      this.deps.logger.warn({ peer: name, effect: e.kind, error: result.error }, "remediation failed");
      this.deps.store?.recordEffectResult(e.actionId, result, e.kind === "isolate" ? p.isolation : undefined);
      return result;
    }
    try {
      return await this.runTaken(name, p, e, signal, opts, claim);
    } finally {
      await claim.finish();
    }
  }

  private async runTaken(
    name: string,
    p: RemediatedPeer,
    e: RemediationEffect,
    signal: AbortSignal,
    opts: { resume?: boolean },
    claim: ClaimedStep | undefined,
  ): Promise<ActionResult> {
    const { clock, steps, fence } = this.deps;
    const token = claim?.token;
    const target: RemediationTarget = {
      peer: name,
      ...p.target,
      effectId: e.actionId,
      attempt: effectAttempt(e),
      ...(token === undefined ? {} : { fencingToken: String(token) }),
    };
    // Taken in the host's ledger first: a step another node (or this one before a crash)
    // took, still in flight, of an ended incident, decided on stale evidence or carrying
    // an older token than one the ledger accepted never runs.
    const fenced =
      fence && hasMethod(p, e) ? await this.take(fence, name, p, e, token, opts.resume === true) : null;
    if (fenced) return fenced;
    const started = clock.now();
    if (e.kind !== "release") {
      steps.begin(e.actionId, {
        peer: name,
        incident: p.state.incidentId,
        step: e.kind,
        attempt: target.attempt,
        startedAt: started,
      });
    }
    let result: ActionResult;
    try {
      // The claim checked once more just before acting (e.g. this node's lease still valid).
      const refused = await claim?.check();
      result =
        refused !== undefined
          ? { ok: false, error: `${e.kind} not run: ${refused}` }
          : ((await this.execute(p, e, target, signal)) ?? {
              ok: false,
              error: "the executor returned no result",
            });
    } catch (err) {
      result = { ok: false, error: `executor failed: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      steps.finish(e.actionId, clock.now());
    }
    result.duration_ms ??= clock.now() - started;
    if (fence && hasMethod(p, e)) await fence.finish(name, p.spec, e, result);
    if (!result.ok) {
      this.deps.logger.warn({ peer: name, effect: e.kind, error: result.error }, "remediation failed");
    } else {
      this.deps.logger.info({ peer: name, effect: e.kind, detail: result.detail }, "remediation done");
    }
    this.deps.store?.recordEffectResult(e.actionId, result, e.kind === "isolate" ? p.isolation : undefined);
    return result;
  }

  /** Takes `e` in the ledger; its recorded result when refused or held, null when taken. */
  private async take(
    fence: StepFence,
    name: string,
    p: RemediatedPeer,
    e: RemediationEffect,
    external: number | undefined,
    resume: boolean,
  ): Promise<ActionResult | null> {
    const incident = p.state.incidentId;
    // An operator's restart or release acts on the operator's word, not on this node's probe.
    const operator = e.kind === "release" || (e.kind === "restart" && e.attempt === 0);
    const seen = operator ? undefined : p.fenceSeen;
    let t = await fence.take(name, p.spec, incident, e, seen, external, resume);
    if (!t.ok && t.severity === "HIGH" && e.kind === "release") {
      // An operator's release is not held by an unusable ledger: holding it would leave the
      // peer cut off while its status says released.
      this.deps.logger.warn(
        { peer: name, reason: t.reason },
        "step ledger unusable; the release runs anyway",
      );
      return null;
    }
    if (t.ok) {
      p.fenceSeen = t.token; // this node's own step does not make its evidence stale
      // A node paused between the take and the start past the step's timeout: others may
      // have taken the peer since; the step is given up, not started late.
      if (this.deps.clock.monotonic() < t.deadline) return null;
      const late: ActionResult = { ok: false, fenced: true, error: "" };
      late.error =
        "step fenced, not performed: this node was held up past the step's timeout after taking it";
      await fence.finish(name, p.spec, e, late);
      t = {
        ok: false,
        severity: "INFO",
        reason: late.error.slice("step fenced, not performed: ".length),
        result: late,
      };
    }
    const log = t.severity === "INFO" ? this.deps.logger.info : this.deps.logger.error;
    log.call(this.deps.logger, { peer: name, effect: e.kind, reason: t.reason }, "step_fenced");
    this.deps.store?.recordEffectResult(e.actionId, t.result, e.kind === "isolate" ? p.isolation : undefined);
    this.deps.onFenced?.({ peer: name, incident, effect: e, severity: t.severity, reason: t.reason });
    return t.result;
  }

  private async execute(
    p: RemediatedPeer,
    e: RemediationEffect,
    target: RemediationTarget,
    signal: AbortSignal,
  ): Promise<ActionResult | undefined> {
    const { executor } = this.deps;
    if (e.kind === "restart") {
      const spec = p.spec.restart;
      if (spec === undefined || spec === "none") return notConfigured("restart");
      return executor.restart(spec, target, signal);
    }
    const spec = p.spec.isolate;
    if (e.kind === "isolate") {
      if (spec === undefined || spec === "none") return notConfigured("isolate");
      const out = await executor.isolate(spec, target, signal);
      p.isolation = out.record;
      p.isolationId = e.actionId;
      return out.result;
    }
    // release: always records a result, so its intent is never left pending (and replayed later).
    // What it undoes comes from the isolation record, whatever the config says now.
    const record = p.isolation;
    if (!e.wasIsolated) {
      p.isolation = null;
      p.isolationId = null;
      return { ok: true, detail: "the peer was not isolated; nothing to undo" };
    }
    const plan = releasePlan(record, spec);
    // Refused: the record stays (in memory and in the store, which drops it only on success).
    if ("refuse" in plan) return { ok: false, error: plan.refuse };
    p.isolation = null;
    p.isolationId = null;
    if ("nothing" in plan) return { ok: true, detail: plan.nothing };
    return executor.release(plan.run, record, target, signal);
  }
}
