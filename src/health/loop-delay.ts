// How late this node's own event loop runs: a timer that should fire every
// `resolutionMs` notes how much later it actually fired. Each late firing is a stall of
// the node (CPU starvation, a long synchronous task, GC, SIGSTOP) covering the interval
// just before it. The Monitor uses it to tell its own trouble from a peer's: a probe
// whose deadline ran out while this node was stalled says nothing about the peer.
//
// Cost: every tick wakes the process. With an `activity` source the timer ticks at
// `resolutionMs` only while probes are in flight (when a stall could run out a
// deadline) and at `idleMs` otherwise, so an idle embedded watchdog wakes once a second
// for it instead of 20 times.
import type { Clock, TimerHandle } from "../schedule/clock.js";
import { LOOP_DELAY_DEFAULTS } from "../core/defaults.js";
import { untilBoundary } from "../schedule/boundary.js";

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

/** Says when deadlines are running (probes in flight), so the detector samples finely then. */
export interface LoopActivity {
  /** True while at least one deadline runs. */
  readonly busy: boolean;
  /** Calls `fn` each time `busy` changes; returns the unsubscribe function. */
  watch(fn: () => void): () => void;
}

/** Counts deadlines running; busy while the count is above zero. */
export class DeadlineActivity implements LoopActivity {
  private count = 0;
  private readonly watchers = new Set<() => void>();

  get busy(): boolean {
    return this.count > 0;
  }

  /** A deadline starts. */
  begin(): void {
    if (this.count++ === 0) this.changed();
  }

  /** A deadline ended (settled either way). */
  end(): void {
    if (this.count === 0) return;
    if (--this.count === 0) this.changed();
  }

  watch(fn: () => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  private changed(): void {
    for (const w of this.watchers) w();
  }
}

/**
 * Probes in flight in this process: every Monitor counts each probe here while it runs.
 * The event loop is the process's, so one count serves every Monitor in it.
 */
export const probesInFlight = new DeadlineActivity();

export interface AdaptiveOptions {
  /** While not busy, the timer ticks this often instead, ms. */
  idleMs: number;
  activity: LoopActivity;
}

/** Timer-gap detector. Keeps `retainMs` of samples. */
export class TimerLoopDelay implements LoopDelaySource {
  private readonly at: number[] = [];
  private readonly delay: number[] = [];
  /** The gap each sample covers (its delay plus the resolution the timer was armed with), ms. */
  private readonly span: number[] = [];
  private head = 0;
  /** Monotonic ms of the last tick (or re-arm). */
  private last = 0;
  /** Gap the pending timer was armed for, ms. */
  private armedMs = 0;
  /** Whether the pending timer is an idle tick. */
  private armedIdle = false;
  private timer: TimerHandle | null = null;
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly clock: Clock,
    /** Expected gap between ticks, ms (while busy, with `adaptive`). Default 50. */
    private readonly resolutionMs: number = LOOP_DELAY_DEFAULTS.resolutionMs,
    /** How long samples are kept, ms. Default 60 000. */
    private readonly retainMs: number = LOOP_DELAY_DEFAULTS.retainMs,
    /**
     * Monotonic ms for measuring the gaps and stamping the samples, so that a step of the
     * wall clock is neither a stall nor a hole in the window. Default: clock.monotonic().
     */
    private readonly monotonic: () => number = () => clock.monotonic(),
    /** Tick at `resolutionMs` only while `activity` is busy, else every `idleMs`. Default: always fine. */
    private readonly adaptive?: AdaptiveOptions,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.last = this.monotonic();
    this.unwatch = this.adaptive?.activity.watch(this.onActivity) ?? null;
    this.arm();
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = null;
    if (this.timer === null) return;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** True when the timer should tick at `idleMs` now (adaptive, and no deadline runs). */
  private idleNow(): boolean {
    const a = this.adaptive;
    return a !== undefined && !a.activity.busy;
  }

  private arm(): void {
    this.armedIdle = this.idleNow();
    // Idle ticks aim at the boundaries of `idleMs` on the wall clock, where this node's other
    // timers of that period fire: one wakeup for all of them.
    this.armedMs =
      this.armedIdle && this.adaptive !== undefined
        ? untilBoundary(this.clock.now(), this.adaptive.idleMs)
        : this.resolutionMs;
    this.timer = this.clock.setTimeout(() => this.tick(), this.armedMs);
    // A monitoring timer must not keep a process alive on its own.
    (this.timer as { unref?: () => void } | null)?.unref?.();
  }

  /** Busy turned on or off: re-arm at the resolution now wanted, unless a tick is overdue. */
  private readonly onActivity = (): void => {
    if (this.timer === null || this.armedIdle === this.idleNow()) return;
    const mono = this.monotonic();
    // An overdue tick is a stall in progress: it fires soon and records it.
    if (mono - this.last > this.armedMs) return;
    // The loop runs now, so no stall of this span is still going on; a shorter one
    // inside it is not seen (less than the armed resolution, and before this change).
    this.clock.clearTimeout(this.timer);
    this.last = mono;
    this.arm();
  };

  private tick(): void {
    const mono = this.monotonic();
    const now = mono;
    const gap = mono - this.last;
    this.at.push(now);
    this.delay.push(Math.max(0, gap - this.armedMs));
    this.span.push(Math.max(gap, this.armedMs));
    this.last = mono;
    while (this.head < this.at.length && (this.at[this.head] as number) < now - this.retainMs) this.head++;
    if (this.head > 1024 && this.head * 2 > this.at.length) {
      this.at.splice(0, this.head);
      this.delay.splice(0, this.head);
      this.span.splice(0, this.head);
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
      const now = this.monotonic();
      total += overlap(now - overdue, now);
    }
    return total;
  }

  samplesSince(since: number): Array<{ delayMs: number; spanMs: number }> {
    const out: Array<{ delayMs: number; spanMs: number }> = [];
    for (let i = this.at.length - 1; i >= this.head && (this.at[i] as number) >= since; i--) {
      out.push({ delayMs: this.delay[i] as number, spanMs: this.span[i] as number });
    }
    const overdue = this.overdueMs();
    if (overdue > 0) out.push({ delayMs: overdue, spanMs: overdue + this.armedMs });
    return out;
  }

  /** How late the next tick is right now (a stall in progress), ms; 0 when on time or stopped. */
  private overdueMs(): number {
    if (this.timer === null) return 0;
    return Math.max(0, this.monotonic() - this.last - this.armedMs);
  }
}

/**
 * The Monitor's default detector: a timer-gap detector at the default resolution that
 * ticks finely while probes are in flight, on the clock's monotonic reading (a wall-clock
 * step is no stall).
 */
export function defaultLoopDelay(clock: Clock): TimerLoopDelay {
  return new TimerLoopDelay(
    clock,
    LOOP_DELAY_DEFAULTS.resolutionMs,
    LOOP_DELAY_DEFAULTS.retainMs,
    undefined,
    { activity: probesInFlight, idleMs: LOOP_DELAY_DEFAULTS.idleMs },
  );
}
