// The EffectRunner with the host's step ledger (a real ledger file in a temp directory,
// fake executor and clock): two runners stand for two nodes of one host, or one node
// before and after a crash. A step is performed once; a refused one is never performed,
// recorded as fenced and reported (step_fenced) naming who took it; an ended incident
// and an older external token are refused; a ledger that cannot be used holds the step.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import type { RemediationTarget } from "../../src/act/executor.js";
import type { RemediationEffect } from "../../src/core/ladder.js";
import { silentLogger } from "../../src/core/logger.js";
import { fencedAction, StepFence } from "../../src/effects/fence.js";
import { openSqliteLedger } from "../../src/ledger/sqlite-ledger.js";
import {
  EffectRunner,
  type FencedStep,
  type RemediatedPeer,
  type StepClaimer,
} from "../../src/effects/runner.js";
import { StepLog } from "../../src/effects/step-log.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { MemoryEffectStore } from "../helpers/memory-effect-store.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";
import { tempDir } from "../helpers/tmp-dir.js";

const signal = new AbortController().signal;

const peer = (over: Partial<RemediatedPeer> = {}): RemediatedPeer => ({
  spec: {
    restart: { command: { argv: ["/bin/true"], timeout: "20s" } },
    isolate: { command: { argv: ["/bin/true"] } },
  },
  target: {},
  state: { status: "DEGRADED", incidentId: "inc-1" },
  isolation: null,
  isolationId: null,
  ...over,
});

const restart = (attempt: number, id = `r${attempt}`): RemediationEffect => ({
  kind: "restart",
  actionId: id,
  attempt,
});

function node(dir: string, name: string, clock: FakeClock, claimer?: StepClaimer) {
  const executor = new RecordingExecutor();
  const store = new MemoryEffectStore();
  const fenced: FencedStep[] = [];
  const fence = new StepFence({ dir, node: name, clock, logger: silentLogger });
  const runner = new EffectRunner({
    executor,
    store,
    clock,
    logger: silentLogger,
    steps: new StepLog(),
    fence,
    onFenced: (f) => fenced.push(f),
    claimer,
  });
  return { executor, store, fenced, runner, fence };
}

/** wd1 and wd2 on one ledger directory and one auto-advancing fake clock, closed after the test. */
function twoNodes(t: TestContext): { a: ReturnType<typeof node>; b: ReturnType<typeof node> } {
  const dir = join(tempDir(t, "wdmesh-fenced-runner-"), "ledger");
  const clock = new FakeClock(undefined, { auto: true });
  const a = node(dir, "wd1", clock);
  const b = node(dir, "wd2", clock);
  t.after(() => [a, b].forEach((n) => n.fence.close()));
  return { a, b };
}

test("a restart in flight is not repeated by the same node after its restart, nor by another node", async (t) => {
  const dir = join(tempDir(t, "wdmesh-fenced-runner-"), "ledger");
  const clock = new FakeClock(undefined, { auto: true });
  // wd1 takes attempt 1 and "dies" while it runs: it never finishes in the ledger.
  const before = node(dir, "wd1", clock);
  const p1 = peer();
  p1.fenceSeen = before.runner.observe("api", p1);
  const never = new Promise<never>(() => {});
  before.executor.restart = async () => never;
  void before.runner.run("api", p1, restart(1), signal);
  await new Promise((r) => setImmediate(r));
  before.fence.close();

  const after = node(dir, "wd1", clock);
  t.after(() => after.fence.close());
  const p = peer();
  p.fenceSeen = after.runner.observe("api", p);
  const r2 = await after.runner.run("api", p, restart(2), signal);
  assert.deepEqual(after.executor.calls, [], "attempt 2 not performed while attempt 1 is in flight");
  assert.equal(r2.ok, false);
  assert.equal(r2.fenced, true);
  assert.match(r2.error ?? "", /in flight/);
  assert.equal(after.store.resultOf("r2")?.fenced, true, "the refusal is recorded against the intent");
  assert.equal(after.fenced.length, 1);
  assert.equal(after.fenced[0]?.severity, "INFO");
  assert.match(after.fenced[0]?.reason ?? "", new RegExp(`wd1 pid ${process.pid}`), "names who took it");
  const entry = fencedAction(after.fenced[0] as FencedStep, "wd1", clock.now(), () => "id-1");
  assert.equal(entry.action, "step_fenced");
  assert.equal(entry.severity, "INFO");
  assert.equal(entry.incident_id, "inc-1");

  const other = node(dir, "wd2", clock);
  t.after(() => other.fence.close());
  const q = peer({ state: { status: "DEGRADED", incidentId: "inc-wd2" } });
  q.fenceSeen = other.runner.observe("api", q);
  await other.runner.run("api", q, restart(1, "x1"), signal);
  assert.deepEqual(other.executor.calls, [], "another node's step is refused too");

  // Past attempt 1's timeout (20 s), the peer is no longer blocked.
  clock.jump(20_000);
  q.fenceSeen = other.runner.observe("api", q);
  const ok = await other.runner.run("api", q, restart(1, "x1b"), signal);
  assert.equal(ok.ok, true);
  assert.deepEqual(other.executor.calls, ["restart:api:1"]);
});

test("a node whose evidence predates another node's step performs nothing", async (t) => {
  const { a, b } = twoNodes(t);
  const pa = peer();
  const pb = peer({ state: { status: "DEGRADED", incidentId: "inc-b" } });
  pa.fenceSeen = a.runner.observe("api", pa); // wd1 probes, then is paused
  pb.fenceSeen = b.runner.observe("api", pb);
  await b.runner.run("api", pb, restart(1), signal); // wd2 acts and finishes
  assert.deepEqual(b.executor.calls, ["restart:api:1"]);
  const r = await a.runner.run("api", pa, restart(1), signal); // wd1 resumes
  assert.deepEqual(a.executor.calls, []);
  assert.match(r.error ?? "", /evidence predates/);
  assert.match(a.fenced[0]?.reason ?? "", /wd2 pid/);
});

test("after the incident ended no step of it runs", async (t) => {
  const dir = join(tempDir(t, "wdmesh-fenced-runner-"), "ledger");
  const clock = new FakeClock(undefined, { auto: true });
  const a = node(dir, "wd1", clock);
  t.after(() => a.fence.close());
  const p = peer();
  p.fenceSeen = a.runner.observe("api", p);
  await a.runner.endIncident("api", p, "inc-1", "api is HEALTHY");
  p.fenceSeen = a.runner.observe("api", p);
  const r = await a.runner.run("api", p, restart(1), signal);
  assert.match(r.error ?? "", /ended/);
  assert.deepEqual(a.executor.calls, []);
});

test("a claimed step's token goes to the ledger (an older one is refused there) and to the executor; the claim is given up after", async (t) => {
  const dir = join(tempDir(t, "wdmesh-fenced-runner-"), "ledger");
  const clock = new FakeClock(undefined, { auto: true });
  const tokens = [7, 6, 8];
  const log: string[] = [];
  const last: { refuse?: string } = {};
  const claimer: StepClaimer = {
    claim: async (peer, kind) => {
      const token = tokens.shift()!;
      log.push(`claim ${kind} ${peer} ${token}`);
      return {
        ok: true,
        token,
        check: async () => last.refuse,
        finish: async () => void log.push(`finish ${token}`),
      };
    },
  };
  const a = node(dir, "wd1", clock, claimer);
  t.after(() => a.fence.close());
  const targets: RemediationTarget[] = [];
  const orig = a.executor.restart.bind(a.executor);
  a.executor.restart = (spec: unknown, target: RemediationTarget) => {
    targets.push(target);
    return orig(spec, target);
  };
  const q = peer({ state: { status: "DEGRADED", incidentId: "inc-2" } });
  q.fenceSeen = a.runner.observe("api", q);
  assert.equal((await a.runner.run("api", q, restart(1, "e1"), signal)).ok, true);
  assert.equal(targets[0]?.fencingToken, "7", "the executor gets the claim's token");
  const stale = await a.runner.run("api", q, restart(2, "e2"), signal);
  assert.equal(stale.fenced, true);
  assert.match(stale.error ?? "", /fencing token 6 is older than 7/, "refused by the ledger");
  assert.equal(a.fenced[0]?.severity, "INFO");
  // A claim its own last check refuses (e.g. the node's lease ran out) runs nothing either.
  last.refuse = "lease expired";
  q.fenceSeen = a.runner.observe("api", q);
  const late = await a.runner.run("api", q, restart(3, "e3"), signal);
  assert.match(late.error ?? "", /restart not run: lease expired/);
  assert.equal(targets.length, 1);
  assert.deepEqual(log, [
    "claim restart api 7",
    "finish 7",
    "claim restart api 6",
    "finish 6",
    "claim restart api 8",
    "finish 8",
  ]);
});

test("a ledger that cannot be used holds the step (HIGH) and performs nothing", async (t) => {
  const file = join(tempDir(t, "wdmesh-fenced-runner-"), "not-a-dir");
  writeFileSync(file, "x");
  const clock = new FakeClock(undefined, { auto: true });
  const a = node(file, "wd1", clock);
  const p = peer();
  p.fenceSeen = a.runner.observe("api", p);
  const r = await a.runner.run("api", p, restart(1), signal);
  assert.deepEqual(a.executor.calls, []);
  assert.equal(r.fenced, true);
  assert.match(r.error ?? "", /held, not performed/);
  assert.equal(a.fenced[0]?.severity, "HIGH");
});

test("a node held up past the step's timeout between taking it and starting it gives it up", async (t) => {
  const dir = join(tempDir(t, "wdmesh-fenced-runner-"), "ledger");
  const clock = new FakeClock(undefined, { auto: true });
  const executor = new RecordingExecutor();
  const fenced: FencedStep[] = [];
  const fence = new StepFence({
    dir,
    node: "wd1",
    clock,
    logger: silentLogger,
    open: (o) => {
      const real = openSqliteLedger(o);
      return {
        ...real,
        file: real.file,
        observe: (peer) => real.observe(peer),
        inFlight: (peer) => real.inFlight(peer),
        finish: (...a) => real.finish(...a),
        endIncident: (...a) => real.endIncident(...a),
        close: () => real.close(),
        // Granted, then the node is stopped for 25 s (past the 20 s restart timeout).
        claim: async (c, w) => {
          const answer = await real.claim(c, w);
          clock.jump(25_000);
          return answer;
        },
      };
    },
  });
  t.after(() => fence.close());
  const runner = new EffectRunner({
    executor,
    store: new MemoryEffectStore(),
    clock,
    logger: silentLogger,
    steps: new StepLog(),
    fence,
    onFenced: (f) => fenced.push(f),
  });
  const p = peer();
  p.fenceSeen = runner.observe("api", p);
  const r = await runner.run("api", p, restart(1), signal);
  assert.deepEqual(executor.calls, []);
  assert.match(r.error ?? "", /held up past the step's timeout/);
  assert.equal(fenced.length, 1);
  assert.equal(runner.inFlight("api", p), undefined, "given up: no longer in flight");
});

test("a release after a reload to isolate: none is still taken in the ledger: the same release never runs twice", async (t) => {
  const { a, b } = twoNodes(t);
  const isolated = (): RemediatedPeer =>
    peer({
      spec: { restart: { command: { argv: ["/bin/true"] } }, isolate: "none" },
      state: { status: "ISOLATED", incidentId: "inc-1" },
      isolation: { method: "command", applied: ["/bin/cut"], release: { argv: ["/bin/uncut"] } },
      isolationId: "iso-1",
    });
  const release: RemediationEffect = { kind: "release", actionId: "rel-1", wasIsolated: true };
  assert.equal((await a.runner.run("api", isolated(), release, signal)).ok, true);
  assert.deepEqual(a.executor.calls, ["release:api"], "undone from the record");
  const again = await b.runner.run("api", isolated(), release, signal);
  assert.deepEqual(b.executor.calls, [], "the same release is not run a second time");
  assert.equal(again.fenced, true);
  assert.match(again.error ?? "", /already taken by wd1 pid/);
});
