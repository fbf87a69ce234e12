// An Executor (the library's `executor` option) for unit tests: it records what it was asked
// to do ("restart:PEER:ATTEMPT", "isolate:PEER", "release:PEER") and succeeds, or answers
// what the test scripted per action; restarts and isolations optionally only after
// `delay()` resolves (a slow restart). Each release also records the isolation record it was given (`released`).
import type { Executor, IsolateOutcome, IsolationRecord, RemediationTarget } from "../act/executor.js";
import type { ActionResult } from "../core/types.js";

export type ExecutorAction = "restart" | "isolate" | "release";

/** One call the executor received. */
export interface ExecutorCall {
  action: ExecutorAction;
  peer: string;
  /** Restart attempt within the incident (1-based), 0 for isolate and release. */
  attempt: number;
  effectId: string;
}

/** The result of one action: a fixed one, or one computed from the call. */
export type ScriptedResult = ActionResult | ((call: ExecutorCall) => ActionResult | Promise<ActionResult>);

/** The record a successful isolation returns unless scripted otherwise. */
const ISOLATED: IsolationRecord = { method: "systemd", unit: "x.service", applied: [] };

export class RecordingExecutor implements Executor {
  /** Every call as "restart:PEER:ATTEMPT", "isolate:PEER" or "release:PEER", in order. */
  readonly calls: string[] = [];
  /** Every call with its target, in order. */
  readonly log: ExecutorCall[] = [];
  /** The record each release was asked to undo, in order. */
  readonly released: Array<IsolationRecord | null> = [];
  private readonly results = new Map<ExecutorAction, ScriptedResult>();

  /** `delay`: each restart and isolation resolves only after it does (default: at once). */
  constructor(private readonly delay: () => Promise<void> = async () => {}) {}

  /** From now on `action` answers `result` (e.g. `{ ok: false, error: "unit not found" }`). */
  script(action: ExecutorAction, result: ScriptedResult): this {
    this.results.set(action, result);
    return this;
  }

  /** The calls of one action (and one peer), e.g. `restarts("worker-1").length`. */
  callsOf(action: ExecutorAction, peer?: string): ExecutorCall[] {
    return this.log.filter((c) => c.action === action && (peer === undefined || c.peer === peer));
  }

  async restart(_spec: unknown, target: RemediationTarget): Promise<ActionResult> {
    this.calls.push(`restart:${target.peer}:${target.attempt}`);
    return this.run("restart", target);
  }

  async isolate(_spec: unknown, target: RemediationTarget): Promise<IsolateOutcome> {
    this.calls.push(`isolate:${target.peer}`);
    return { result: await this.run("isolate", target), record: ISOLATED };
  }

  async release(
    _spec: unknown,
    record: IsolationRecord | null,
    target: RemediationTarget,
  ): Promise<ActionResult> {
    this.calls.push(`release:${target.peer}`);
    this.released.push(record);
    return this.run("release", target, false);
  }

  private async run(action: ExecutorAction, target: RemediationTarget, slow = true): Promise<ActionResult> {
    const call = { action, peer: target.peer, attempt: target.attempt, effectId: target.effectId };
    this.log.push(call);
    if (slow) await this.delay();
    const r = this.results.get(action);
    if (r === undefined) return { ok: true };
    return typeof r === "function" ? r(call) : r;
  }
}
