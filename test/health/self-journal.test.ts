// The journal entries a node writes about itself: a self_degraded / self_recovered pair
// sharing one incident id, with a snapshot of the node, and nothing while its state holds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SelfHealth } from "../../src/health/self-health.js";
import { SelfJournal } from "../../src/health/self-journal.js";
import { FakeLoopDelay } from "../helpers/fake-loop-delay.js";

test("entering and leaving the degraded state: one entry each, one incident, nothing in between", () => {
  const loop = new FakeLoopDelay();
  const health = new SelfHealth(loop, {
    loopDelayP99Ms: 200,
    latenessP99Ms: 250,
    windowMs: 10_000,
    deadlineFactor: 3,
  });
  let n = 0;
  const journal = new SelfJournal("wd-a", health, () => `id-${++n}`);
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  /** The node's self health evaluated at `t`, and the journal entry that change makes (null: none). */
  const evaluateAt = (t: number) => {
    const { changed, report } = health.evaluate(t);
    return { changed, entry: journal.entryFor(changed, report, t) };
  };
  /** The entry written at `t`, where self health must have `changed` as said. */
  const entryOnChange = (t: number, want: "entered" | "left") => {
    const { changed, entry } = evaluateAt(t);
    assert.equal(changed, want);
    assert.ok(entry);
    return entry;
  };

  assert.equal(evaluateAt(t0).entry, null, "no change, no entry");

  loop.stall(t0 + 1_000, 2_000);
  const entered = entryOnChange(t0 + 1_000, "entered");
  assert.equal(entered.action.action, "self_degraded");
  assert.equal(entered.action.severity, "HIGH");
  assert.equal(entered.action.peer_name, "wd-a");
  assert.equal(entered.action.node, "wd-a");
  assert.equal(entered.action.timestamp, "2026-01-01T00:00:01.000Z");
  assert.match(
    entered.action.reason,
    /^this node is overloaded: loop delay p99 2000 ms, lateness p99 0 ms \(thresholds 200 ms, 250 ms\); probe deadlines ×3, remediation held$/,
  );
  assert.equal(entered.snapshot.name, "wd-a");
  assert.equal(entered.snapshot.status, "DEGRADED");
  assert.match(entered.snapshot.last_error ?? "", /^this node is overloaded/);
  const incident = entered.action.incident_id;
  assert.ok(incident);
  assert.notEqual(entered.action.id, incident, "the entry has its own id");

  assert.equal(evaluateAt(t0 + 2_000).entry, null, "still degraded: no second entry");

  loop.clear();
  const left = entryOnChange(t0 + 20_000, "left");
  assert.equal(left.action.action, "self_recovered");
  assert.equal(left.action.severity, "INFO");
  assert.equal(left.action.incident_id, incident, "the pair shares the incident");
  assert.match(
    left.action.reason,
    /^this node is well again: loop delay p99 0 ms, lateness p99 0 ms; remediation resumes$/,
  );
  assert.equal(left.snapshot.status, "HEALTHY");
  assert.equal(left.snapshot.last_error, null);

  loop.stall(t0 + 30_000, 2_000);
  const second = evaluateAt(t0 + 30_000).entry;
  assert.ok(second);
  assert.notEqual(second.action.incident_id, incident, "a new episode opens a new incident");
});
