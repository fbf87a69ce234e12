// The node never blames a peer for its own trouble: probes that fail for a local reason
// (fd exhaustion, a failed spawn) or run out while this node was stalled are
// inconclusive, not misses; while the node itself is overloaded it stretches its probe
// deadlines, holds remediation (remediation_held) and journals self_degraded /
// self_recovered once each. Fake clock, scripted prober, fake loop-delay source.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { Monitor, type EscalationAction, type GateVerdict } from "../../src/index.js";
import type { ProbeResult } from "../../src/core/types.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { FakeLoopDelay } from "../helpers/fake-loop-delay.js";
import { FakeProber, MISS, OK } from "../helpers/fake-prober.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";

const spec = (name: string) => ({
  name,
  probe: { http: { url: `http://127.0.0.1:1/${name}` } },
  restart: { command: { argv: ["/bin/true"] } },
});

const EMFILE: ProbeResult = {
  ok: false,
  duration_ms: 0,
  error: "connect EMFILE 127.0.0.1:8080 - Local (undefined:undefined) (EMFILE)",
  cause: { kind: "local", errno: "EMFILE" },
};
const local = (errno: string, error: string): ProbeResult => ({
  ok: false,
  duration_ms: 0,
  error,
  cause: { kind: "local", errno },
});
const TIMEOUT: ProbeResult = { ok: false, duration_ms: 500, error: "timeout after 500 ms (headers)" };

describe("inconclusive probes", () => {
  for (const [what, result] of [
    ["EMFILE", EMFILE],
    ["ENFILE", local("ENFILE", "connect ENFILE (ENFILE)")],
    ["ENOBUFS", local("ENOBUFS", "write ENOBUFS (ENOBUFS)")],
    ["ENOMEM", local("ENOMEM", "cannot run /usr/bin/check: spawn ENOMEM")],
    ["EADDRNOTAVAIL", local("EADDRNOTAVAIL", "address not available (EADDRNOTAVAIL)")],
    ["a failed spawn (EAGAIN)", local("EAGAIN", "cannot run /usr/bin/check: spawn EAGAIN")],
    [
      "a GET that never left the queue",
      { ...MISS, error: "timeout after 500 ms (queued)", cause: { kind: "queued" } },
    ],
    ["the prober's own flag", { ...MISS, inconclusive: true }],
  ] as const) {
    test(`${what}: not a miss, nothing escalates, shown as inconclusive, counted`, async () => {
      const ex = new RecordingExecutor();
      const prober = new FakeProber(() => OK);
      const m = new Monitor({ selfName: "n", executor: ex, prober, missedBeforeRestart: 1 });
      const seen: string[] = [];
      m.onEscalation((a) => void seen.push(a.action));
      m.registerPeer(spec("p"));
      await m.checkAllPeers();
      prober.setScript(() => result);
      for (let i = 0; i < 5; i++) await m.checkAllPeers();
      const h = m.getPeerStatus("p");
      assert.equal(h?.status, "HEALTHY");
      assert.equal(h?.missed_count, 0);
      assert.match(h?.last_error ?? "", /^inconclusive: /);
      assert.deepEqual(seen, []);
      assert.deepEqual(ex.calls, []);
      const st = m.stats();
      assert.equal(st.inconclusive_checks, 5);
      assert.equal(st.total_misses, 0);
      assert.equal(st.total_checks, 6);
    });
  }

  test("a refused connection or a missing check program stays a miss", async () => {
    for (const error of ["connection refused", "cannot run /nonexistent/check: not found"]) {
      const m = new Monitor({ selfName: "n", prober: new FakeProber(() => ({ ...MISS, error })) });
      m.registerPeer(spec("p"));
      await m.checkAllPeers();
      assert.equal(m.getPeerStatus("p")?.status, "DEGRADED", error);
      assert.equal(m.stats().inconclusive_checks, 0);
    }
  });

  test("errno words in a failure's text (a check's output, a peer's answer) never make it inconclusive", async () => {
    for (const error of [
      "exit code 1: worker: ENOMEM allocating queue",
      "connect EMFILE 127.0.0.1:8080 (EMFILE)",
      "status 503 (expected 200): EAGAIN",
    ]) {
      const m = new Monitor({ selfName: "n", prober: new FakeProber(() => ({ ...MISS, error })) });
      m.registerPeer(spec("p"));
      await m.checkAllPeers();
      assert.equal(m.getPeerStatus("p")?.status, "DEGRADED", error);
      assert.equal(m.stats().inconclusive_checks, 0, error);
      assert.equal(m.stats().total_misses, 1, error);
    }
  });

  test("a timeout while this node was stalled is inconclusive; the same timeout without a stall is a miss", async () => {
    const clock = new FakeClock();
    const loop = new FakeLoopDelay();
    const prober = new FakeProber(async () => {
      await clock.advance(500);
      return TIMEOUT;
    });
    const m = new Monitor({
      selfName: "n",
      clock,
      loopDelay: loop,
      prober,
      timeout: "500ms",
      missedBeforeRestart: 1,
      selfHealth: { loopDelayP99Ms: 5_000 }, // this test is about the stall, not self health
    });
    m.registerPeer(spec("p"));
    loop.stall(clock.now() + 400, 300); // the node stood still for 300 ms of the 500 ms deadline
    await m.checkAllPeers();
    assert.equal(m.stats().inconclusive_checks, 1);
    assert.match(m.getPeerStatus("p")?.last_error ?? "", /stalled for 300 ms/);
    assert.notEqual(m.getPeerStatus("p")?.status, "DEGRADED");
    loop.clear();
    await m.checkAllPeers();
    assert.equal(m.stats().total_misses, 1);
    assert.equal(m.getPeerStatus("p")?.status, "OFFLINE", "a real timeout escalates (K=1)");
  });

  test("an inconclusive probe is retried after retry_interval", async () => {
    const clock = new FakeClock();
    const prober = new FakeProber(() => EMFILE);
    const m = new Monitor({
      selfName: "n",
      clock,
      prober,
      interval: "10s",
      retryInterval: "2s",
      random: () => 0,
      selfHealth: false,
    });
    m.registerPeer(spec("p"));
    m.start();
    await clock.advance(1);
    assert.equal(prober.calls.length, 1);
    await clock.advance(1_999);
    assert.equal(prober.calls.length, 2, "retried after 2 s, not 10 s");
    await m.stop();
    assert.equal(clock.pending, 0);
  });
});

describe("self health: an overloaded node holds", () => {
  test("an overloaded node that is not the owner only observes; a mesh hold names both reasons", async () => {
    const clock = new FakeClock();
    const loop = new FakeLoopDelay();
    let verdict: GateVerdict = { act: false };
    const ex = new RecordingExecutor();
    const m = new Monitor({
      selfName: "n",
      clock,
      loopDelay: loop,
      executor: ex,
      prober: new FakeProber(() => MISS),
      missedBeforeRestart: 1,
      gate: { mayAct: () => verdict, owner: () => "n" },
    });
    const seen: EscalationAction[] = [];
    m.onEscalation((a) => void seen.push(a));
    m.registerPeer(spec("p"));
    loop.stall(clock.now(), 2_000);
    await clock.advance(500);
    await m.checkAllPeers();
    assert.deepEqual(
      seen.map((a) => a.action),
      ["self_degraded", "remediation_observed"],
      "observe only: no held alert for a peer another node owns, the observation journaled once",
    );
    verdict = { act: false, hold: "1 of 3 nodes confirm, 2 needed" };
    await m.checkAllPeers();
    const held = seen.find((a) => a.action === "remediation_held");
    assert.match(held?.reason ?? "", /1 of 3 nodes confirm, 2 needed; this node is overloaded/);
    assert.deepEqual(ex.calls, []);
  });

  test("degraded: deadlines stretched, remediation held with the reason, self_degraded/self_recovered journalled once", async () => {
    const clock = new FakeClock();
    const loop = new FakeLoopDelay();
    let answer: ProbeResult = OK;
    const prober = new FakeProber(() => answer);
    const ex = new RecordingExecutor();
    const store = SqliteStore.open({ dataDir: ":memory:", sinks: [], node: "n" });
    const m = new Monitor({
      selfName: "n",
      clock,
      loopDelay: loop,
      prober,
      executor: ex,
      store,
      timeout: "500ms",
      missedBeforeRestart: 2,
      selfHealth: { loopDelayP99Ms: 200, latenessP99Ms: 250, windowMs: 10_000, deadlineFactor: 3 },
    });
    const seen: EscalationAction[] = [];
    m.onEscalation((a) => void seen.push(a));
    m.registerPeer(spec("p"));
    await m.checkAllPeers();
    assert.equal(m.selfHealthReport().status, "ok");
    assert.deepEqual(prober.timeouts, [500]);

    loop.stall(clock.now(), 3_000); // this node was frozen for 3 s
    await clock.advance(1_000);
    answer = { ok: false, duration_ms: 1, error: "status 503 (expected 200)" };
    for (let i = 0; i < 4; i++) {
      await m.checkAllPeers();
      await clock.advance(300);
    }
    const report = m.selfHealthReport();
    assert.equal(report.status, "degraded");
    assert.equal(report.loop_delay_p99_ms, 3_000);
    assert.equal(prober.timeouts.at(-1), 1_500, "deadline × 3 while degraded");
    assert.deepEqual(ex.calls, [], "nothing is restarted while this node is overloaded");
    assert.equal(m.getPeerStatus("p")?.status, "DEGRADED");
    const held = seen.filter((a) => a.action === "remediation_held");
    assert.equal(held.length, 1);
    assert.match(held[0]?.reason ?? "", /this node is overloaded: loop delay p99 3000 ms/);
    assert.deepEqual(
      seen.filter((a) => a.action.startsWith("self_")).map((a) => `${a.action}:${a.severity}:${a.peer_name}`),
      ["self_degraded:HIGH:n"],
    );
    assert.equal(m.mesh.meshDocument().self_health?.status, "degraded");

    loop.clear();
    await clock.advance(11_000);
    await m.checkAllPeers();
    assert.equal(m.selfHealthReport().status, "ok");
    assert.deepEqual(ex.calls, ["restart:p:1"], "well again: the held restart goes ahead");
    const self = seen.filter((a) => a.action.startsWith("self_"));
    assert.deepEqual(
      self.map((a) => `${a.action}:${a.severity}`),
      ["self_degraded:HIGH", "self_recovered:INFO"],
    );
    assert.equal(self[0]?.incident_id, self[1]?.incident_id, "one episode");
    const journal = store.journal().map((e) => `${e.peer_name}:${e.action}`);
    assert.ok(journal.includes("n:self_degraded") && journal.includes("n:self_recovered"), journal.join());
    assert.equal(
      store.loadPeers().some((p) => p.name === "n"),
      false,
      "the node is not stored as a peer",
    );
    await m.stop();
    store.close();
  });
});

test("a probe cut short by stop() says nothing about the peer: no miss, no alert", async () => {
  // A peer that accepts and never answers: its probe is in flight when the node stops.
  let connected!: () => void;
  const reached = new Promise<void>((r) => (connected = r));
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    connected();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const m = new Monitor({ selfName: "n", executor: new RecordingExecutor(), selfHealth: false });
  const seen: EscalationAction[] = [];
  m.onEscalation((a) => void seen.push(a));
  try {
    m.registerPeer({
      name: "api",
      probe: { http: { url: `http://127.0.0.1:${port}/health` } },
      timeout: 20_000,
      restart: { command: { argv: ["/bin/true"] } },
    });
    const round = m.checkAllPeers();
    await reached;
    await m.stop();
    await round;
    assert.deepEqual(
      seen.map((a) => a.action),
      [],
    );
    assert.equal(m.stats().total_misses, 0);
    assert.equal(m.getPeerStatus("api")?.missed_count, 0);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});
