// Shared tick boundaries: the helpers, and the idle loop-delay tick that aims at them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nearestBoundary, nextBoundary, untilBoundary } from "../../src/schedule/boundary.js";
import { DeadlineActivity, TimerLoopDelay } from "../../src/health/loop-delay.js";
import { FakeClock } from "../helpers/fake-clock.js";
import type { Clock } from "../../src/schedule/clock.js";

test("boundaries: the next one is strictly later, the nearest rounds half up, the wait is in (0, every]", () => {
  const rows: Array<[now: number, every: number, next: number, nearest: number, until: number]> = [
    [10_000, 1_000, 11_000, 10_000, 1_000],
    [10_001, 1_000, 11_000, 10_000, 999],
    [10_499, 1_000, 11_000, 10_000, 501],
    [10_500, 1_000, 11_000, 11_000, 500],
    [10_999, 1_000, 11_000, 11_000, 1],
    [10_250, 500, 10_500, 10_500, 250],
    [10_240, 500, 10_500, 10_000, 260],
  ];
  for (const [now, every, next, nearest, until] of rows) {
    assert.equal(nextBoundary(now, every), next, `next(${now}, ${every})`);
    assert.equal(nearestBoundary(now, every), nearest, `nearest(${now}, ${every})`);
    assert.equal(untilBoundary(now, every), until, `until(${now}, ${every})`);
  }
});

test("loop delay: idle ticks land on the idle period's boundaries, busy ones keep the fine resolution", async () => {
  const clock = new FakeClock();
  await clock.advance(1_000 - (clock.now() % 1_000) + 330); // mid period
  const activity = new DeadlineActivity();
  const fired: number[] = [];
  const tracking: Clock = {
    now: () => clock.now(),
    monotonic: () => clock.monotonic(),
    sleep: (ms, signal) => clock.sleep(ms, signal),
    clearTimeout: (h) => clock.clearTimeout(h),
    setTimeout: (fn, ms) =>
      clock.setTimeout(() => {
        fired.push(clock.now());
        fn();
      }, ms),
  };
  const d = new TimerLoopDelay(tracking, 50, 60_000, undefined, { activity, idleMs: 1_000 });
  d.start();
  const t0 = clock.now();
  await clock.advance(3_000);
  assert.deepEqual(
    fired.map((t) => t % 1_000),
    [0, 0, 0],
    "the first idle tick comes at the next boundary (670 ms), then one per boundary",
  );
  // An aimed tick is on time: the shorter first gap is no stall.
  assert.equal(d.stalledMs(t0, clock.now()), 0);
  assert.ok(d.samplesSince(t0).every((s) => s.delayMs === 0));
  activity.begin();
  fired.length = 0;
  await clock.advance(200);
  assert.ok(fired.length >= 3, `busy: ticks every 50 ms (${fired.length} in 200 ms)`);
  activity.end();
  fired.length = 0;
  await clock.advance(2_000);
  assert.ok(fired.length >= 2 && fired.every((t) => t % 1_000 === 0), `idle again on boundaries: ${fired}`);
  d.stop();
  assert.equal(clock.pending, 0);
});
