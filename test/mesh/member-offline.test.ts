// Mesh members (the other watchdogs) are watched alert-only: after K misses they become
// OFFLINE with one HIGH alert and are never restarted or isolated; an OFFLINE member is
// not counted as reachable by the gate (gate.test.ts).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { initialState, step, type LadderEvent, type LadderState } from "../../src/core/ladder.js";
import { compilePolicy } from "../../src/core/options.js";
import { Monitor } from "../../src/monitor.js";
import { FakeProber, MISS, OK } from "../helpers/fake-prober.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";

const K = 3;
const policy = compilePolicy({ missedBeforeRestart: K, restartsBeforeIsolate: 1, alertOnly: true });
const miss: LadderEvent = { type: "probe-miss", durationMs: 1, error: "connection refused" };
const ok: LadderEvent = { type: "probe-ok", durationMs: 1 };

function run(events: LadderEvent[]): { state: LadderState; emits: string[][]; effects: string[][] } {
  let s = initialState();
  let n = 0;
  const emits: string[][] = [];
  const effects: string[][] = [];
  for (const e of events) {
    const out = step(s, e, policy, { now: 1_000, node: "wd-a", peer: "wd-b", newId: () => `id${++n}` });
    s = out.state;
    emits.push(
      out.effects.flatMap((x) => (x.kind === "emit" ? [`${x.action.action}:${x.action.severity}`] : [])),
    );
    effects.push(out.effects.filter((x) => x.kind !== "emit").map((x) => x.kind));
  }
  return { state: s, emits, effects };
}

describe("alert-only ladder (mesh members)", () => {
  // [misses then maybe ok, status after, emits of the last event]
  const TABLE: Array<[string, LadderEvent[], LadderState["status"], string[]]> = [
    ["miss 1", [miss], "DEGRADED", ["alert:MEDIUM"]],
    ["miss 2", [miss, miss], "DEGRADED", []],
    ["miss K → OFFLINE, HIGH alert", [miss, miss, miss], "OFFLINE", ["alert:HIGH"]],
    ["miss K+1 → OFFLINE, nothing", [miss, miss, miss, miss], "OFFLINE", []],
    [
      "miss 3K → still OFFLINE, nothing (never isolated)",
      Array<LadderEvent>(3 * K).fill(miss),
      "OFFLINE",
      [],
    ],
    ["OFFLINE + ok → HEALTHY, recovered", [miss, miss, miss, ok], "HEALTHY", ["recovered:INFO"]],
  ];
  for (const [name, events, status, last] of TABLE) {
    test(name, () => {
      const out = run(events);
      assert.equal(out.state.status, status);
      assert.deepEqual(out.emits.at(-1), last);
      assert.deepEqual(out.effects.flat(), [], "no restart, isolate or release effect");
    });
  }

  test("the HIGH alert says the member is OFFLINE and only watched; missed_count keeps counting", () => {
    let s = initialState();
    let reason = "";
    for (let i = 0; i < K + 2; i++) {
      const out = step(s, miss, policy, { now: 1_000, node: "wd-a", peer: "wd-b", newId: () => `id${i}` });
      s = out.state;
      for (const e of out.effects)
        if (e.kind === "emit" && e.action.severity === "HIGH") reason = e.action.reason;
    }
    assert.match(
      reason,
      /wd-b missed 3 heartbeats .*OFFLINE; it is only watched, never restarted or isolated/,
    );
    assert.equal(s.missed, K + 2);
    assert.equal(s.restarts, 0);
  });

  test("alertOnly must be a boolean", () => {
    assert.throws(
      () => compilePolicy({ alertOnly: "yes" as unknown as boolean }),
      /alertOnly: must be true or false/,
    );
  });

  test("a Monitor with an alert-only member: OFFLINE after K misses, the executor is never called", async () => {
    const ex = new RecordingExecutor();
    const prober = new FakeProber(() => MISS);
    const m = new Monitor({ selfName: "wd-a", executor: ex, prober, missedBeforeRestart: K });
    m.registerPeer({
      name: "wd-b",
      probe: { http: { url: "http://127.0.0.1:1/health" } },
      restart: "none",
      isolate: "none",
      alertOnly: true,
    });
    const seen: string[] = [];
    m.onEscalation((a) => void seen.push(`${a.action}:${a.severity}`));
    for (let i = 0; i < 4 * K; i++) await m.checkAllPeers();
    assert.equal(m.getPeerStatus("wd-b")?.status, "OFFLINE");
    assert.deepEqual(seen, ["alert:MEDIUM", "alert:HIGH"]);
    assert.deepEqual(ex.calls, []);
    assert.equal(m.stats().total_restarts, 0);
    prober.setScript(() => OK);
    await m.checkAllPeers();
    assert.equal(m.getPeerStatus("wd-b")?.status, "HEALTHY");
    assert.deepEqual(seen.at(-1), "recovered:INFO");
    await m.stop();
  });
});
