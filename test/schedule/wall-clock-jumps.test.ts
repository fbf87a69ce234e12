// The wall clock may jump (NTP, an operator, a VM resumed): delays never depend on it.
// Probing keeps its interval when the clock is set back an hour, and does not burst
// when it is set forward; no timer is left after stop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Monitor } from "../../src/monitor.js";
import { Scheduler } from "../../src/schedule/scheduler.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { FakeProber, OK } from "../helpers/fake-prober.js";

const HOUR = 3_600_000;

void test("scheduler: a clock set back an hour does not stall a peer, set forward it does not burst", async () => {
  const clock = new FakeClock();
  let runs = 0;
  const s = new Scheduler({
    clock,
    run: async () => {
      runs++;
      return clock.now() + 10_000;
    },
  });
  s.start();
  s.schedule("p", clock.now() + 10_000);
  await clock.advance(10_000);
  assert.equal(runs, 1);
  clock.setWallClockBy(-HOUR);
  await clock.advance(10_000);
  assert.equal(runs, 2, "set back an hour: the next probe still comes one interval later");
  clock.setWallClockBy(+HOUR);
  await clock.advance(9_999);
  assert.equal(runs, 2, "set forward an hour: no probe before its interval");
  await clock.advance(1);
  assert.equal(runs, 3);
  await s.stop();
  assert.equal(clock.pending, 0, "no timer left after stop");
});

void test("Monitor: probes keep their interval across a clock set back, then forward", async () => {
  const clock = new FakeClock();
  const prober = new FakeProber(() => OK);
  const m = new Monitor({ selfName: "n", clock, prober, interval: "10s", random: () => 0 });
  m.registerPeer("a", "http://127.0.0.1:1/health");
  m.start();
  await clock.advance(30_000);
  const before = prober.calls.length;
  assert.ok(before >= 3, `probed every 10 s (${before})`);
  clock.setWallClockBy(-HOUR);
  await clock.advance(30_000);
  assert.equal(prober.calls.length - before, 3, "three probes in 30 s after the clock went back");
  clock.setWallClockBy(+2 * HOUR);
  await clock.advance(30_000);
  assert.equal(prober.calls.length - before, 6, "three more, not a burst, after it went forward");
  assert.equal(m.getPeerStatus("a")?.status, "HEALTHY");
  await m.stop();
  assert.equal(clock.pending, 0, "no timer left after stop");
});
