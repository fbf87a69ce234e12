// A release never undoes an isolation it was not issued against: a no-op release
// records its result at once, and resume() completes an interrupted release only while
// the peer's isolation record is the one it was issued against. Real SqliteStore on disk,
// fake executor and prober.
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { Monitor, type Executor } from "../../src/index.js";
import type { ActionResult, ProbeResult } from "../../src/core/types.js";
import type { IsolationRecord } from "../../src/act/executor.js";
import { initialState, type LadderState } from "../../src/core/ladder.js";
import { toPeerHealth } from "../../src/core/peer-health.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { EffectKind } from "../../src/store/types.js";
import { FakeProber, MISS, OK } from "../helpers/fake-prober.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

class RecordingExecutor implements Executor {
  readonly calls: string[] = [];
  /** When set, release never finishes (the watchdog "dies" while it runs). */
  hangRelease = false;
  isolations = 0;
  async restart(): Promise<ActionResult> {
    this.calls.push("restart");
    return { ok: true };
  }
  async isolate(): Promise<{ result: ActionResult; record: IsolationRecord }> {
    this.isolations++;
    this.calls.push(`isolate`);
    return {
      result: { ok: true, detail: "cut off" },
      record: { method: "systemd", unit: "p.service", applied: [`IPAddressDeny=any#${this.isolations}`] },
    };
  }
  async release(_spec: unknown, record: IsolationRecord | null): Promise<ActionResult> {
    this.calls.push(`release:${record?.applied.join(",") ?? "none"}`);
    if (this.hangRelease) return new Promise<ActionResult>(() => {});
    return { ok: true };
  }
}

const spec = {
  name: "p",
  probe: { http: { url: "http://127.0.0.1:1/p" } },
  restart: { command: { argv: ["/bin/true"] } },
  isolate: { command: { argv: ["/bin/true"], release: ["/bin/true"] } },
};

const open = (dir: string) => SqliteStore.open({ dataDir: dir, sinks: [], node: "n" });

function monitor(store: SqliteStore, ex: Executor, prober: FakeProber): Monitor {
  const m = new Monitor({
    selfName: "n",
    store,
    executor: ex,
    prober,
    missedBeforeRestart: 1,
    restartsBeforeIsolate: 0,
  });
  m.registerPeer(spec);
  return m;
}

/** A node's whole life on `store`: start() (which resumes what was left pending), then stop(). */
async function startAndStop(store: SqliteStore, ex: Executor, prober: FakeProber): Promise<Monitor> {
  const m = monitor(store, ex, prober);
  m.start();
  await m.stop();
  return m;
}

/** Commits peer p in `state` with one effect intent, as a node would have left it. */
function commitWithIntent(
  store: SqliteStore,
  state: LadderState,
  effect: { id: string; kind: EffectKind },
): void {
  store.commit({
    peer: "p",
    state,
    actions: [],
    snapshot: toPeerHealth("p", "http://127.0.0.1:1/p", state, "n"),
    effects: [{ ...effect, attempt: 0 }],
  });
}

/** A node's first life on a fresh state file; `left` is what an earlier version left in the file. */
function firstLife(t: TestContext, answer: ProbeResult, left?: (store: SqliteStore) => void) {
  const dir = tempDir(t, "wdmesh-release-");
  const ex = new RecordingExecutor();
  const prober = new FakeProber(() => answer);
  const store = open(dir);
  left?.(store);
  return { dir, ex, prober, store, m: monitor(store, ex, prober) };
}

/** Stops the node cleanly, then runs its next life (same executor and prober) on the same file. */
async function restartNode(life: ReturnType<typeof firstLife>): Promise<{ store: SqliteStore; m: Monitor }> {
  await life.m.stop();
  life.store.close();
  const store = open(life.dir);
  return { store, m: await startAndStop(store, life.ex, life.prober) };
}

/** The node "dies" while the release command runs: the release never finishes. */
async function dieWhileReleasing(ex: RecordingExecutor, m: Monitor): Promise<void> {
  ex.hangRelease = true;
  void m.release("p", "op");
  await until("the release command running", () => ex.calls.some((c) => c.startsWith("release:")));
}

describe("release never undoes an isolation it was not issued against", () => {
  test("a release of a peer that is not isolated records 'nothing to undo' at once", async (t) => {
    const { ex, store, m } = firstLife(t, OK);
    await m.checkAllPeers();
    const a = await m.release("p", "op");
    assert.equal(a.result?.ok, true);
    assert.match(a.result?.detail ?? "", /nothing to undo/);
    assert.deepEqual(store.pendingEffects(), [], "no release intent is left pending");
    assert.equal(store.effect(a.id)?.status, "done");
    assert.deepEqual(ex.calls, [], "no release method ran");
    await m.stop();
    store.close();
  });

  test("no-op release, then isolation, then a restart of the node: the isolation stays", async (t) => {
    const life = firstLife(t, OK);
    const { ex, prober, m } = life;
    await m.checkAllPeers();
    await m.release("p", "op");
    prober.setScript(() => MISS);
    await m.checkAllPeers();
    assert.equal(m.getPeerStatus("p")?.status, "ISOLATED");

    const { store, m: next } = await restartNode(life);
    assert.equal(next.getPeerStatus("p")?.status, "ISOLATED");
    assert.deepEqual(ex.calls, ["isolate"], "the release method never ran");
    assert.ok(store.isolation("p"), "the isolation record is kept");
    store.close();
  });

  test("a release left pending by an older version is not replayed against a later isolation", async (t) => {
    // What an older version left behind: a no-op release whose intent was never finished.
    const healthy = { ...initialState(), status: "HEALTHY" as const };
    const life = firstLife(t, OK, (s) =>
      commitWithIntent(s, healthy, { id: "old-release", kind: "release" }),
    );
    const { ex, prober, m } = life;
    prober.setScript(() => MISS);
    await m.checkAllPeers(); // isolates, without start(): resume() has not run yet
    assert.equal(m.getPeerStatus("p")?.status, "ISOLATED");

    const { store, m: next } = await restartNode(life);
    assert.equal(next.getPeerStatus("p")?.status, "ISOLATED");
    assert.deepEqual(ex.calls, ["isolate"], "the old release was not replayed");
    const old = store.effect("old-release");
    assert.equal(old?.status, "done");
    assert.match(JSON.stringify(old?.result), /nothing to undo/);
    store.close();
  });

  test("an interrupted release is completed while the isolation it was issued against is in force", async (t) => {
    const { dir, ex, store, m } = firstLife(t, MISS);
    await m.checkAllPeers();
    assert.equal(m.getPeerStatus("p")?.status, "ISOLATED");
    await dieWhileReleasing(ex, m);
    const pending = store.pendingEffects();
    assert.equal(pending.length, 1);
    assert.equal(pending[0]?.kind, "release");

    // A new process opens the same file (the old connection is simply abandoned).
    const store2 = open(dir);
    const ex2 = new RecordingExecutor();
    await startAndStop(store2, ex2, new FakeProber(() => OK));
    assert.deepEqual(ex2.calls, ["release:IPAddressDeny=any#1"], "the same isolation is undone");
    assert.equal(store2.effect(pending[0]?.id ?? "")?.status, "done");
    assert.equal(store2.isolation("p"), null);
    store2.close();
    store.close();
  });

  test("an interrupted release is not completed once the peer was isolated again", async (t) => {
    const { dir, ex, store, m } = firstLife(t, MISS);
    await m.checkAllPeers();
    await dieWhileReleasing(ex, m);
    const [release] = store.pendingEffects();
    assert.ok(release);
    assert.ok(release.against, "the release names the isolation it undoes");

    // Later, the peer was isolated again (a new record, a new identity).
    const store2 = open(dir);
    const isolated = { ...initialState(), status: "ISOLATED" as const, isolatedAt: Date.now() };
    commitWithIntent(store2, isolated, { id: "second-isolate", kind: "isolate" });
    store2.recordEffectResult(
      "second-isolate",
      { ok: true },
      { method: "systemd", unit: "p.service", applied: ["IPAddressDeny=any#2"] },
    );
    const ex2 = new RecordingExecutor();
    const m2 = await startAndStop(store2, ex2, new FakeProber(() => MISS));
    assert.deepEqual(ex2.calls, [], "the old release never runs against the new isolation");
    assert.equal(m2.getPeerStatus("p")?.status, "ISOLATED");
    assert.deepEqual(store2.isolation("p")?.applied, ["IPAddressDeny=any#2"]);
    const r = store2.effect(release.id);
    assert.equal(r?.status, "done");
    assert.match(r?.result?.error ?? "", /not replayed/);
    store2.close();
    store.close();
  });
});
