// The Monitor settles what a crashed run left pending when it starts (effects/resume.ts,
// wired through start()): an interrupted restart is not repeated and stays visible to the
// mesh as a recent step; an interrupted isolation of a peer still ISOLATED runs again.
// In-memory SqliteStore, fake clock, executor and prober.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Monitor } from "../../src/index.js";
import { initialState, type LadderState } from "../../src/core/ladder.js";
import { toPeerHealth } from "../../src/core/peer-health.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { EffectKind } from "../../src/store/types.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { FakeProber, OK } from "../helpers/fake-prober.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";

const spec = {
  name: "p",
  probe: { http: { url: "http://127.0.0.1:1/p" } },
  restart: { command: { argv: ["/bin/true"] } },
  isolate: { command: { argv: ["/bin/true"] } },
};

/** A store as a node that died mid-step leaves it: peer p in `state`, one intent pending. */
function leftBehind(clock: FakeClock, state: LadderState, kind: EffectKind, attempt: number): SqliteStore {
  const store = SqliteStore.open({ dataDir: ":memory:", sinks: [], node: "n", clock });
  store.commit({
    peer: "p",
    state,
    actions: [],
    snapshot: toPeerHealth("p", "http://127.0.0.1:1/p", state, "n"),
    effects: [{ id: "eff-1", kind, attempt }],
  });
  return store;
}

function start(store: SqliteStore, clock: FakeClock, ex: RecordingExecutor): Monitor {
  const m = new Monitor({ selfName: "n", store, clock, executor: ex, prober: new FakeProber(() => OK) });
  m.registerPeer(spec);
  m.start();
  return m;
}

describe("Monitor start() resumes interrupted effects", () => {
  test("an interrupted restart is not repeated and is listed as a recent step for the mesh", async () => {
    const clock = new FakeClock();
    const startedAt = clock.now();
    const state = { ...initialState(), status: "DEGRADED" as const, incidentId: "inc-1", missed: 3 };
    const store = leftBehind(clock, state, "restart", 2);
    clock.jump(5_000); // the node comes back 5 s later
    const ex = new RecordingExecutor();
    const m = start(store, clock, ex);
    assert.deepEqual(m.inFlightSteps(), []);
    assert.deepEqual(m.recentSteps(0), [
      { peer: "p", incident: "inc-1", step: "restart", attempt: 2, startedAt, finishedAt: startedAt + 5_000 },
    ]);
    await m.stop();
    assert.deepEqual(ex.calls, [], "the restart did not run again");
    assert.match(store.effect("eff-1")?.result?.error ?? "", /interrupted.*not repeated/);
    store.close();
  });

  test("an interrupted isolation of a peer still ISOLATED runs again and becomes its isolation record", async () => {
    const clock = new FakeClock();
    const state = {
      ...initialState(),
      status: "ISOLATED" as const,
      incidentId: "inc-1",
      isolatedAt: clock.now(),
    };
    const store = leftBehind(clock, state, "isolate", 0);
    const ex = new RecordingExecutor();
    const m = start(store, clock, ex);
    await m.stop(); // waits for the peer's lock, so for the isolation run again
    assert.deepEqual(ex.calls, ["isolate:p"]);
    assert.equal(store.effect("eff-1")?.status, "done");
    assert.equal(store.isolation("p")?.unit, "x.service", "what the isolation applied is kept for release");
    assert.equal(m.getPeerStatus("p")?.status, "ISOLATED");
    store.close();
  });
});
