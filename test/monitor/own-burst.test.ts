// A node's own work must not make it think it is starved: probes waiting for a
// concurrency slot behind its own probes are not "late" for self-health, and a round of
// many peers starts its probes over several event-loop turns instead of one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Monitor } from "../../src/index.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { FakeLoopDelay } from "../helpers/fake-loop-delay.js";
import { FakeProber, OK } from "../helpers/fake-prober.js";

test("a round queued behind this node's own probes (concurrency 2, 20 peers of 1 s) leaves self-health ok", async () => {
  const clock = new FakeClock();
  const prober = new FakeProber(async () => {
    await clock.sleep(1_000);
    return OK;
  });
  const m = new Monitor({
    selfName: "n",
    clock,
    prober,
    concurrency: 2,
    interval: "30s",
    timeout: "5s",
    loopDelay: new FakeLoopDelay(),
  });
  for (let i = 0; i < 20; i++) m.registerPeer(`p${i}`, `http://127.0.0.1:1/${i}`);
  const round = m.checkAllPeers();
  for (let i = 0; i < 12; i++) await clock.advance(1_000);
  await round;
  assert.equal(m.stats().total_checks, 20);
  assert.ok(
    m.schedulerStats().lateness.max_ms >= 9_000,
    "the wait for a slot is still shown as scheduler lateness",
  );
  const sh = m.selfHealthReport();
  assert.equal(sh.status, "ok", JSON.stringify(sh));
  assert.equal(sh.lateness_p99_ms, 0);
  assert.deepEqual([...new Set(prober.timeouts)], [5_000], "no deadline was stretched");
});

test("a round of many peers starts its probes over several event-loop turns", async () => {
  let started = 0;
  const m = new Monitor({ selfName: "n", prober: new FakeProber(() => (started++, OK)), selfHealth: false });
  const n = 256; // four batches of PROBE_DEFAULTS.roundBatch
  for (let i = 0; i < n; i++) m.registerPeer(`p${i}`, `http://127.0.0.1:1/${i}`);
  let immediates = 0;
  const counting = setImmediate(function again() {
    immediates++;
    if (started < n) setImmediate(again);
  });
  await m.checkAllPeers();
  clearImmediate(counting);
  assert.equal(started, n);
  assert.ok(immediates >= 3, `the round yielded to the event loop between batches (${immediates} turns)`);
});
