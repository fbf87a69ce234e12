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
}

export interface EffectRunnerDeps {
  executor: Executor;
  /** Where results are recorded; without one, results are only returned. */
  store?: Pick<MonitorStore, "recordEffectResult"> | undefined;
  clock: Pick<Clock, "now">;
  logger: Logger;
  /** Restart and isolate steps are listed here while they run and after. */
  steps: StepLog;
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

export class EffectRunner {
  constructor(private readonly deps: EffectRunnerDeps) {}

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
  ): Promise<ActionResult> {
    const { clock, steps } = this.deps;
    const target: RemediationTarget = {
      peer: name,
      ...p.target,
      effectId: e.actionId,
      attempt: effectAttempt(e),
    };
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
      result = (await this.execute(p, e, target, signal)) ?? {
        ok: false,
        error: "the executor returned no result",
      };
    } catch (err) {
      result = { ok: false, error: `executor failed: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      steps.finish(e.actionId, clock.now());
    }
    result.duration_ms ??= clock.now() - started;
    if (!result.ok) {
      this.deps.logger.warn({ peer: name, effect: e.kind, error: result.error }, "remediation failed");
    } else {
      this.deps.logger.info({ peer: name, effect: e.kind, detail: result.detail }, "remediation done");
    }
    this.deps.store?.recordEffectResult(e.actionId, result, e.kind === "isolate" ? p.isolation : undefined);
    return result;
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
