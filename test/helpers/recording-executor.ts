// An Executor that records what it was asked to do ("restart:PEER:ATTEMPT",
// "isolate:PEER", "release:PEER") and succeeds, optionally after `delay()` resolves.
// Each release also records the isolation record it was given (`released`).
import type { Executor, IsolationRecord } from "../../src/act/executor.js";
import type { ActionResult } from "../../src/core/types.js";

export class RecordingExecutor implements Executor {
  readonly calls: string[] = [];
  /** The record each release was asked to undo, in order. */
  readonly released: Array<IsolationRecord | null> = [];

  constructor(private readonly delay: () => Promise<void> = async () => {}) {}

  async restart(_spec: unknown, target: { peer: string; attempt: number }): Promise<ActionResult> {
    this.calls.push(`restart:${target.peer}:${target.attempt}`);
    await this.delay();
    return { ok: true };
  }

  async isolate(_spec: unknown, target: { peer: string }) {
    this.calls.push(`isolate:${target.peer}`);
    await this.delay();
    return { result: { ok: true }, record: { method: "systemd" as const, unit: "x.service", applied: [] } };
  }

  async release(
    _spec: unknown,
    record: IsolationRecord | null,
    target: { peer: string },
  ): Promise<ActionResult> {
    this.calls.push(`release:${target.peer}`);
    this.released.push(record);
    return { ok: true };
  }
}
