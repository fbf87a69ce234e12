// Virtual time for worker tests: sleep(ms) advances the clock at once (unless aborted),
// so hours of retries run in milliseconds and every delay is observable.
import type { Sleep } from "../../src/alert/worker.js";

export class FakeTime {
  now: number;
  readonly sleeps: number[] = [];
  /** Called after each virtual sleep (tests finish effects "later" with it). */
  onAdvance: ((now: number) => void) | null = null;

  constructor(start = Date.parse("2025-01-02T03:04:05.000Z")) {
    this.now = start;
  }

  clock = (): number => this.now;

  sleep: Sleep = async (ms, signal) => {
    this.sleeps.push(ms);
    await new Promise<void>((r) => setImmediate(r));
    if (signal.aborted) return;
    this.now += ms;
    this.onAdvance?.(this.now);
  };
}

/** Polls `cond` on the event loop; fails after `maxTurns` turns (never a wall-clock wait). */
export async function until(cond: () => boolean, what: string, maxTurns = 200_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`condition not reached: ${what}`);
}
