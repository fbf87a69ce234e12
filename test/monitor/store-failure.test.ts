// Commit, then act: when the store refuses a transition, nothing of it happens (state,
// counters, effects, escalation handlers), every step is held, the failure is announced
// once (onStoreFailure) and shown (storeReport, healthProblem); when the store commits
// again, store_failed and store_recovered are journaled and escalation resumes from the
// committed state. A real SQLite store whose commit is made to throw, a scripted prober.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Monitor, type EscalationAction } from "../../src/index.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { TransitionCommit } from "../../src/store/types.js";
import { FakeProber, MISS } from "../helpers/fake-prober.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";

function fullableStore(): { store: SqliteStore; full: { on: boolean; refused: number } } {
  const store = SqliteStore.open({ dataDir: ":memory:", node: "n", sinks: [] });
  const full = { on: false, refused: 0 };
  const commit = store.commit.bind(store);
  store.commit = (t: TransitionCommit) => {
    if (full.on) {
      full.refused++;
      throw new Error("database or disk is full");
    }
    commit(t);
  };
  return { store, full };
}

test("a refused commit changes nothing and holds every step; the first success resumes from disk", async () => {
  const { store, full } = fullableStore();
  const ex = new RecordingExecutor();
  const m = new Monitor({
    selfName: "n",
    store,
    executor: ex,
    prober: new FakeProber(() => MISS),
    missedBeforeRestart: 2,
    restartsBeforeIsolate: 1,
    startupGrace: 0,
    selfHealth: false,
  });
  m.registerPeer({
    name: "p",
    probe: { http: { url: "http://127.0.0.1:1/p" } },
    restart: { command: { argv: ["/bin/true"] } },
    isolate: { command: { argv: ["/bin/true"] } },
  });
  const seen: string[] = [];
  const announced: EscalationAction[] = [];
  m.onEscalation((a) => void seen.push(a.action));
  m.onStoreFailure((a) => void announced.push(a));

  full.on = true;
  await m.checkAllPeers();
  assert.equal(full.refused, 1, "the transition refused opens the episode");
  for (let i = 0; i < 5; i++) await m.checkAllPeers();
  // Each later probe: one try to end the episode, then its own transition; no more.
  assert.equal(full.refused, 1 + 5 * 2, "a store that fails is tried once per probe, not twice");
  assert.equal(m.getPeerStatus("p")?.status, "UNKNOWN", "the state last committed");
  assert.deepEqual(ex.calls, [], "no step ran");
  assert.deepEqual(seen, [], "nothing announced that is not journaled");
  assert.equal(m.stats().total_restarts, 0);
  assert.equal(announced.length, 1, "the failure is announced once");
  assert.equal(announced[0]?.action, "store_failed");
  assert.equal(announced[0]?.severity, "HIGH");
  assert.equal(m.storeReport().status, "failing");
  assert.ok((m.storeReport().failed_commits ?? 0) >= 6);
  assert.match(m.healthProblem() ?? "", /state store cannot commit/);
  await assert.rejects(m.release("p"), { code: "WDM_STATE_STORE" });
  assert.throws(() => m.silence("p", "1h"), { code: "WDM_STATE_STORE" });
  assert.equal(m.getPeerStatus("p")?.silenced_until ?? null, null);

  full.on = false;
  for (let i = 0; i < 6; i++) await m.checkAllPeers();
  const kinds = store.journal(0, 1000).map((e) => e.action);
  assert.deepEqual(kinds.slice(0, 2), ["store_failed", "store_recovered"]);
  assert.equal(store.journal(0, 1000)[0]?.id, announced[0]?.id, "journaled with the announced id");
  assert.ok(kinds.includes("restart") && kinds.includes("isolate"), kinds.join(","));
  assert.equal(m.getPeerStatus("p")?.status, "ISOLATED");
  assert.equal(m.storeReport().status, "ok");
  assert.equal(m.healthProblem(), undefined);
  assert.deepEqual(ex.calls, ["restart:p:1", "isolate:p"]);
  assert.equal(store.loadPeers().find((x) => x.name === "p")?.state.status, "ISOLATED");
  await m.stop();
  store.close();
});
