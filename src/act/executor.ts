// The remediation interface: the ladder decides, an Executor acts on the world.
// Implementations: systemd (systemctl), command (argv, no shell), and a fake in tests.
import type { ActionResult } from "../core/types.js";
import type { IsolationRecord } from "../core/isolation.js";
import type { IsolateSpec, RestartSpec } from "../core/options.js";

export type { IsolationRecord } from "../core/isolation.js";

/** What the executor may need to know about the peer it acts on. */
export interface RemediationTarget {
  peer: string;
  /** Host and port of the peer's probe, when it has one; used to verify network isolation. */
  host?: string;
  port?: number;
  /** Idempotency id of this effect (stable across watchdog restarts). */
  effectId: string;
  /** Restart attempt number within the incident (1-based), 0 for isolate/release. */
  attempt: number;
  /**
   * An external fencing token (e.g. an etcd key revision) this step was taken with; the
   * host's step ledger already refused it if older than the latest it accepted.
   */
  fencingToken?: number;
}

export interface IsolateOutcome {
  result: ActionResult;
  record: IsolationRecord;
}

export interface Executor {
  restart(spec: RestartSpec, target: RemediationTarget, signal: AbortSignal): Promise<ActionResult>;
  isolate(spec: IsolateSpec, target: RemediationTarget, signal: AbortSignal): Promise<IsolateOutcome>;
  /** Undo `record` (what isolate applied) and start the unit again. */
  release(
    spec: IsolateSpec,
    record: IsolationRecord | null,
    target: RemediationTarget,
    signal: AbortSignal,
  ): Promise<ActionResult>;
}
