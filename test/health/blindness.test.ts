// node_blind's rule: more than half of the last 30 s of checks inconclusive (at least 10
// checks) turns the node blind; 20 % or less and it sees again. Time is a number.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Blindness } from "../../src/health/blindness.js";

test("blind after more than half of at least 10 checks are inconclusive; once per episode; sees again at 20 %", () => {
  const b = new Blindness();
  let t = 1_000_000;
  const feed = (n: number, inconclusive: boolean) => {
    const changes: Array<string | null> = [];
    for (let i = 0; i < n; i++) {
      t += 100;
      b.record(inconclusive, t);
      changes.push(b.evaluate(t).changed);
    }
    return changes.filter((c) => c !== null);
  };
  assert.deepEqual(feed(5, false), []);
  assert.deepEqual(feed(4, true), [], "9 checks: fewer than 10");
  assert.deepEqual(feed(1, true), [], "5 of 10: not more than half");
  assert.deepEqual(feed(1, true), ["entered"], "6 of 11");
  assert.equal(b.blind, true);
  assert.deepEqual(feed(50, true), [], "said once per episode");
  // 30 s later the inconclusive checks have left the window; ok ones bring it to <= 20 %.
  const healed = feed(400, false);
  assert.deepEqual(healed, ["left"]);
  assert.equal(b.blind, false);
  const r = b.evaluate(t).report;
  assert.equal(r.window_ms, 30_000);
  assert.ok(r.checks <= 301, "the window holds 30 s of checks");
});

test("a few inconclusive checks among many are not blindness", () => {
  const b = new Blindness();
  let t = 0;
  for (let i = 0; i < 1_000; i++) {
    t += 10;
    b.record(i % 3 === 0, t);
    assert.equal(b.evaluate(t).changed, null);
  }
});
