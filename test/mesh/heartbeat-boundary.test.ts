// A member's heartbeat is due at the interval's boundaries on the wall clock (where the
// members write their view streams), so one wakeup serves the heartbeats, the views and
// the node's own streams; any other peer keeps its random phase.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Monitor } from "../../src/index.js";
import { FakeClock, settle } from "../helpers/fake-clock.js";
import { freePort } from "../helpers/ports.js";
import { until } from "../helpers/wait.js";
import { probesInFlight } from "../../src/health/loop-delay.js";

test("a member's heartbeat lands on the interval's boundaries; an HTTP peer keeps its random phase", async () => {
  const clock = new FakeClock();
  await clock.advance(1_000 - (clock.now() % 1_000) + 250); // 250 ms past a boundary
  // Nobody listens there: each probe is refused at once (a real connection, no deadline).
  const closed = `http://127.0.0.1:${await freePort()}`;
  const m = new Monitor({
    selfName: "wd-a",
    interval: 1_000,
    timeout: 800,
    clock,
    random: () => 0.37,
    mesh: { key: "heartbeat-boundary-key-0123456789", members: [{ name: "wd-b", url: closed }] },
  });
  m.registerPeer("web", `${closed}/health`);
  const firstAt = new Map<string, number>();
  m.onProbe((peer) => {
    if (!firstAt.has(peer)) firstAt.set(peer, clock.now());
  });
  const startedAt = clock.now();
  m.start();
  try {
    for (let i = 0; i < 30 && firstAt.size < 2; i++) {
      await clock.advance(50);
      await settle();
      // The refused connection is real: the clock moves on only once it has been answered.
      await until("no probe in flight", () => !probesInFlight.busy);
      await settle();
    }
    assert.equal(firstAt.get("wd-b"), startedAt + 750, "the member: at the next boundary");
    assert.equal(firstAt.get("web"), startedAt + 370, "the HTTP peer: at its random phase");
  } finally {
    await m.stop();
  }
});
