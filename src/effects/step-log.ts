// The restart and isolate steps this node has started: those running now and the last
// ones that finished. The mesh shares them in views, so another node does not repeat a
// step this one is carrying out (or has just carried out) before takeover_after.
import type { InFlightStep } from "../core/gate.js";

/** Finished steps kept (recent()): at most this many, oldest dropped first. */
export const RECENT_STEPS_KEPT = 256;

export class StepLog {
  /** Steps running now, by effect id. */
  private readonly running = new Map<string, InFlightStep>();
  /** Steps that finished, oldest first (at most `kept`). */
  private readonly finished: InFlightStep[] = [];

  constructor(private readonly kept = RECENT_STEPS_KEPT) {}

  /** A step started (its effect id is the key); `finishedAt` is set by finish(). */
  begin(effectId: string, step: Omit<InFlightStep, "finishedAt">): void {
    this.running.set(effectId, { ...step, finishedAt: null });
  }

  /** The step of `effectId` finished at `at` (epoch ms); unknown ids are ignored. */
  finish(effectId: string, at: number): void {
    const s = this.running.get(effectId);
    if (!s) return;
    this.running.delete(effectId);
    this.add({ ...s, finishedAt: at });
  }

  /** Records a step that already finished (one interrupted by a crash, found on resume). */
  add(step: InFlightStep): void {
    this.finished.push(step);
    if (this.finished.length > this.kept) this.finished.shift();
  }

  /** Steps started and not finished, oldest first (copies). */
  inFlight(): InFlightStep[] {
    return [...this.running.values()].map((s) => ({ ...s }));
  }

  /** The finished steps that started at or after `since` (epoch ms), then every step running. */
  recent(since: number): InFlightStep[] {
    return [...this.finished.filter((s) => s.startedAt >= since), ...this.inFlight()];
  }
}
