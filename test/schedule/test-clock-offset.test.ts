// WDMESH_TEST_CLOCK_OFFSET_MS (test only): unset leaves the real clock, an integer shifts
// the wall clock only, anything else is refused with the variable's name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { systemClock } from "../../src/schedule/clock.js";
import { testClockOffset } from "../../src/schedule/test-clock-offset.js";

void test("unset or empty: no shifted clock", () => {
  assert.equal(testClockOffset({}), undefined);
  assert.equal(testClockOffset({ WDMESH_TEST_CLOCK_OFFSET_MS: "" }), undefined);
});

void test("an integer shifts the wall clock, not the monotonic one", () => {
  const t = testClockOffset({ WDMESH_TEST_CLOCK_OFFSET_MS: "-600000" });
  assert.ok(t);
  assert.equal(t.offsetMs, -600_000);
  const before = Date.now();
  const now = t.clock.now();
  assert.ok(now >= before - 600_000 && now <= Date.now() - 600_000, `${now} is 10 min behind`);
  const mono = systemClock.monotonic();
  assert.ok(Math.abs(t.clock.monotonic() - mono) < 1_000, "monotonic untouched");
});

void test("a bad value is refused, naming the variable", () => {
  for (const bad of ["10m", "1.5", "1e9", " 5"]) {
    assert.throws(
      () => testClockOffset({ WDMESH_TEST_CLOCK_OFFSET_MS: bad }),
      (e: Error & { code?: string }) =>
        e.code === "WDM_INVALID_OPTION" && /^WDMESH_TEST_CLOCK_OFFSET_MS: must be an integer/.test(e.message),
    );
  }
});
