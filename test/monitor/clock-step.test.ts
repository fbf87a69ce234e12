// Time measured on the monotonic clock: a wall clock set an hour forward and back (an
// operator, a bad NTP source) is neither probe lateness nor a loop stall nor a pause in
// progress, so the node never turns degraded, never holds, and keeps telling systemd it
// makes progress. Fake clock: setWallClockBy() moves the wall clock only; jump() is a real
// stall (both clocks move), which must still be seen.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Monitor } from "../../src/monitor.js";
import type { EscalationAction } from "../../src/core/types.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { FakeProber, OK } from "../helpers/fake-prober.js";

const HOUR = 3_600_000;

void test("a +1 h wall-clock step and back leaves the node ok, holding nothing, progressing", async () => {
  const clock = new FakeClock();
  const m = new Monitor({
    selfName: "n",
    clock,
    prober: new FakeProber(() => OK),
    interval: "1s",
    random: () => 0,
  });
  const seen: EscalationAction[] = [];
  m.onEscalation((a) => void seen.push(a));
  for (const p of ["a", "b", "c"])
    m.registerPeer({ name: p, probe: { http: { url: `http://127.0.0.1:1/${p}` } } });
  m.start();
  try {
    await clock.advance(12_000);
    assert.equal(m.selfHealthReport().status, "ok", "before the step");
    const checks = m.stats().total_checks;

    clock.setWallClockBy(HOUR);
    for (let i = 0; i < 12; i++) {
      await clock.advance(1_000);
      assert.equal(m.selfHealthReport().status, "ok", `+1 h, ${i + 1} s later`);
      assert.equal(m.isProgressing(), true, `+1 h, ${i + 1} s later: progressing`);
    }
    clock.setWallClockBy(-HOUR);
    for (let i = 0; i < 12; i++) {
      await clock.advance(1_000);
      assert.equal(m.selfHealthReport().status, "ok", `back, ${i + 1} s later`);
      assert.equal(m.isProgressing(), true, `back, ${i + 1} s later: progressing`);
    }
    assert.ok(m.stats().total_checks >= checks + 3 * 20, "probing went on at its interval");
    assert.deepEqual(
      seen.map((a) => a.action),
      [],
      "no self_degraded, no hold",
    );
    assert.ok(
      m.schedulerStats().lateness.max_ms < 1_000,
      `lateness ${m.schedulerStats().lateness.max_ms} ms`,
    );

    // A real stall (both clocks move) is still lateness.
    clock.jump(30_000);
    await clock.advance(1_000);
    assert.equal(m.selfHealthReport().status, "degraded", "a 30 s stall is seen");
  } finally {
    await m.stop();
  }
});
