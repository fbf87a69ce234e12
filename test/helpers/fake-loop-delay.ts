// A LoopDelaySource whose stalls the test sets: `stall(at, ms)` records that this node's
// loop stood still for `ms` ending at `at` (epoch ms).
import type { LoopDelaySource } from "../../src/health/loop-delay.js";

export class FakeLoopDelay implements LoopDelaySource {
  private readonly stalls: Array<{ end: number; ms: number }> = [];
  running = false;

  start(): void {
    this.running = true;
  }

  stop(): void {
    this.running = false;
  }

  stall(end: number, ms: number): void {
    this.stalls.push({ end, ms });
  }

  clear(): void {
    this.stalls.length = 0;
  }

  stalledMs(from: number, to: number): number {
    let total = 0;
    for (const s of this.stalls) total += Math.max(0, Math.min(s.end, to) - Math.max(s.end - s.ms, from));
    return total;
  }

  samplesSince(since: number): Array<{ delayMs: number; spanMs: number }> {
    // Quiet ticks (0 ms) fill the rest of the time, so percentiles are over time.
    const out = this.stalls.filter((s) => s.end >= since).map((s) => ({ delayMs: s.ms, spanMs: s.ms }));
    out.push({ delayMs: 0, spanMs: 10_000 });
    return out;
  }
}
