// Self health: the timer-gap loop-delay detector on a fake clock, the time-weighted p99,
// and when the node counts itself degraded.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DeadlineActivity, TimerLoopDelay } from "../../src/health/loop-delay.js";
import { SelfHealth, weightedP99 } from "../../src/health/self-health.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { FakeLoopDelay } from "../helpers/fake-loop-delay.js";

describe("loop delay detector (timer gaps)", () => {
  test("a quiet loop shows no stall; a frozen one shows the stall where it happened", async () => {
    const clock = new FakeClock();
    const d = new TimerLoopDelay(clock, 50);
    d.start();
    const t0 = clock.now();
    await clock.advance(1_000);
    assert.equal(d.stalledMs(t0, clock.now()), 0);
    const frozenAt = clock.now();
    clock.jump(2_000); // the process stood still: no timer fired for 2 s
    assert.ok(d.stalledMs(frozenAt, clock.now()) >= 1_900, "a stall in progress counts at once");
    await clock.advance(100);
    const stalled = d.stalledMs(frozenAt, clock.now());
    assert.ok(stalled >= 1_900 && stalled <= 2_000, `stalled ${stalled} ms`);
    assert.equal(d.stalledMs(t0, frozenAt), 0, "nothing before the freeze");
    const big = d.samplesSince(frozenAt).find((s) => s.delayMs >= 1_900);
    assert.ok(big, "the stall is one sample weighted by its length");
    d.stop();
    d.stop();
    assert.equal(clock.pending, 0, "stop leaves no timer");
  });
});

describe("loop delay detector, adaptive (fine only while probes are in flight)", () => {
  test("idle, it wakes once per idle period; with a probe in flight, every resolution", async () => {
    const clock = new FakeClock();
    const activity = new DeadlineActivity();
    const d = new TimerLoopDelay(clock, 50, 60_000, undefined, { activity, idleMs: 1_000 });
    d.start();
    const t0 = clock.now();
    await clock.advance(5_000);
    assert.equal(d.samplesSince(t0).length, 5, "idle: one tick a second");
    activity.begin();
    const t1 = clock.now();
    await clock.advance(1_000);
    assert.equal(d.samplesSince(t1 + 1).length, 20, "busy: one tick per 50 ms");
    activity.end();
    const t2 = clock.now();
    await clock.advance(3_000);
    assert.equal(d.samplesSince(t2 + 1).length, 3, "idle again");
    d.stop();
    assert.equal(clock.pending, 0, "stop leaves no timer");
    activity.begin();
    activity.end();
    assert.equal(clock.pending, 0, "a stopped detector does not re-arm on activity");
  });

  test("a stall during a probe is measured to within the fine resolution", async () => {
    const clock = new FakeClock();
    const activity = new DeadlineActivity();
    const d = new TimerLoopDelay(clock, 50, 60_000, undefined, { activity, idleMs: 1_000 });
    d.start();
    await clock.advance(330); // mid idle period
    activity.begin();
    const probeStart = clock.now();
    await clock.advance(120);
    const frozenAt = clock.now();
    clock.jump(400); // the process stood still for 400 ms during the probe
    assert.ok(d.stalledMs(probeStart, clock.now()) >= 350, "a stall in progress counts at once");
    await clock.advance(10);
    activity.end();
    const stalled = d.stalledMs(probeStart, clock.now());
    assert.ok(stalled >= 350 && stalled <= 400, `stalled ${stalled} ms`);
    assert.equal(d.stalledMs(probeStart, frozenAt), 0, "nothing before the freeze");
    d.stop();
  });

  test("a long stall while idle still shows, weighted by its length", async () => {
    const clock = new FakeClock();
    const activity = new DeadlineActivity();
    const d = new TimerLoopDelay(clock, 50, 60_000, undefined, { activity, idleMs: 1_000 });
    d.start();
    await clock.advance(2_000);
    const frozenAt = clock.now();
    clock.jump(5_000); // SIGSTOP for 5 s, no probe in flight
    await clock.advance(1);
    const big = d.samplesSince(frozenAt).find((s) => s.delayMs >= 4_000);
    assert.ok(big, "the stall is one sample");
    assert.ok(big.spanMs >= big.delayMs);
    d.stop();
  });
});

test("with a monotonic source, a step of the wall clock is not a stall", async () => {
  const clock = new FakeClock();
  let stepped = 0; // what the wall clock was stepped by; a monotonic clock does not see it
  const d = new TimerLoopDelay(clock, 50, 60_000, () => clock.now() - stepped);
  d.start();
  await clock.advance(500);
  const before = clock.now();
  clock.jump(3_600_000); // NTP steps the wall clock forward by an hour
  stepped += 3_600_000;
  assert.equal(d.stalledMs(before, clock.now()), 0);
  await clock.advance(500);
  assert.equal(d.stalledMs(before, clock.now()), 0);
  assert.ok(d.samplesSince(before).every((s) => s.delayMs === 0));
  d.stop();
});

describe("self health", () => {
  test("weighted p99: a long stall weighs by the time it took", () => {
    assert.equal(weightedP99([]), 0);
    const quiet = Array.from({ length: 199 }, () => ({ value: 0, weight: 50 }));
    assert.equal(weightedP99([...quiet, { value: 5_000, weight: 5_050 }]), 5_000);
    const longer = Array.from({ length: 400 }, () => ({ value: 0, weight: 50 }));
    assert.equal(weightedP99([...longer, { value: 60, weight: 110 }]), 0, "a hiccup under 1 % of the time");
  });

  test("degraded while loop delay or lateness p99 is above its threshold; ok once the window slid past", () => {
    const loop = new FakeLoopDelay();
    const sh = new SelfHealth(loop, { loopDelayP99Ms: 200, latenessP99Ms: 250, windowMs: 10_000 });
    let now = 1_000_000;
    assert.equal(sh.evaluate(now).report.status, "ok");
    loop.stall(now, 2_000);
    now += 1_000;
    const entered = sh.evaluate(now);
    assert.equal(entered.report.status, "degraded");
    assert.equal(entered.changed, "entered");
    assert.equal(entered.report.loop_delay_p99_ms, 2_000);
    assert.match(sh.holdReason(), /this node is overloaded: loop delay p99 2000 ms, lateness p99 \d+ ms/);
    now += 1_000;
    assert.equal(sh.evaluate(now).changed, null, "entering is reported once");
    now += 10_000;
    const left = sh.evaluate(now);
    assert.equal(left.report.status, "ok");
    assert.equal(left.changed, "left");

    for (let i = 0; i < 100; i++) sh.recordLateness(i < 5 ? 3_000 : 2, now);
    now += 300;
    const late = sh.evaluate(now);
    assert.equal(late.report.status, "degraded", "5 % of probes 3 s late");
    assert.equal(late.report.lateness_p99_ms, 3_000);
  });

  test("thresholds are validated with the field named", () => {
    assert.throws(
      () => new SelfHealth(new FakeLoopDelay(), { deadlineFactor: 0.5 }),
      /selfHealth\.deadlineFactor/,
    );
    assert.throws(() => new SelfHealth(new FakeLoopDelay(), { windowMs: 10 }), /selfHealth\.windowMs/);
  });
});
