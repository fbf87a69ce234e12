// The real Clock (core/clock.ts): Date.now and the process's timers.
import { setTimeout as sleepTimer } from "node:timers/promises";
import type { Clock } from "../core/clock.js";

export type { Clock, TimerHandle } from "../core/clock.js";

export const systemClock: Clock = {
  now: () => Date.now(),
  // CLOCK_MONOTONIC: one reading for every process of the host (the step ledger compares
  // deadlines across processes with it), never moved by the wall clock.
  monotonic: () => Number(process.hrtime.bigint()) / 1e6,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  sleep: (ms, signal) =>
    sleepTimer(ms, undefined, signal ? { signal } : {}).then(
      () => undefined,
      () => undefined,
    ),
};
