// takeover_after: its default per peer, and the config field.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/load.js";
import { defaultTakeoverAfterMs, TakeoverWatch } from "../../src/mesh/takeover.js";
import type { ReceivedView } from "../../src/mesh/views.js";
import { Monitor } from "../../src/monitor.js";
import { FakeProber, MISS } from "../helpers/fake-prober.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";

describe("takeover_after", () => {
  test("default: the restart method's timeout (30 s unless set) plus one interval", () => {
    const ROWS: Array<[Parameters<typeof defaultTakeoverAfterMs>[0], number]> = [
      [{}, 30_000 + 1_000],
      [{ restart: "none" }, 30_000 + 1_000],
      [{ restart: { systemd: { unit: "a.service" } } }, 30_000 + 1_000],
      [{ restart: { systemd: { unit: "a.service", timeout: "5s" } } }, 5_000 + 1_000],
      [{ restart: { command: { argv: ["/bin/true"], timeout: 2_500 } } }, 2_500 + 1_000],
      [{ restart: { command: { argv: ["/bin/true"] } } }, 30_000 + 1_000],
    ];
    for (const [peer, want] of ROWS)
      assert.equal(defaultTakeoverAfterMs(peer, 1_000), want, JSON.stringify(peer));
  });

  test("mesh.takeover_after in the config file: a duration, resolved to ms; absent by default", () => {
    const withIt = parseConfig(`node: { name: n1 }\nmesh: { takeover_after: 45s }`, {});
    assert.equal(withIt.mesh?.takeoverAfter, 45_000);
    const without = parseConfig(`node: { name: n1 }\nmesh: { confirm: all }`, {});
    assert.equal(without.mesh?.takeoverAfter, undefined);
    assert.throws(
      () => parseConfig(`node: { name: n1 }\nmesh: { takeover_after: soon }`, {}),
      /takeover_after/,
    );
  });

  test("a step blocks from when it was first seen, and is forgotten once its node's view drops it", () => {
    const w = new TakeoverWatch(() => 1_000);
    const step = { peer: "t", incident: "i", step: "restart" as const, attempt: 1, started_at: "x" };
    const v = (at: number, inFlight = [step]): ReceivedView => ({
      node: "b",
      receivedAt: at,
      peers: new Map(),
      inFlight,
    });
    assert.equal(w.pending("t", [v(100)], 100)?.node, "b");
    assert.equal(w.pending("other", [v(100)], 100), undefined, "only steps on that peer");
    assert.equal(w.pending("t", [v(500)], 1_099)?.seenForMs, 999, "measured from the first sighting");
    assert.equal(w.pending("t", [v(500)], 1_100), undefined, "takeover_after passed");
    w.pending("t", [v(1_200, [])], 1_200);
    assert.equal(w.pending("t", [v(1_250)], 1_250)?.seenForMs, 0, "seen again: a new sighting");
  });

  test("a finished step keeps others off until takeover_after (plus slack) after it started", () => {
    const w = new TakeoverWatch(() => 1_000, 100);
    const done = (age: number) => ({
      peer: "t",
      incident: "i",
      step: "restart" as const,
      attempt: 1,
      started_at: "x",
      age_ms: age,
      finished: true,
    });
    const v = (at: number, age: number): ReceivedView => ({
      node: "b",
      receivedAt: at,
      peers: new Map(),
      inFlight: [done(age)],
    });
    // Served with age 400 ms, asked for at 5 000: blocks until 5 000 + 600 + 100.
    assert.equal(w.pending("t", [v(5_000, 400)], 5_699)?.node, "b");
    assert.equal(w.pending("t", [v(5_000, 400)], 5_700), undefined);
  });

  test("a member whose view went stale while this node backed it is silent for takeover_after plus slack", () => {
    const FRESH = 300;
    const w = new TakeoverWatch(() => 1_000, 100, FRESH);
    const v: ReceivedView = {
      node: "b",
      receivedAt: 10_000,
      // What its own view said does not matter (it may have acted between two polls).
      peers: new Map([["t", { status: "HEALTHY", missed_count: 0 }]]),
      inFlight: [],
    };
    const stale = 10_000 + FRESH;
    const backed = () => 10_000 - FRESH; // this node backed b up to the freshness window before
    assert.equal(w.silent("t", [v], stale, backed), undefined, "fresh until then");
    assert.deepEqual(w.silent("t", [v], stale + 1, backed), { node: "b", seenForMs: 1 });
    assert.deepEqual(w.pending("t", [v], stale + 1, backed), { node: "b", seenForMs: 1 }, "pending too");
    assert.equal(w.silent("t", [v], stale + 1_099, backed)?.node, "b");
    assert.equal(w.silent("t", [v], stale + 1_100, backed), undefined, "takeover_after + slack passed");
    assert.equal(
      w.silent("t", [v], stale + 1, () => 10_000 - FRESH - 1),
      undefined,
      "backed it too long before",
    );
    assert.equal(
      w.silent("t", [v], stale + 1, () => undefined),
      undefined,
      "never backed it",
    );
    assert.equal(w.silent("t", [v], stale + 1), undefined, "no backing history");
    assert.equal(new TakeoverWatch(() => 1_000, 100).silent("t", [v], stale + 1, backed), undefined, "off");
  });

  test("the Monitor lists a restart in flight while it runs, and as finished after", async () => {
    let finish!: () => void;
    const running = new Promise<void>((r) => (finish = r));
    const ex = new RecordingExecutor(() => running);
    const m = new Monitor({
      selfName: "a",
      executor: ex,
      prober: new FakeProber(() => MISS),
      missedBeforeRestart: 1,
    });
    m.registerPeer({
      name: "t",
      probe: { http: { url: "http://127.0.0.1:1/" } },
      restart: { command: { argv: ["/bin/true"] } },
    });
    const check = m.checkPeer("t");
    for (let i = 0; i < 100 && m.inFlightSteps().length === 0; i++) await new Promise((r) => setImmediate(r));
    const [s] = m.inFlightSteps();
    assert.deepEqual(
      { peer: s?.peer, step: s?.step, attempt: s?.attempt, finished: s?.finishedAt },
      { peer: "t", step: "restart", attempt: 1, finished: null },
    );
    assert.equal(typeof s?.incident, "string");
    finish();
    await check;
    assert.deepEqual(m.inFlightSteps(), []);
    const recent = m.recentSteps(0);
    assert.equal(recent.length, 1);
    assert.equal(typeof recent[0]?.finishedAt, "number");
    assert.deepEqual(m.recentSteps(Date.now() + 60_000), [], "only steps started since the given time");
    await m.stop();
  });
});
