import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffCeiling, backoffDelay, resolveBackoff, DEFAULT_BACKOFF } from "../../src/alert/backoff.js";

const p = resolveBackoff();

test("defaults: 1 s initial, 5 min cap, full jitter", () => {
  assert.deepEqual({ ...DEFAULT_BACKOFF }, { initialMs: 1000, maxMs: 300_000, minMs: 100, jitter: "full" });
});

test("ceiling doubles from 1 s and is capped at 5 min", () => {
  const table: Array<[number, number]> = [
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [5, 16_000],
    [6, 32_000],
    [7, 64_000],
    [8, 128_000],
    [9, 256_000],
    [10, 300_000],
    [50, 300_000],
    [100_000, 300_000],
  ];
  for (const [attempt, ms] of table) assert.equal(backoffCeiling(attempt, p), ms, `attempt ${attempt}`);
});

/** [attempt, the random draw, the previous delay or undefined, the delay expected]. */
type DelayRow = [number, number, number | undefined, number];

function assertDelays(policy: ReturnType<typeof resolveBackoff>, rows: DelayRow[]): void {
  for (const [attempt, draw, prev, ms] of rows)
    assert.equal(
      backoffDelay(attempt, policy, () => draw, prev),
      ms,
      `attempt ${attempt}, draw ${draw}`,
    );
}

test("full jitter spans [minMs, ceiling]", () => {
  assertDelays(p, [
    [3, 0.999999, undefined, 4000],
    [3, 0.5, undefined, 2000],
    [3, 0, undefined, 100],
    [30, 0.5, undefined, 150_000],
  ]);
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(1 + (i % 20), p);
    assert.ok(d >= 100 && d <= 300_000, `delay ${d} out of range`);
  }
});

test("no jitter is the plain exponential", () => {
  const q = resolveBackoff({ jitter: "none", initialMs: 50, maxMs: 400 });
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, q)),
    [50, 100, 200, 400, 400, 400],
  );
});

test("decorrelated jitter: between initial and 3× previous, capped", () => {
  const q = resolveBackoff({ jitter: "decorrelated" });
  assertDelays(q, [
    [1, 0, undefined, 1000],
    [1, 0.5, undefined, 2000], // 1000 + 0.5 × (3000 − 1000)
    [2, 0.5, 10_000, 15_500], // 1000 + 0.5 × 29 000
    [9, 0.99, 290_000, 300_000],
  ]);
});

test("invalid policies are refused with the field named", () => {
  assert.throws(() => resolveBackoff({ initialMs: -1 }), /backoff\.initialMs/);
  assert.throws(() => resolveBackoff({ initialMs: 10_000, maxMs: 5_000 }), /backoff\.maxMs/);
  assert.throws(() => resolveBackoff({ jitter: "wild" as never }), /backoff\.jitter/);
});
