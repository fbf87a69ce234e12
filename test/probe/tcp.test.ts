// TCP probe against real loopback listeners.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createProber } from "../../src/probe/index.js";
import type { Prober } from "../../src/probe/prober.js";
import { blackholeListener, closedPort, silentServer } from "../helpers/hostile-server.js";

let prober: Prober;
before(() => {
  prober = createProber();
});
after(async () => {
  await prober.close();
});

void test("tcp: a listener is alive, and the probe closes its connection", async () => {
  const s = await silentServer();
  try {
    const r = await prober.probe({ tcp: { host: "127.0.0.1", port: s.port } }, 2_000);
    assert.equal(r.ok, true, r.error);
    assert.equal(s.connections(), 1);
  } finally {
    await s.close();
  }
});

void test("tcp: nothing listening is connection refused", async () => {
  const port = await closedPort();
  const r = await prober.probe({ tcp: { host: "127.0.0.1", port } }, 2_000);
  assert.equal(r.ok, false);
  assert.equal(r.error, "connection refused");
});

void test("tcp: a connect that never completes times out at the deadline", async () => {
  const bh = await blackholeListener();
  try {
    const t0 = performance.now();
    const r = await prober.probe({ tcp: { host: bh.host, port: bh.port } }, 300);
    const took = performance.now() - t0;
    assert.equal(r.ok, false);
    assert.equal(r.error, "timeout after 300 ms (connect)");
    // Not before the deadline; and the deadline bounded the wait (a generous bound: a busy
    // machine fires timers late, and only a hang should fail this).
    assert.ok(took >= 295 && took < 30_000, `took ${took} ms`);
  } finally {
    await bh.close();
  }
});

void test("tcp: an invalid port is a miss, not a throw", async () => {
  const r = await prober.probe({ tcp: { host: "127.0.0.1", port: 70_000 } }, 1_000);
  assert.equal(r.ok, false);
  assert.match(r.error ?? "", /port 70000 is not 1\.\.65535/);
});
