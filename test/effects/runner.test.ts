// The effect runner: each remediation effect runs through the executor (or answers at
// once when there is nothing to run), its result is recorded against its intent, and a
// restart or isolate is listed as a step while it runs. Fake executor, store and clock.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { IsolationRecord, RemediationTarget } from "../../src/act/executor.js";
import type { RemediationEffect } from "../../src/core/ladder.js";
import { silentLogger } from "../../src/core/logger.js";
import type { PeerSpec } from "../../src/core/options.js";
import type { ActionResult } from "../../src/core/types.js";
import { EffectRunner, effectIntent, type RemediatedPeer } from "../../src/effects/runner.js";
import { StepLog } from "../../src/effects/step-log.js";
import { FakeClock, turnsUntil } from "../helpers/fake-clock.js";
import { MemoryEffectStore } from "../helpers/memory-effect-store.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";

const METHODS: Pick<PeerSpec, "restart" | "isolate"> = {
  restart: { command: { argv: ["/bin/true"] } },
  isolate: { command: { argv: ["/bin/true"] }, release: { argv: ["/bin/true"] } },
};

function peer(over: Partial<RemediatedPeer> = {}): RemediatedPeer {
  return {
    spec: METHODS,
    target: { host: "127.0.0.1", port: 8080 },
    state: { status: "DEGRADED", incidentId: "inc-1" },
    isolation: null,
    isolationId: null,
    ...over,
  };
}

function setup(executor = new RecordingExecutor()) {
  const clock = new FakeClock();
  const store = new MemoryEffectStore();
  const steps = new StepLog();
  const runner = new EffectRunner({ executor, store, clock, logger: silentLogger, steps });
  return { clock, store, steps, runner, executor };
}

const signal = new AbortController().signal;
const RECORD: IsolationRecord = { method: "command", applied: ["cut #1"] };

describe("EffectRunner", () => {
  test("a restart runs with its target, is listed while it runs, and its result is recorded with its duration", async () => {
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const targets: RemediationTarget[] = [];
    const ex = new RecordingExecutor(() => gate);
    const orig = ex.restart.bind(ex);
    ex.restart = async (spec: unknown, target: RemediationTarget) => {
      targets.push(target);
      return orig(spec, target);
    };
    const { clock, store, steps, runner } = setup(ex);
    const started = clock.now();
    const run = runner.run("p", peer(), { kind: "restart", actionId: "r1", attempt: 2 }, signal);
    await turnsUntil("restart running", () => steps.inFlight().length === 1);
    assert.deepEqual(steps.inFlight(), [
      { peer: "p", incident: "inc-1", step: "restart", attempt: 2, startedAt: started, finishedAt: null },
    ]);
    assert.deepEqual(store.results, [], "nothing recorded before it finishes");
    clock.jump(1_200);
    finish();
    const result = await run;
    assert.deepEqual(targets, [{ peer: "p", host: "127.0.0.1", port: 8080, effectId: "r1", attempt: 2 }]);
    assert.deepEqual(result, { ok: true, duration_ms: 1_200 });
    assert.deepEqual(store.results, [{ id: "r1", result, isolation: undefined }]);
    assert.deepEqual(steps.inFlight(), []);
    assert.equal(steps.recent(0)[0]?.finishedAt, started + 1_200);
  });

  test("without a restart or isolate method nothing runs and the failure is recorded at once", async () => {
    for (const method of [undefined, "none" as const]) {
      const { store, runner, executor } = setup();
      const p = peer({ spec: { restart: method, isolate: method } });
      const r = await runner.run("p", p, { kind: "restart", actionId: "r1", attempt: 1 }, signal);
      const i = await runner.run("p", p, { kind: "isolate", actionId: "i1" }, signal);
      assert.deepEqual(executor.calls, []);
      assert.equal(r.ok, false);
      assert.match(r.error ?? "", /no restart method configured/);
      assert.match(i.error ?? "", /no isolate method configured/);
      assert.deepEqual(
        store.results.map((x) => [x.id, x.result.ok]),
        [
          ["r1", false],
          ["i1", false],
        ],
      );
      assert.equal(p.isolationId, null, "no isolation is in force");
    }
  });

  test("an isolation becomes the peer's isolation in force, and the store keeps what it applied", async () => {
    const { store, runner, executor } = setup();
    const p = peer();
    const result = await runner.run("p", p, { kind: "isolate", actionId: "iso-1" }, signal);
    assert.equal(result.ok, true);
    assert.deepEqual(executor.calls, ["isolate:p"]);
    assert.equal(p.isolationId, "iso-1");
    assert.deepEqual(p.isolation, { method: "systemd", unit: "x.service", applied: [] });
    assert.deepEqual(store.results[0]?.isolation, p.isolation);
  });

  test("a release undoes exactly the isolation in force and clears it", async () => {
    const { store, runner, executor } = setup();
    const p = peer({ isolation: RECORD, isolationId: "iso-1" });
    const result = await runner.run(
      "p",
      p,
      { kind: "release", actionId: "rel-1", wasIsolated: true },
      signal,
    );
    assert.equal(result.ok, true);
    assert.deepEqual(executor.released, [RECORD]);
    assert.equal(p.isolation, null);
    assert.equal(p.isolationId, null);
    assert.equal(store.results[0]?.isolation, undefined, "a release records no isolation");
  });

  test("a release with nothing to undo runs nothing and still records its result (its intent is never left pending)", async () => {
    const cases: Array<[RemediatedPeer, RemediationEffect]> = [
      [peer(), { kind: "release", actionId: "rel", wasIsolated: false }],
      [
        peer({
          spec: { restart: METHODS.restart },
          isolation: { method: "none", applied: [] },
          isolationId: "iso-1",
        }),
        { kind: "release", actionId: "rel", wasIsolated: true },
      ],
    ];
    for (const [p, e] of cases) {
      const { store, runner, executor, steps } = setup();
      const result = await runner.run("p", p, e, signal);
      assert.equal(result.ok, true);
      assert.match(result.detail ?? "", /nothing to undo/);
      assert.deepEqual(executor.calls, []);
      assert.equal(store.resultOf("rel"), result);
      assert.deepEqual(steps.recent(0), [], "a release is not a step the mesh waits on");
    }
  });

  test("a release of what no method can undo any more is refused: nothing runs, the record stays", async () => {
    // The isolation ran a command; the config no longer has an isolate method (a reload).
    const p = peer({ spec: { restart: METHODS.restart }, isolation: RECORD, isolationId: "iso-1" });
    const { store, runner, executor } = setup();
    const result = await runner.run("p", p, { kind: "release", actionId: "rel", wasIsolated: true }, signal);
    assert.equal(result.ok, false);
    assert.match(result.error ?? "", /cut #1.*no release command/);
    assert.deepEqual(executor.calls, []);
    assert.equal(p.isolation, RECORD, "the record is kept");
    assert.equal(p.isolationId, "iso-1");
    assert.equal(store.resultOf("rel"), result);
  });

  test("an executor that throws or answers nothing is a failed step: recorded, and the step is finished", async () => {
    const throwing = new RecordingExecutor();
    throwing.restart = () => Promise.reject(new Error("boom"));
    const silent = new RecordingExecutor();
    silent.restart = () => Promise.resolve(undefined as unknown as ActionResult);
    for (const [ex, why] of [
      [throwing, /executor failed: boom/],
      [silent, /returned no result/],
    ] as const) {
      const { store, runner, steps } = setup(ex);
      const r = await runner.run("p", peer(), { kind: "restart", actionId: "r1", attempt: 1 }, signal);
      assert.equal(r.ok, false);
      assert.match(r.error ?? "", why);
      assert.equal(store.resultOf("r1"), r);
      assert.deepEqual(steps.inFlight(), []);
      assert.equal(steps.recent(0).length, 1);
    }
  });
});

describe("effectIntent", () => {
  test("the intent carries the restart attempt, and a release names the isolation it undoes", () => {
    assert.deepEqual(effectIntent({ kind: "restart", actionId: "r", attempt: 3 }, "iso-1"), {
      id: "r",
      kind: "restart",
      attempt: 3,
    });
    assert.deepEqual(effectIntent({ kind: "isolate", actionId: "i" }, null), {
      id: "i",
      kind: "isolate",
      attempt: 0,
    });
    assert.deepEqual(effectIntent({ kind: "release", actionId: "x", wasIsolated: true }, "iso-1"), {
      id: "x",
      kind: "release",
      attempt: 0,
      against: "iso-1",
    });
    assert.deepEqual(effectIntent({ kind: "release", actionId: "x", wasIsolated: false }, "iso-1"), {
      id: "x",
      kind: "release",
      attempt: 0,
      against: null,
    });
  });
});
