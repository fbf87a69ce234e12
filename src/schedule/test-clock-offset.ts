// For tests only: WDMESH_TEST_CLOCK_OFFSET_MS (an integer, ms, may be negative) shifts the
// daemon's wall clock (Clock.now: what it signs, serves and schedules by) so that a test
// can run real daemons whose clocks disagree. The monotonic clock and timers are untouched.
// Never set it in production; the daemon logs a warning when it is set.
import { InvalidOptionError } from "../core/errors.js";
import { systemClock, type Clock } from "./clock.js";

export const TEST_CLOCK_OFFSET_ENV = "WDMESH_TEST_CLOCK_OFFSET_MS";

/** The shifted wall clock when the variable is set (non-empty), else undefined. Throws InvalidOptionError on a bad value. */
export function testClockOffset(env: NodeJS.ProcessEnv): { clock: Clock; offsetMs: number } | undefined {
  const raw = env[TEST_CLOCK_OFFSET_ENV];
  if (raw === undefined || raw === "") return undefined;
  const offsetMs = /^-?\d{1,12}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(offsetMs))
    throw new InvalidOptionError(
      TEST_CLOCK_OFFSET_ENV,
      "must be an integer number of ms (test only; unset it)",
    );
  return { clock: { ...systemClock, now: () => Date.now() + offsetMs }, offsetMs };
}
