// When each peer is probed next: one timer per peer (no global tick, so one slow or
// hung peer never delays another), re-armed with the due time its probe returns.
// Concurrency and "never two probes of one peer at once" live in the Monitor's
// probe path, shared with checkAllPeers().
import type { Clock, TimerHandle } from "./clock.js";

export interface SchedulerOptions {
  clock: Clock;
  /** Probes `peer`, due at `dueAt` (epoch ms); resolves to its next due time, or null to drop it. Must not reject. */
  run(peer: string, dueAt: number): Promise<number | null>;
}

export class Scheduler {
  private readonly timers = new Map<string, TimerHandle>();
  private readonly inflight = new Set<Promise<void>>();
  private active = false;

  constructor(private readonly opts: SchedulerOptions) {}

  get running(): boolean {
    return this.active;
  }

  start(): void {
    this.active = true;
  }

  /** Arms (or re-arms) the timer of `peer` for `dueAt` (epoch ms). */
  schedule(peer: string, dueAt: number): void {
    if (!this.active) return;
    this.cancel(peer);
    const { clock } = this.opts;
    const delay = Math.max(0, dueAt - clock.now());
    // Lateness is measured on the monotonic clock: when it fires, the due time is restated
    // in the wall clock of that moment (a wall-clock step meanwhile is not lateness).
    const dueMono = clock.monotonic() + delay;
    const handle = clock.setTimeout(
      () => this.fire(peer, clock.now() - Math.round(Math.max(0, clock.monotonic() - dueMono))),
      delay,
    );
    this.timers.set(peer, handle);
  }

  /** Stops scheduling `peer` (an in-flight probe finishes but is not re-armed). */
  cancel(peer: string): void {
    const h = this.timers.get(peer);
    if (h !== undefined) {
      this.opts.clock.clearTimeout(h);
      this.timers.delete(peer);
    }
  }

  has(peer: string): boolean {
    return this.timers.has(peer);
  }

  /** Clears every timer and waits for probes already running. Idempotent. */
  async stop(): Promise<void> {
    this.active = false;
    for (const h of this.timers.values()) this.opts.clock.clearTimeout(h);
    this.timers.clear();
    await Promise.allSettled([...this.inflight]);
  }

  private fire(peer: string, dueAt: number): void {
    this.timers.delete(peer);
    const p: Promise<void> = this.opts.run(peer, dueAt).then(
      (next) => {
        this.inflight.delete(p);
        if (next !== null && this.active && !this.timers.has(peer)) this.schedule(peer, next);
      },
      () => {
        this.inflight.delete(p);
      },
    );
    this.inflight.add(p);
  }
}
