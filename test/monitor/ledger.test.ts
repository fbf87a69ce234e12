// The Monitor with the host's step ledger (`ledger: { dir }`): two Monitors stand for two
// nodes of one host. While one's restart is in flight the other only observes, however
// many misses it counts; without the ledger it would restart as well. A node that comes
// back (a new Monitor on the same ledger) does not repeat the step in flight. A ledger
// the node cannot use holds its steps. Fake clock, scripted prober, recording executor,
// a real ledger file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Monitor, type EscalationAction } from "../../src/index.js";
import { FakeClock, turnsUntil } from "../helpers/fake-clock.js";
import { FakeProber, MISS } from "../helpers/fake-prober.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";
import { tempDir } from "../helpers/tmp-dir.js";

const spec = {
  name: "api",
  probe: { http: { url: "http://127.0.0.1:1/api" } },
  restart: { command: { argv: ["/bin/true"], timeout: "20s" } },
};

function node(
  name: string,
  clock: FakeClock,
  ledger: { dir: string } | false,
  executor = new RecordingExecutor(),
) {
  const m = new Monitor({
    selfName: name,
    clock,
    executor,
    prober: new FakeProber(() => MISS),
    missedBeforeRestart: 1,
    restartsBeforeIsolate: 5,
    selfHealth: false,
    ledger,
  });
  m.registerPeer(spec);
  return { m, executor };
}

for (const withLedger of [true, false]) {
  test(`${withLedger ? "with" : "without"} the ledger: a second node ${withLedger ? "keeps off" : "repeats"} a restart in flight`, async (t) => {
    const clock = new FakeClock();
    const dir = join(tempDir(t, "wdmesh-monitor-ledger-"), "ledger");
    let finish!: () => void;
    const running = new Promise<void>((r) => (finish = r));
    const a = node("wd1", clock, withLedger && { dir }, new RecordingExecutor(() => running));
    const b = node("wd2", clock, withLedger && { dir });
    const first = a.m.checkAllPeers();
    await turnsUntil("wd1's restart running", () => a.executor.calls.length === 1);
    for (let i = 0; i < 4; i++) await b.m.checkAllPeers();
    if (withLedger) {
      assert.deepEqual(b.executor.calls, [], "wd2 performed nothing while wd1's restart ran");
      assert.equal(b.m.getPeerStatus("api")?.restart_count, 0, "and spent no attempt on it");
    } else assert.ok(b.executor.calls.length > 0, "without the ledger wd2 restarts too");
    // wd1 "dies" and comes back on the same ledger while its restart still runs.
    const again = node("wd1", clock, withLedger && { dir });
    for (let i = 0; i < 3; i++) await again.m.checkAllPeers();
    if (withLedger) assert.deepEqual(again.executor.calls, [], "the node back from a crash repeats nothing");
    finish();
    await first;
    await Promise.all([a.m.stop(), b.m.stop(), again.m.stop()]);
  });
}

test("a ledger this node cannot use holds its steps (remediation_held naming the ledger) and spends no attempt", async (t) => {
  const clock = new FakeClock();
  const file = join(tempDir(t, "wdmesh-monitor-ledger-"), "not-a-dir");
  writeFileSync(file, "x");
  const a = node("wd1", clock, { dir: file });
  const seen: EscalationAction[] = [];
  a.m.onEscalation((e) => void seen.push(e));
  for (let i = 0; i < 4; i++) await a.m.checkAllPeers();
  assert.deepEqual(a.executor.calls, [], "nothing performed");
  assert.equal(a.m.getPeerStatus("api")?.restart_count, 0, "no restart attempt spent on its own trouble");
  const held = seen.filter((e) => e.action === "remediation_held");
  assert.equal(held.length, 1, JSON.stringify(seen.map((e) => e.action)));
  assert.equal(held[0]?.severity, "HIGH");
  assert.match(held[0]?.reason ?? "", /step ledger in .*not-a-dir cannot be used/);
  await a.m.stop();
});
