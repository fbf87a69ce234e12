// While a probe's deadline runs, the process counts as busy for the loop-delay detector
// (it then samples the event loop finely, so a short stall is seen and a timeout it
// caused is inconclusive). The Monitor counts every probe, including those of a prober
// the caller passed in, until the probe settles, whether it resolves or rejects.
import { test } from "node:test";
import assert from "node:assert/strict";
import { probesInFlight } from "../../src/health/loop-delay.js";
import { Monitor } from "../../src/monitor.js";
import type { ProbeResult } from "../../src/core/types.js";
import { FakeProber, OK } from "../helpers/fake-prober.js";

void test("a probe of a caller's prober counts as in flight until it resolves or rejects", async () => {
  let settle: { resolve(r: ProbeResult): void; reject(e: Error): void } | undefined;
  const prober = new FakeProber(
    () => new Promise<ProbeResult>((resolve, reject) => (settle = { resolve, reject })),
  );
  const m = new Monitor({ selfName: "wd", prober, selfHealth: false });
  m.registerPeer("agent", "http://127.0.0.1:1/health");
  assert.equal(probesInFlight.busy, false);

  const first = m.checkPeer("agent");
  await new Promise((r) => setImmediate(r));
  assert.equal(probesInFlight.busy, true, "busy while the probe runs");
  settle?.resolve(OK);
  assert.equal((await first).status, "HEALTHY");
  assert.equal(probesInFlight.busy, false, "not busy once it resolved");

  const second = m.checkPeer("agent");
  await new Promise((r) => setImmediate(r));
  assert.equal(probesInFlight.busy, true);
  settle?.reject(new Error("prober bug"));
  await assert.rejects(second, /prober bug/);
  assert.equal(probesInFlight.busy, false, "not busy once it rejected");
  await m.stop();
});
