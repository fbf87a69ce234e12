// The in-flight and recent remediation steps the mesh shares in views.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { StepLog } from "../../src/effects/step-log.js";

const restart = (peer: string, startedAt: number) => ({
  peer,
  incident: "i-1",
  step: "restart" as const,
  attempt: 1,
  startedAt,
});

describe("StepLog", () => {
  test("a step is in flight from begin() until finish(), then listed as finished at that time", () => {
    const log = new StepLog();
    log.begin("e1", restart("a", 1_000));
    assert.deepEqual(log.inFlight(), [{ ...restart("a", 1_000), finishedAt: null }]);
    assert.deepEqual(log.recent(0), [{ ...restart("a", 1_000), finishedAt: null }]);
    log.finish("e1", 1_500);
    assert.deepEqual(log.inFlight(), []);
    assert.deepEqual(log.recent(0), [{ ...restart("a", 1_000), finishedAt: 1_500 }]);
  });

  test("finish() of an id that is not running changes nothing", () => {
    const log = new StepLog();
    log.begin("e1", restart("a", 1_000));
    log.finish("other", 2_000);
    log.finish("e1", 2_000);
    log.finish("e1", 3_000);
    assert.deepEqual(
      log.recent(0).map((s) => s.finishedAt),
      [2_000],
    );
  });

  test("recent(since) lists the finished steps started at or after `since`, then every step running", () => {
    const log = new StepLog();
    log.add({ ...restart("old", 100), finishedAt: 200 });
    log.add({ ...restart("edge", 500), finishedAt: 600 });
    log.begin("run", restart("running", 700));
    assert.deepEqual(
      log.recent(500).map((s) => s.peer),
      ["edge", "running"],
    );
    assert.deepEqual(
      log.recent(10_000).map((s) => s.peer),
      ["running"],
      "a running step is listed whenever it started",
    );
  });

  test("keeps at most `kept` finished steps, dropping the oldest", () => {
    const log = new StepLog(3);
    for (let i = 1; i <= 5; i++) {
      log.begin(`e${i}`, restart(`p${i}`, i));
      log.finish(`e${i}`, i + 1);
    }
    assert.deepEqual(
      log.recent(0).map((s) => s.peer),
      ["p3", "p4", "p5"],
    );
  });

  test("what it hands out are copies: a caller cannot change a running step", () => {
    const log = new StepLog();
    log.begin("e1", restart("a", 1_000));
    const [s] = log.inFlight();
    if (s) s.finishedAt = 5;
    assert.equal(log.inFlight()[0]?.finishedAt, null);
  });
});
