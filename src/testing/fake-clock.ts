// A fake Clock (the library's `Clock` option) for unit tests of code that embeds Monitor,
// and the one fake clock of this repository's own tests. Time moves only when the test
// says so (advance, jump, setWallClockBy), or — in auto mode — when the code under test
// sleeps: sleep(ms) then moves time forward by ms at once, so hours of retries run in
// milliseconds and every delay is observable (sleeps). Due timers fire in order.
import type { Clock, TimerHandle } from "../core/clock.js";
import { TESTING_DEFAULTS } from "../core/defaults.js";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private t: number;
  /**
   * The monotonic reading: moves with advance() and jump(), not with setWallClockBy().
   * It starts equal to the wall clock, so the two agree until the wall clock is set.
   */
  private m: number;
  private seq = 0;
  private timers: Timer[] = [];
  /** Every sleep asked for, ms, in order. */
  readonly sleeps: number[] = [];
  /** Auto mode: called after each sleep has moved time (tests finish effects "later" with it). */
  onAdvance: ((now: number) => void) | null = null;

  /**
   * @param start epoch ms
   * @param opts.auto sleeps advance time themselves (for code that only sleeps, like the alert workers)
   */
  constructor(
    start = Date.parse("2026-01-01T00:00:00Z"),
    private readonly opts: { auto?: boolean } = {},
  ) {
    this.t = start;
    this.m = start;
  }

  now(): number {
    return this.t;
  }

  monotonic(): number {
    return this.m;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: ++this.seq, at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (this.opts.auto) {
      await new Promise<void>((r) => setImmediate(r));
      if (signal?.aborted) return;
      this.t += ms;
      this.m += ms;
      this.onAdvance?.(this.t);
      return;
    }
    if (signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const id = this.setTimeout(resolve, ms);
      signal?.addEventListener(
        "abort",
        () => {
          this.clearTimeout(id);
          resolve();
        },
        { once: true },
      );
    });
  }

  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      const to = Math.max(this.t, due.at);
      this.m += to - this.t;
      this.t = to;
      due.fn();
    }
    this.m += end - this.t;
    this.t = end;
    await settle();
  }

  /**
   * Time passes by `ms` without any timer firing, as when the process stood still (a
   * stall); overdue timers fire at the next advance().
   */
  jump(ms: number): void {
    this.t += ms;
    this.m += ms;
  }

  /**
   * The wall clock is set by `ms` (negative: backwards, as NTP or an operator may do).
   * Armed timers keep their remaining delay, as real (monotonic) timers do, and the
   * monotonic reading does not move.
   */
  setWallClockBy(ms: number): void {
    this.t += ms;
    for (const t of this.timers) t.at += ms;
  }
}

/** Lets pending promise chains run (several macrotask turns). */
export async function settle(turns: number = TESTING_DEFAULTS.settleTurns): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Waits on the event loop (never on the wall clock) until `cond` holds; fails after `maxTurns` turns. */
export async function turnsUntil(
  what: string,
  cond: () => boolean,
  maxTurns: number = TESTING_DEFAULTS.maxTurns,
): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`condition not reached: ${what}`);
}
