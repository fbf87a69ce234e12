// Whether a failed probe is this node's own trouble is a typed cause set where the failure
// happened, never words: a real check printing ENOMEM and exiting 1 is a miss and gets
// restarted; a real EMFILE from this node's own spawn or socket stays inconclusive.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { Monitor, type EscalationAction } from "../../src/index.js";
import type { ProbeResult } from "../../src/core/types.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";
import { runUnderFdLimit } from "../helpers/fd-limit.js";

void test("a real check printing `worker: ENOMEM allocating queue` and exiting 1 is a miss, and is restarted", async () => {
  const ex = new RecordingExecutor();
  const m = new Monitor({ selfName: "n", executor: ex, missedBeforeRestart: 2, selfHealth: false });
  const seen: EscalationAction[] = [];
  m.onEscalation((a) => void seen.push(a));
  m.registerPeer({
    name: "worker",
    probe: { exec: { argv: ["/bin/sh", "-c", "echo 'worker: ENOMEM allocating queue' >&2; exit 1"] } },
    restart: { command: { argv: ["/bin/true"] } },
  });
  try {
    await m.checkAllPeers();
    await m.checkAllPeers();
    const h = m.getPeerStatus("worker");
    assert.equal(h?.last_error, "exit code 1: worker: ENOMEM allocating queue");
    assert.equal(m.stats().inconclusive_checks, 0);
    assert.equal(m.stats().total_misses, 2);
    assert.deepEqual(ex.calls, ["restart:worker:1"]);
    assert.ok(seen.some((a) => a.action === "restart"));
  } finally {
    await m.stop();
  }
});

void test("a real EMFILE from this node's own spawn and socket is typed `local` (inconclusive)", async (t) => {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  try {
    const got = await runUnderFdLimit<{ held: number; exec: ProbeResult; tcp: ProbeResult }>(
      t,
      "test/fixtures/emfile-probes.ts",
      [String(port)],
    );
    if (got === undefined) return;
    assert.ok(got.held > 100, `the fixture exhausted its descriptors (${got.held} held)`);
    assert.equal(got.exec.ok, false);
    assert.deepEqual(got.exec.cause, { kind: "local", errno: "EMFILE" }, got.exec.error);
    assert.equal(got.tcp.ok, false);
    assert.deepEqual(got.tcp.cause, { kind: "local", errno: "EMFILE" }, got.tcp.error);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
