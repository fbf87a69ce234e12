// Time as an interface: the one Clock of the library (the scheduler, the Monitor, the mesh,
// the alert workers and the store all take it), so tests drive all of them with one fake
// clock (test/helpers/fake-clock.ts). The real one is schedule/clock.ts's systemClock.

export type TimerHandle = unknown;

export interface Clock {
  /** Epoch ms (wall clock: may jump, even backwards; delays never depend on it). */
  now(): number;
  /**
   * Monotonic ms (the host's CLOCK_MONOTONIC: the same reading in every process of the
   * host until it restarts): never jumps with the wall clock. Durations, windows,
   * lateness and the step ledger's deadlines are measured on it.
   */
  monotonic(): number;
  /** Calls `fn` once after `ms` milliseconds (like setTimeout: an armed timer keeps the process alive). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Resolves after `ms` milliseconds, or at once (never rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
