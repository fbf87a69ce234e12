// Shared tick boundaries: the multiples of an interval on the wall clock (epoch ms). Timers
// of this node that aim at the same boundary fire in one wakeup of its event loop, and the
// nodes of a host that aim at it too send their views at the moment the others wake for
// their heartbeats. An idle process's cost is mostly its wakeups, so a mesh at rest wakes
// about once per interval instead of once per timer.

/** The first multiple of `everyMs` strictly after `now` (epoch ms). */
export function nextBoundary(now: number, everyMs: number): number {
  return (Math.floor(now / everyMs) + 1) * everyMs;
}

/** The multiple of `everyMs` nearest `at` (epoch ms). */
export function nearestBoundary(at: number, everyMs: number): number {
  return Math.round(at / everyMs) * everyMs;
}

/** How long from `now` until the next boundary of `everyMs`, ms (in (0, everyMs]). */
export function untilBoundary(now: number, everyMs: number): number {
  return nextBoundary(now, everyMs) - now;
}
