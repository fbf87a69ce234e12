// How late this node's own event loop runs: a timer that should fire every
// `resolutionMs` notes how much later it actually fired. Each late firing is a stall of
// the node (CPU starvation, a long synchronous task, GC, SIGSTOP) covering the interval
// just before it. The Monitor uses it to tell its own trouble from a peer's: a probe
// whose deadline ran out while this node was stalled says nothing about the peer.
import type { Clock, TimerHandle } from "../schedule/clock.js";

/** A source of this node's event-loop delay (the real timer below; a fake in tests). */
export interface LoopDelaySource {
  start(): void;
  /** Stops its timer. Idempotent. */
  stop(): void;
  /**
   * How long the loop was stalled within [from, to] (epoch ms), ms: the overlap of every
   * stall with that span, including a stall still going on now.
   */
  stalledMs(from: number, to: number): number;
  /**
   * Delay samples (ms) since `since` (epoch ms), each with the time it covers (ms), so
   * that a 5 s stall weighs as much as the 5 s it took: percentiles are over time.
   */
  samplesSince(since: number): Array<{ delayMs: number; spanMs: number }>;
}

/** Timer-gap detector. Keeps `retainMs` of samples. */
export class TimerLoopDelay implements LoopDelaySource {
  private readonly at: number[] = [];
  private readonly delay: number[] = [];
  private head = 0;
  /** Monotonic ms of the last tick. */
  private last = 0;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    /** Expected gap between ticks, ms. Default 50. */
    private readonly resolutionMs = 50,
    /** How long samples are kept, ms. Default 60 000. */
    private readonly retainMs = 60_000,
    /**
     * Monotonic ms (e.g. performance.now) for measuring the gaps, so that a step of the
     * wall clock is not taken for a stall. Default: the clock's own now().
     */
    private readonly monotonic: () => number = () => clock.now(),
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.last = this.monotonic();
    this.arm();
  }

  stop(): void {
    if (this.timer === null) return;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => this.tick(), this.resolutionMs);
    // A monitoring timer must not keep a process alive on its own.
    (this.timer as { unref?: () => void } | null)?.unref?.();
  }

  private tick(): void {
    const now = this.clock.now();
    const mono = this.monotonic();
    this.at.push(now);
    this.delay.push(Math.max(0, mono - this.last - this.resolutionMs));
    this.last = mono;
    while (this.head < this.at.length && (this.at[this.head] as number) < now - this.retainMs) this.head++;
    if (this.head > 1024 && this.head * 2 > this.at.length) {
      this.at.splice(0, this.head);
      this.delay.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }

  stalledMs(from: number, to: number): number {
    let total = 0;
    const overlap = (a: number, b: number): number => Math.max(0, Math.min(b, to) - Math.max(a, from));
    for (let i = this.at.length - 1; i >= this.head; i--) {
      const end = this.at[i] as number;
      const d = this.delay[i] as number;
      if (end < from) break;
      if (d > 0) total += overlap(end - d, end);
    }
    // A stall in progress: the timer is overdue right now.
    const overdue = this.overdueMs();
    if (overdue > 0) {
      const now = this.clock.now();
      total += overlap(now - overdue, now);
    }
    return total;
  }

  samplesSince(since: number): Array<{ delayMs: number; spanMs: number }> {
    const out: Array<{ delayMs: number; spanMs: number }> = [];
    for (let i = this.at.length - 1; i >= this.head && (this.at[i] as number) >= since; i--) {
      const d = this.delay[i] as number;
      out.push({ delayMs: d, spanMs: d + this.resolutionMs });
    }
    const overdue = this.overdueMs();
    if (overdue > 0) out.push({ delayMs: overdue, spanMs: overdue + this.resolutionMs });
    return out;
  }

  /** How late the next tick is right now (a stall in progress), ms; 0 when on time or stopped. */
  private overdueMs(): number {
    if (this.timer === null) return 0;
    return Math.max(0, this.monotonic() - this.last - this.resolutionMs);
  }
}
