// Time as an interface, so tests can drive the scheduler with a fake clock.

export type TimerHandle = unknown;

export interface Clock {
  /** Epoch ms. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds (like setTimeout: an armed timer keeps the process alive). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
