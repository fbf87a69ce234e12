// The effect side of a MonitorStore in memory: intents a test leaves pending (as a node
// that crashed would have) and the results recorded against them, in order.
import type { IsolationRecord } from "../../src/core/isolation.js";
import type { ActionResult } from "../../src/core/types.js";
import type { EffectRecord, MonitorStore } from "../../src/store/types.js";

export interface RecordedResult {
  id: string;
  result: ActionResult;
  /** What an isolate applied (undefined for other kinds). */
  isolation: IsolationRecord | null | undefined;
}

export class MemoryEffectStore implements Pick<MonitorStore, "pendingEffects" | "recordEffectResult"> {
  private readonly intents: EffectRecord[] = [];
  /** Every recordEffectResult call, in order. */
  readonly results: RecordedResult[] = [];

  /** Leaves an intent pending (`attempt` 0, `against` null unless given). */
  addPending(e: Pick<EffectRecord, "id" | "peer" | "kind"> & Partial<EffectRecord>): void {
    this.intents.push({ attempt: 0, status: "pending", result: null, against: null, ...e });
  }

  pendingEffects(): EffectRecord[] {
    return this.intents.filter((e) => !this.results.some((r) => r.id === e.id)).map((e) => ({ ...e }));
  }

  recordEffectResult(id: string, result: ActionResult, isolation?: IsolationRecord | null): void {
    this.results.push({ id, result, isolation });
  }

  /** The result recorded for `id` (the last one), or undefined. */
  resultOf(id: string): ActionResult | undefined {
    return this.results.findLast((r) => r.id === id)?.result;
  }
}
