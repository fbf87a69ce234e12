// The escalation ladder as a table: one row per rule, plus property tests over random event sequences.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  initialState,
  step,
  type LadderEvent,
  type LadderState,
  type StepContext,
} from "../../src/core/ladder.js";
import { compilePolicy } from "../../src/core/options.js";

const K = 3;
const R = 3;
const policy = compilePolicy({ missedBeforeRestart: K, restartsBeforeIsolate: R, stableAfter: "10m" });
const T0 = Date.parse("2026-01-01T00:00:00Z");

function ctx(now = T0): StepContext {
  let n = 0;
  return { now, node: "n1", peer: "p", newId: () => `id${++n}-${now}` };
}
const ok: LadderEvent = { type: "probe-ok", durationMs: 5 };
const miss: LadderEvent = { type: "probe-miss", durationMs: 1, error: "connection refused" };
const held: LadderEvent = {
  type: "probe-miss",
  durationMs: 1,
  error: "connection refused",
  act: false,
  hold: "1 of 3 nodes confirm, 2 needed",
};
const inconclusive: LadderEvent = { type: "probe-inconclusive", durationMs: 1, error: "connect EMFILE" };

function st(over: Partial<LadderState>): LadderState {
  return { ...initialState(), ...over };
}

interface Row {
  rule: string;
  from: Partial<LadderState>;
  event: LadderEvent;
  status: LadderState["status"];
  missed?: number;
  restarts?: number;
  emits: string[];
  effects?: string[];
}

/** The outcome of a peer's first restart: OFFLINE, misses reset, restart_count 1, restart HIGH. */
const firstRestart: Omit<Row, "rule" | "from" | "event"> = {
  status: "OFFLINE",
  missed: 0,
  restarts: 1,
  emits: ["restart:HIGH"],
  effects: ["restart"],
};

const rows: Row[] = [
  { rule: "UNKNOWN + ok → HEALTHY, nothing emitted", from: {}, event: ok, status: "HEALTHY", emits: [] },
  {
    rule: "HEALTHY + ok with an open incident → HEALTHY, recovered INFO",
    from: { status: "DEGRADED", missed: 1, incidentId: "i1", alerted: true },
    event: ok,
    status: "HEALTHY",
    missed: 0,
    emits: ["recovered:INFO"],
  },
  {
    rule: "HEALTHY + miss 1 → DEGRADED, alert MEDIUM",
    from: { status: "HEALTHY" },
    event: miss,
    status: "DEGRADED",
    missed: 1,
    emits: ["alert:MEDIUM"],
  },
  {
    rule: "UNKNOWN + miss 1 → DEGRADED, alert MEDIUM",
    from: {},
    event: miss,
    status: "DEGRADED",
    missed: 1,
    emits: ["alert:MEDIUM"],
  },
  {
    rule: "DEGRADED + miss 2 (< K) → DEGRADED, no second alert in the incident",
    from: { status: "DEGRADED", missed: 1, incidentId: "i1", alerted: true },
    event: miss,
    status: "DEGRADED",
    missed: 2,
    emits: [],
  },
  {
    rule: "DEGRADED + miss K, restarts < R → OFFLINE, restart_count+1, missed 0, restart HIGH",
    from: { status: "DEGRADED", missed: K - 1, incidentId: "i1", alerted: true },
    event: miss,
    ...firstRestart,
  },
  {
    rule: "OFFLINE + ok → HEALTHY, recovered INFO",
    from: { status: "OFFLINE", restarts: 1, incidentId: "i1", alerted: true },
    event: ok,
    status: "HEALTHY",
    restarts: 1,
    emits: ["recovered:INFO"],
  },
  {
    rule: "OFFLINE + miss 1..K-1 → OFFLINE, nothing",
    from: { status: "OFFLINE", restarts: 1, incidentId: "i1", alerted: true },
    event: miss,
    status: "OFFLINE",
    missed: 1,
    restarts: 1,
    emits: [],
  },
  {
    rule: "OFFLINE + miss K, restarts < R → OFFLINE, restart_count+1, restart HIGH",
    from: { status: "OFFLINE", missed: K - 1, restarts: 1, incidentId: "i1", alerted: true },
    event: miss,
    status: "OFFLINE",
    missed: 0,
    restarts: 2,
    emits: ["restart:HIGH"],
    effects: ["restart"],
  },
  {
    rule: "OFFLINE + miss K, restarts = R → ISOLATED, isolate CRITICAL then alert_architect CRITICAL",
    from: { status: "OFFLINE", missed: K - 1, restarts: R, incidentId: "i1", alerted: true },
    event: miss,
    status: "ISOLATED",
    restarts: R,
    emits: ["isolate:CRITICAL", "alert_architect:CRITICAL"],
    effects: ["isolate"],
  },
  {
    rule: "ISOLATED + miss → ISOLATED, nothing",
    from: { status: "ISOLATED", restarts: R, incidentId: "i1", isolatedAt: T0 },
    event: miss,
    status: "ISOLATED",
    emits: [],
  },
  {
    rule: "ISOLATED + ok → ISOLATED, nothing (results shown)",
    from: { status: "ISOLATED", restarts: R, incidentId: "i1", isolatedAt: T0 },
    event: ok,
    status: "ISOLATED",
    emits: [],
  },
  {
    rule: "ISOLATED + release → UNKNOWN, counters 0, isolation undone, release INFO",
    from: { status: "ISOLATED", restarts: R, incidentId: "i1", isolatedAt: T0 },
    event: { type: "release" },
    status: "UNKNOWN",
    missed: 0,
    restarts: 0,
    emits: ["release:INFO"],
    effects: ["release"],
  },
  {
    rule: "silenced + miss K → DEGRADED, never escalated",
    from: { status: "HEALTHY", missed: K - 1, silencedUntil: T0 + 60_000 },
    event: miss,
    status: "DEGRADED",
    missed: K,
    emits: [],
  },
  {
    rule: "observe-only miss (mesh: not the owner / not confirmed) before K → DEGRADED, nothing emitted or done",
    from: { status: "DEGRADED", missed: K - 2, alerted: true },
    event: { type: "probe-miss", durationMs: 1, error: "refused", act: false },
    status: "DEGRADED",
    missed: K - 1,
    emits: [],
  },
  {
    rule: "observe-only miss past K → DEGRADED, remediation_observed (INFO) journaled, nothing done",
    from: { status: "DEGRADED", missed: K - 1 },
    event: { type: "probe-miss", durationMs: 1, error: "refused", act: false, observe: "wd-b remediates it" },
    status: "DEGRADED",
    missed: K,
    emits: ["remediation_observed:INFO"],
  },
  {
    rule: "observe-only miss past K, already journaled in this incident → nothing emitted",
    from: { status: "DEGRADED", missed: K, observed: true, incidentId: "i-1" },
    event: { type: "probe-miss", durationMs: 1, error: "refused", act: false },
    status: "DEGRADED",
    missed: K + 1,
    emits: [],
  },
  {
    rule: "a stalled step of another node: remediation_stalled (HIGH) once, and this node takes over",
    from: { status: "DEGRADED", missed: K - 1 },
    event: { ...miss, stalled: "wd-b started restart 40000 ms ago and has not finished it" },
    status: "OFFLINE",
    restarts: 1,
    emits: ["remediation_stalled:HIGH", "restart:HIGH"],
    effects: ["restart"],
  },
  {
    rule: "owner again after observing: miss past K restarts at once",
    from: { status: "DEGRADED", missed: K + 2 },
    event: miss,
    ...firstRestart,
  },
  {
    rule: "held miss below K → DEGRADED, counted, the first miss reported (MEDIUM) as by any watcher",
    from: { status: "HEALTHY" },
    event: held,
    status: "DEGRADED",
    missed: 1,
    emits: ["alert:MEDIUM"],
  },
  {
    rule: "quiet first miss (joined a failing dependency's incident, or a storm) → DEGRADED, counted, nothing emitted",
    from: { status: "HEALTHY" },
    event: { type: "probe-miss", durationMs: 1, error: "refused", act: false, quiet: true },
    status: "DEGRADED",
    missed: 1,
    emits: [],
  },
  {
    rule: "quiet miss past K → DEGRADED, no remediation_observed (the root's incident speaks for it)",
    from: { status: "DEGRADED", missed: K - 1, alerted: true },
    event: { type: "probe-miss", durationMs: 1, error: "refused", act: false, quiet: true },
    status: "DEGRADED",
    missed: K,
    emits: [],
  },
  {
    rule: "observe-only first miss (mesh: another node remediates) → DEGRADED, MEDIUM alert once per incident",
    from: { status: "HEALTHY" },
    event: { type: "probe-miss", durationMs: 1, error: "refused", act: false },
    status: "DEGRADED",
    missed: 1,
    emits: ["alert:MEDIUM"],
  },
  {
    rule: "held miss where a restart was due → stays DEGRADED, remediation_held HIGH, nothing done",
    from: { status: "DEGRADED", missed: K - 1, incidentId: "i1", alerted: true },
    event: held,
    status: "DEGRADED",
    missed: K,
    restarts: 0,
    emits: ["remediation_held:HIGH"],
  },
  {
    rule: "held again in the same incident → nothing more emitted",
    from: { status: "DEGRADED", missed: K, incidentId: "i1", alerted: true, held: true },
    event: held,
    status: "DEGRADED",
    missed: K + 1,
    emits: [],
  },
  {
    rule: "OFFLINE + held where isolation was due → stays OFFLINE, remediation_held HIGH, no isolate",
    from: { status: "OFFLINE", missed: K - 1, restarts: R, incidentId: "i1", alerted: true },
    event: held,
    status: "OFFLINE",
    missed: K,
    restarts: R,
    emits: ["remediation_held:HIGH"],
  },
  {
    rule: "held, then the peer answers → HEALTHY, recovered INFO closes the incident",
    from: { status: "DEGRADED", missed: K, incidentId: "i1", held: true },
    event: ok,
    status: "HEALTHY",
    missed: 0,
    emits: ["recovered:INFO"],
  },
  {
    rule: "held while silenced → nothing emitted",
    from: { status: "DEGRADED", missed: K - 1, silencedUntil: T0 + 60_000 },
    event: held,
    status: "DEGRADED",
    missed: K,
    emits: [],
  },
  {
    rule: "ISOLATED + held → ISOLATED, nothing",
    from: { status: "ISOLATED", restarts: R, incidentId: "i1", isolatedAt: T0 },
    event: held,
    status: "ISOLATED",
    emits: [],
  },
  {
    rule: "HEALTHY + inconclusive → HEALTHY, not a miss, nothing",
    from: { status: "HEALTHY", healthySince: T0, okStreak: 1 },
    event: inconclusive,
    status: "HEALTHY",
    missed: 0,
    emits: [],
  },
  {
    rule: "DEGRADED + inconclusive at K-1 → DEGRADED, missed unchanged, no restart",
    from: { status: "DEGRADED", missed: K - 1, incidentId: "i1", alerted: true },
    event: inconclusive,
    status: "DEGRADED",
    missed: K - 1,
    restarts: 0,
    emits: [],
  },
  {
    rule: "OFFLINE + inconclusive at K-1, restarts = R → OFFLINE, no isolate",
    from: { status: "OFFLINE", missed: K - 1, restarts: R, incidentId: "i1", alerted: true },
    event: inconclusive,
    status: "OFFLINE",
    missed: K - 1,
    restarts: R,
    emits: [],
  },
  {
    rule: "ISOLATED + inconclusive → ISOLATED, nothing",
    from: { status: "ISOLATED", restarts: R, incidentId: "i1", isolatedAt: T0 },
    event: inconclusive,
    status: "ISOLATED",
    emits: [],
  },
  {
    rule: "expired silence + miss → escalates again",
    from: { status: "HEALTHY", silencedUntil: T0 - 1 },
    event: miss,
    status: "DEGRADED",
    emits: ["alert:MEDIUM"],
  },
];

describe("ladder: one row per rule of the escalation ladder (K=3, R=3)", () => {
  for (const r of rows) {
    test(r.rule, () => {
      const out = step(st(r.from), r.event, policy, ctx());
      assert.equal(out.state.status, r.status);
      if (r.missed !== undefined) assert.equal(out.state.missed, r.missed);
      if (r.restarts !== undefined) assert.equal(out.state.restarts, r.restarts);
      const emitted = out.effects.flatMap((e) =>
        e.kind === "emit" ? [`${e.action.action}:${e.action.severity}`] : [],
      );
      assert.deepEqual(emitted, r.emits);
      const fx = out.effects.flatMap((e) => (e.kind === "emit" ? [] : [e.kind]));
      assert.deepEqual(fx, r.effects ?? []);
      for (const e of out.effects) {
        if (e.kind !== "emit") continue;
        assert.equal(e.action.peer_name, "p");
        assert.equal(e.action.node, "n1");
        assert.equal(e.action.timestamp, new Date(T0).toISOString());
        assert.ok(e.action.id.length > 0);
        assert.ok(e.action.reason.includes("p"));
      }
    });
  }

  test("the restart effect carries the id of its action (idempotency key) and the attempt", () => {
    const out = step(st({ status: "DEGRADED", missed: K - 1, incidentId: "i1" }), miss, policy, ctx());
    const emit = out.effects.find((e) => e.kind === "emit");
    const fx = out.effects.find((e) => e.kind === "restart");
    assert.ok(emit?.kind === "emit" && fx?.kind === "restart");
    assert.equal(fx.actionId, emit.action.id);
    assert.equal(fx.attempt, 1);
  });

  test("an incident id is opened on the first miss and kept until recovery", () => {
    let s = initialState();
    s = step(s, miss, policy, ctx()).state;
    const incident = s.incidentId;
    assert.ok(incident);
    s = step(s, miss, policy, ctx()).state;
    assert.equal(s.incidentId, incident);
    const rec = step(s, ok, policy, ctx());
    assert.equal(rec.state.incidentId, null);
    const r = rec.effects[0];
    assert.ok(r?.kind === "emit" && r.action.incident_id === incident);
  });

  test("seed counts: 9 misses → 3 restarts, 3 more → isolated", () => {
    let s = initialState();
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) {
      const out = step(s, miss, policy, ctx());
      s = out.state;
      for (const e of out.effects) if (e.kind === "emit") seen.push(e.action.action);
    }
    assert.equal(s.status, "ISOLATED");
    assert.deepEqual(seen, ["alert", "restart", "restart", "restart", "isolate", "alert_architect"]);
  });

  test("restart_count returns to 0 after stable_after of HEALTHY", () => {
    let s = st({ status: "OFFLINE", restarts: 2, incidentId: "i1" });
    s = step(s, ok, policy, ctx(T0)).state;
    assert.equal(s.restarts, 2);
    s = step(s, ok, policy, ctx(T0 + 599_000)).state;
    assert.equal(s.restarts, 2);
    s = step(s, { type: "tick" }, policy, ctx(T0 + 600_000)).state;
    assert.equal(s.restarts, 0);
  });

  test("a miss breaks the HEALTHY streak used for stable_after", () => {
    let s = st({ status: "OFFLINE", restarts: 2, incidentId: "i1" });
    s = step(s, ok, policy, ctx(T0)).state;
    s = step(s, miss, policy, ctx(T0 + 300_000)).state;
    s = step(s, ok, policy, ctx(T0 + 310_000)).state;
    s = step(s, { type: "tick" }, policy, ctx(T0 + 600_000)).state;
    assert.equal(s.restarts, 2, "only 290 s of the new streak have passed");
  });

  test("successThreshold: recovery needs N consecutive oks", () => {
    const p2 = compilePolicy({ successThreshold: 2 });
    let s = st({ status: "OFFLINE", restarts: 1, incidentId: "i1" });
    let out = step(s, ok, p2, ctx());
    assert.equal(out.state.status, "OFFLINE");
    assert.equal(out.effects.length, 0);
    s = out.state;
    out = step(s, ok, p2, ctx());
    assert.equal(out.state.status, "HEALTHY");
    assert.equal(out.effects.length, 1);
  });

  test("K = 1: the first miss restarts; R = 0: K misses isolate directly", () => {
    const k1 = compilePolicy({ missedBeforeRestart: 1 });
    const a = step(initialState(), miss, k1, ctx());
    assert.equal(a.state.status, "OFFLINE");
    const r0 = compilePolicy({ restartsBeforeIsolate: 0, missedBeforeRestart: 1 });
    const b = step(initialState(), miss, r0, ctx());
    assert.equal(b.state.status, "ISOLATED");
  });

  test("operator restart emits a restart effect without counting toward R; refused while ISOLATED", () => {
    const out = step(st({ status: "HEALTHY" }), { type: "operator-restart" }, policy, ctx());
    assert.equal(out.state.restarts, 0);
    assert.deepEqual(
      out.effects.map((e) => e.kind),
      ["emit", "restart"],
    );
    const iso = step(st({ status: "ISOLATED" }), { type: "operator-restart" }, policy, ctx());
    assert.equal(iso.effects.length, 0);
  });

  test("remediation_held names the reason and the step held back, in the open incident", () => {
    const out = step(st({ status: "DEGRADED", missed: K - 1, incidentId: "i1" }), held, policy, ctx());
    const e = out.effects[0];
    assert.ok(e?.kind === "emit");
    assert.equal(e.action.incident_id, "i1");
    assert.match(e.action.reason, /restart attempt 1 of 3 is held: 1 of 3 nodes confirm, 2 needed/);
    assert.match(e.action.reason, /connection refused/);
    assert.equal(out.state.held, true);
  });

  test("a held incident opened without an alert gets an incident id; acting later keeps it", () => {
    let s = initialState();
    for (let i = 0; i < K; i++) s = step(s, held, policy, ctx()).state;
    assert.ok(s.incidentId);
    assert.equal(s.held, true);
    const out = step(s, miss, policy, ctx());
    assert.equal(out.state.status, "OFFLINE");
    assert.equal(out.state.incidentId, s.incidentId);
  });

  test("quiet misses (another incident's) open no incident and never step; the peer's own misses after it alert and count afresh", () => {
    const quiet: LadderEvent = { type: "probe-miss", durationMs: 1, error: "refused", quiet: true };
    let s = st({ status: "HEALTHY" });
    for (let i = 0; i < K + 2; i++) {
      const out = step(s, quiet, policy, ctx());
      assert.deepEqual(out.effects, [], `quiet miss ${i + 1}`);
      s = out.state;
    }
    assert.equal(s.status, "DEGRADED");
    assert.equal(s.missed, K + 2);
    assert.equal(s.incidentId, null);
    assert.equal(s.alerted, false);
    // That incident is over: counters start afresh (as after a storm or a dependency's recovery).
    const own = step({ ...s, missed: 0 }, miss, policy, ctx());
    assert.deepEqual(
      own.effects.map((e) => (e.kind === "emit" ? `${e.action.action}:${e.action.severity}` : e.kind)),
      ["alert:MEDIUM"],
    );
    assert.ok(own.state.incidentId);
  });

  test("an inconclusive probe is shown as last_error 'inconclusive: …' and changes no row", () => {
    const from = st({ status: "DEGRADED", missed: 2, incidentId: "i1", alerted: true, okStreak: 0 });
    const out = step(from, inconclusive, policy, ctx());
    assert.equal(out.state.lastError, "inconclusive: connect EMFILE");
    assert.deepEqual({ ...out.state, lastError: from.lastError }, from);
  });

  test("state written before holds existed (no `held` field) holds once", () => {
    const old = st({ status: "DEGRADED", missed: K - 1, incidentId: "i1" });
    delete old.held;
    const out = step(old, held, policy, ctx());
    assert.deepEqual(
      out.effects.map((e) => (e.kind === "emit" ? e.action.action : e.kind)),
      ["remediation_held"],
    );
  });

  test("the reducer is pure: the input state is not mutated", () => {
    const s = st({ status: "DEGRADED", missed: 2, incidentId: "i1" });
    const copy = structuredClone(s);
    step(s, miss, policy, ctx());
    assert.deepEqual(s, copy);
  });
});

describe("ladder invariants over random event sequences", () => {
  const event = fc.oneof(
    { weight: 5, arbitrary: fc.constant<LadderEvent>(miss) },
    { weight: 3, arbitrary: fc.constant<LadderEvent>(ok) },
    { weight: 1, arbitrary: fc.constant<LadderEvent>({ type: "release" }) },
    { weight: 1, arbitrary: fc.constant<LadderEvent>({ type: "tick" }) },
    { weight: 2, arbitrary: fc.constant<LadderEvent>(held) },
    { weight: 2, arbitrary: fc.constant<LadderEvent>(inconclusive) },
  );
  const params = fc.record({ k: fc.integer({ min: 1, max: 5 }), r: fc.integer({ min: 0, max: 4 }) });

  test("no restart while ISOLATED; ≤ R restarts, one alert, ≤ 1 isolate per incident; counters ≥ 0; release resets", () => {
    fc.assert(
      fc.property(
        params,
        fc.array(fc.tuple(event, fc.integer({ min: 0, max: 120_000 })), { maxLength: 200 }),
        (pp, evs) => {
          const pol = compilePolicy({
            missedBeforeRestart: pp.k,
            restartsBeforeIsolate: pp.r,
            stableAfter: "10m",
          });
          let s = initialState();
          let now = T0;
          let n = 0;
          const perIncident = new Map<
            string,
            { restarts: number; alerts: number; isolates: number; held: number }
          >();
          for (const [e, dt] of evs) {
            now += dt;
            const before = s;
            const out = step(s, e, pol, { now, node: "n", peer: "p", newId: () => `x${++n}` });
            s = out.state;
            for (const fx of out.effects) {
              if (fx.kind === "restart") assert.notEqual(before.status, "ISOLATED", "restart while ISOLATED");
              if (fx.kind !== "emit") continue;
              const id = fx.action.incident_id ?? "none";
              const c = perIncident.get(id) ?? { restarts: 0, alerts: 0, isolates: 0, held: 0 };
              if (fx.action.action === "restart") c.restarts++;
              if (fx.action.action === "alert") c.alerts++;
              if (fx.action.action === "isolate") c.isolates++;
              if (fx.action.action === "remediation_held") c.held++;
              perIncident.set(id, c);
            }
            assert.ok(s.missed >= 0 && s.restarts >= 0 && s.okStreak >= 0);
            assert.ok(s.restarts <= pol.restartsBeforeIsolate);
            if (e.type === "release") {
              assert.equal(s.status, "UNKNOWN");
              assert.equal(s.missed, 0);
              assert.equal(s.restarts, 0);
              assert.equal(s.incidentId, null);
            }
            if (before.status === "ISOLATED" && e.type !== "release") assert.equal(s.status, "ISOLATED");
            if (e.type === "probe-miss" && e.act === false) {
              assert.ok(
                out.effects.every((fx) => fx.kind === "emit"),
                "a held miss does nothing to the peer",
              );
            }
            if (e.type === "probe-inconclusive") {
              assert.deepEqual(out.effects, [], "an inconclusive probe emits nothing");
              assert.equal(s.status, before.status);
              assert.equal(s.missed, before.missed);
              assert.equal(s.restarts, before.restarts);
            }
          }
          for (const c of perIncident.values()) {
            assert.ok(c.restarts <= pol.restartsBeforeIsolate, `restarts ${c.restarts} > R`);
            assert.ok(c.alerts <= 1, "more than one alert in an incident");
            assert.ok(c.isolates <= 1, "more than one isolate in an incident");
            assert.ok(c.held <= 1, "more than one remediation_held in an incident");
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
