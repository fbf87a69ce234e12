// Crash resume: every effect a previous run left pending gets one outcome; a restart is
// never repeated, an isolation runs again only while the peer is ISOLATED, and a release
// is completed only against the isolation it was issued against. Fake store and executor,
// with the real EffectRunner for what runs again.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { IsolationRecord } from "../../src/act/executor.js";
import type { PeerStatus } from "../../src/core/types.js";
import { silentLogger, type Logger } from "../../src/core/logger.js";
import { EffectRunner, type RemediatedPeer } from "../../src/effects/runner.js";
import { resumeInterrupted, staleRelease } from "../../src/effects/resume.js";
import { StepLog } from "../../src/effects/step-log.js";
import type { EffectRecord } from "../../src/store/types.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { MemoryEffectStore } from "../helpers/memory-effect-store.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";

const FIRST: IsolationRecord = { method: "command", applied: ["cut #1"] };
const SECOND: IsolationRecord = { method: "command", applied: ["cut #2"] };

function peer(
  status: PeerStatus,
  isolationId: string | null,
  isolation: IsolationRecord | null,
): RemediatedPeer {
  return {
    spec: {
      restart: { command: { argv: ["/bin/true"] } },
      isolate: { command: { argv: ["/bin/true"] }, release: { argv: ["/bin/true"] } },
    },
    target: {},
    state: { status, incidentId: "inc-1" },
    isolation,
    isolationId,
  };
}

/** Resumes `pending` against the peers `peers` (by name); what ran, what was recorded. */
async function resume(
  peers: Record<string, RemediatedPeer>,
  pending: Array<Pick<EffectRecord, "id" | "peer" | "kind"> & Partial<EffectRecord>>,
  logger: Logger = silentLogger,
) {
  const clock = new FakeClock();
  const store = new MemoryEffectStore();
  for (const e of pending) store.addPending(e);
  const executor = new RecordingExecutor();
  const steps = new StepLog();
  const runner = new EffectRunner({ executor, store, clock, logger: silentLogger, steps });
  const signal = new AbortController().signal;
  await resumeInterrupted({
    store,
    peer: (name) => peers[name],
    steps,
    now: () => clock.now(),
    logger,
    rerun: (name, p, e) => runner.run(name, p, e, signal),
  });
  return { store, executor, steps, now: clock.now() };
}

describe("resumeInterrupted", () => {
  test("an interrupted restart is never repeated: recorded as interrupted and shown to the mesh as finished", async () => {
    const p = peer("DEGRADED", null, null);
    const { store, executor, steps, now } = await resume({ p }, [
      { id: "r1", peer: "p", kind: "restart", attempt: 2, createdAt: 1_000 },
    ]);
    assert.deepEqual(executor.calls, []);
    assert.equal(store.resultOf("r1")?.ok, false);
    assert.match(store.resultOf("r1")?.error ?? "", /interrupted.*not repeated/);
    assert.deepEqual(steps.recent(0), [
      { peer: "p", incident: "inc-1", step: "restart", attempt: 2, startedAt: 1_000, finishedAt: now },
    ]);
  });

  test("an effect of a peer no longer watched is recorded as interrupted and nothing runs", async () => {
    const { store, executor, steps } = await resume({}, [
      { id: "i1", peer: "gone", kind: "isolate" },
      { id: "r1", peer: "gone", kind: "restart", createdAt: 1_000 },
    ]);
    assert.deepEqual(executor.calls, []);
    assert.deepEqual(
      store.results.map((r) => [r.id, r.result.ok]),
      [
        ["i1", false],
        ["r1", false],
      ],
    );
    assert.deepEqual(steps.recent(0), [], "no peer, no step to show");
    assert.deepEqual(store.pendingEffects(), []);
  });

  test("an interrupted isolation runs again while the peer is ISOLATED, and becomes its isolation", async () => {
    const p = peer("ISOLATED", null, null);
    const { store, executor } = await resume({ p }, [{ id: "iso-1", peer: "p", kind: "isolate" }]);
    assert.deepEqual(executor.calls, ["isolate:p"]);
    assert.equal(store.resultOf("iso-1")?.ok, true);
    assert.equal(p.isolationId, "iso-1");
    assert.deepEqual(store.results[0]?.isolation, p.isolation);
  });

  test("an interrupted isolation is not run again once the peer is no longer ISOLATED", async () => {
    for (const status of ["HEALTHY", "DEGRADED", "UNKNOWN"] as const) {
      const p = peer(status, null, null);
      const { store, executor } = await resume({ p }, [{ id: "iso-1", peer: "p", kind: "isolate" }]);
      assert.deepEqual(executor.calls, [], status);
      assert.match(store.resultOf("iso-1")?.error ?? "", /superseded by a later release/);
      assert.equal(p.isolationId, null);
    }
  });

  test("an interrupted release is completed against the isolation it was issued against", async () => {
    const p = peer("HEALTHY", "iso-1", FIRST);
    const { store, executor } = await resume({ p }, [
      { id: "rel-1", peer: "p", kind: "release", against: "iso-1" },
    ]);
    assert.deepEqual(executor.released, [FIRST]);
    assert.equal(store.resultOf("rel-1")?.ok, true);
    assert.equal(p.isolationId, null);
    assert.equal(p.isolation, null);
  });

  test("an interrupted release is not replayed against a later isolation", async () => {
    const warned: string[] = [];
    const logger = { ...silentLogger, warn: (_o: object, msg?: string) => void warned.push(msg ?? "") };
    const again = peer("ISOLATED", "iso-2", SECOND);
    const other = peer("HEALTHY", "iso-2", SECOND);
    const { store, executor } = await resume(
      { again, other },
      [
        { id: "rel-a", peer: "again", kind: "release", against: "iso-1" },
        { id: "rel-o", peer: "other", kind: "release", against: "iso-1" },
      ],
      logger,
    );
    assert.deepEqual(executor.calls, [], "no release ran");
    assert.match(store.resultOf("rel-a")?.error ?? "", /not replayed.*isolated again since/);
    assert.match(store.resultOf("rel-o")?.error ?? "", /not replayed/);
    assert.doesNotMatch(store.resultOf("rel-o")?.error ?? "", /isolated again/);
    assert.deepEqual(again.isolation, SECOND, "the isolation in force stays");
    assert.deepEqual(warned, ["interrupted release not replayed", "interrupted release not replayed"]);
  });

  test("an interrupted release with nothing left to undo records that and runs nothing", async () => {
    const { store, executor } = await resume(
      { a: peer("HEALTHY", null, null), b: peer("HEALTHY", null, null) },
      [
        { id: "rel-a", peer: "a", kind: "release", against: null },
        { id: "rel-b", peer: "b", kind: "release", against: "iso-1" },
      ],
    );
    assert.deepEqual(executor.calls, []);
    assert.match(store.resultOf("rel-a")?.detail ?? "", /not isolated when it was released/);
    assert.match(store.resultOf("rel-b")?.detail ?? "", /no isolation record remains/);
    assert.equal(store.resultOf("rel-b")?.ok, true);
  });

  test("outcomes are recorded before it returns, and a store that fails throws at once (start() reports it)", async () => {
    const store = new MemoryEffectStore();
    store.addPending({ id: "r1", peer: "p", kind: "restart" });
    const deps = {
      store,
      peer: () => peer("DEGRADED", null, null),
      steps: new StepLog(),
      now: () => 0,
      logger: silentLogger,
      rerun: () => Promise.reject(new Error("nothing should run again")),
    };
    const done = resumeInterrupted(deps);
    assert.equal(store.resultOf("r1")?.ok, false, "recorded synchronously");
    await done;
    const broken = {
      ...deps,
      store: {
        pendingEffects: () => {
          throw new Error("disk I/O error");
        },
        recordEffectResult: () => {},
      },
    };
    assert.throws(() => void resumeInterrupted(broken), /disk I\/O error/);
  });

  test("a rerun that fails is logged, and resume still resolves", async () => {
    const errors: string[] = [];
    const store = new MemoryEffectStore();
    store.addPending({ id: "iso-1", peer: "p", kind: "isolate" });
    await resumeInterrupted({
      store,
      peer: () => peer("ISOLATED", null, null),
      steps: new StepLog(),
      now: () => 0,
      logger: { ...silentLogger, error: (_o, msg) => void errors.push(msg ?? "") },
      rerun: () => Promise.reject(new Error("lock broken")),
    });
    assert.deepEqual(errors, ["resume failed"]);
  });
});

describe("staleRelease", () => {
  const cases: Array<[string, RemediatedPeer, string | null, boolean | null]> = [
    ["same isolation, peer released", peer("HEALTHY", "iso-1", FIRST), "iso-1", null],
    ["not isolated when released", peer("ISOLATED", "iso-1", FIRST), null, true],
    ["no record remains", peer("DEGRADED", null, null), "iso-1", true],
    ["isolated again since", peer("ISOLATED", "iso-1", FIRST), "iso-1", false],
    ["another isolation in force", peer("HEALTHY", "iso-2", SECOND), "iso-1", false],
  ];
  for (const [name, p, against, ok] of cases) {
    test(`${name}: ${ok === null ? "completed" : ok ? "nothing to undo" : "not replayed"}`, () => {
      const stale = staleRelease(p, against);
      assert.equal(stale === null ? null : stale.ok, ok);
    });
  }
});
