// The step ledger's rules as a table: each row is what the ledger holds about a peer, a
// claim, the time, and what must be answered. Pure (rules.ts); time is a number.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decideClaim,
  type ClaimContext,
  type PeerRow,
  type StepClaim,
  type LedgerTime,
  type StepRow,
} from "../../src/ledger/rules.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");

const claim = (over: Partial<StepClaim> = {}): StepClaim => ({
  peer: "api",
  incident: "inc-1",
  step: "restart#2",
  effectId: "eff-2",
  holder: "wd1 pid 10 boot b",
  timeoutMs: 30_000,
  seen: 1,
  ...over,
});

const peerRow = (token: number, over: Partial<PeerRow> = {}): PeerRow => ({
  token,
  external: null,
  lastBy: "wd2 pid 20 boot b",
  lastWhat: "restart#1 of incident inc-1",
  ...over,
});

const stepRow = (over: Partial<StepRow> = {}): StepRow => ({
  incident: "inc-1",
  step: "restart#1",
  effectId: "eff-1",
  token: 1,
  holder: "wd2 pid 20 boot b",
  startedAt: T0,
  deadline: T0 + 30_000,
  finishedAt: null,
  outcome: null,
  // Rows of an older ledger file (judged on the wall deadline) unless a row sets them.
  boot: null,
  deadlineMono: null,
  ...over,
});

/** The time `ms` (epoch): the host's monotonic clock read 0 at T0, on boot "b". */
const at = (ms: number): LedgerTime => ({ wall: ms, mono: ms - T0, boot: "b" });

const ctx = (over: Partial<ClaimContext> = {}): ClaimContext => ({
  peer: undefined,
  existing: undefined,
  unfinished: [],
  ended: undefined,
  ...over,
});

interface Row {
  name: string;
  ctx: ClaimContext;
  claim: StepClaim;
  now: number;
  /** The token granted, or the rule that refuses it. */
  want: number | string;
  /** A refusal names this holder. */
  by?: string;
}

const ROWS: Row[] = [
  { name: "first step of a peer", ctx: ctx(), claim: claim({ seen: 0 }), now: T0, want: 1 },
  {
    name: "next step once the previous one finished",
    ctx: ctx({ peer: peerRow(1) }),
    claim: claim({ seen: 1 }),
    now: T0 + 5_000,
    want: 2,
  },
  {
    name: "the same step again (another node, or this one after a crash)",
    ctx: ctx({ peer: peerRow(1), existing: stepRow({ step: "restart#2", finishedAt: T0 + 1 }) }),
    claim: claim(),
    now: T0 + 5_000,
    want: "taken",
    by: "wd2 pid 20 boot b",
  },
  {
    name: "a step already taken and never finished is taken even past its deadline",
    ctx: ctx({ peer: peerRow(1), existing: stepRow({ step: "restart#2" }) }),
    claim: claim(),
    now: T0 + 60_000,
    want: "taken",
  },
  {
    name: "a step in flight blocks every later step of the peer",
    ctx: ctx({ peer: peerRow(1), unfinished: [stepRow()] }),
    claim: claim(),
    now: T0 + 29_999,
    want: "in-flight",
    by: "wd2 pid 20 boot b",
  },
  {
    name: "in flight blocks a step of another incident too",
    ctx: ctx({ peer: peerRow(1), unfinished: [stepRow()] }),
    claim: claim({ incident: "inc-9", step: "restart#1" }),
    now: T0 + 1_000,
    want: "in-flight",
  },
  {
    name: "a holder frozen (or dead) past its step's timeout no longer blocks",
    ctx: ctx({ peer: peerRow(1), unfinished: [stepRow()] }),
    claim: claim(),
    now: T0 + 30_000,
    want: 2,
  },
  {
    name: "evidence older than the latest token (a node paused between verdict and action)",
    ctx: ctx({ peer: peerRow(3, { lastBy: "wd3 pid 30 boot b" }) }),
    claim: claim({ seen: 2 }),
    now: T0,
    want: "stale-token",
    by: "wd3 pid 30 boot b",
  },
  {
    name: "a claim without a token read is not checked against it",
    ctx: ctx({ peer: peerRow(3) }),
    claim: claim({ seen: undefined }),
    now: T0,
    want: 4,
  },
  {
    name: "a step of an incident that ended",
    ctx: ctx({ peer: peerRow(2), ended: { endedAt: T0, by: "wd1 pid 10 boot b", why: "api is HEALTHY" } }),
    claim: claim({ seen: 2 }),
    now: T0 + 1,
    want: "incident-ended",
    by: "wd1 pid 10 boot b",
  },
  {
    name: "external token older than the latest accepted",
    ctx: ctx({ peer: peerRow(1, { external: 120 }) }),
    claim: claim({ external: 119 }),
    now: T0,
    want: "stale-external",
  },
  {
    name: "external token equal to the latest accepted",
    ctx: ctx({ peer: peerRow(1, { external: 120 }) }),
    claim: claim({ external: 120 }),
    now: T0,
    want: 2,
  },
  {
    name: "external token newer than the latest accepted",
    ctx: ctx({ peer: peerRow(1, { external: 120 }) }),
    claim: claim({ external: 121 }),
    now: T0,
    want: 2,
  },
  {
    name: "a crash resume re-runs its own unfinished effect",
    ctx: ctx({
      peer: peerRow(1),
      existing: stepRow({ step: "isolate", effectId: "eff-i" }),
      unfinished: [stepRow({ step: "isolate", effectId: "eff-i" })],
    }),
    claim: claim({ step: "isolate", effectId: "eff-i", resume: true, seen: undefined }),
    now: T0 + 1_000,
    want: 2,
  },
  {
    name: "a crash resume re-runs its own effect that finished in the ledger but was never recorded (killed in between)",
    ctx: ctx({
      peer: peerRow(2),
      existing: stepRow({
        step: "isolate",
        effectId: "eff-i",
        token: 2,
        finishedAt: T0 + 500,
        outcome: "ok",
      }),
    }),
    claim: claim({ step: "isolate", effectId: "eff-i", resume: true, seen: undefined }),
    now: T0 + 1_000,
    want: 3,
  },
  {
    name: "a resume of another node's effect is refused",
    ctx: ctx({ peer: peerRow(1), existing: stepRow({ step: "isolate", effectId: "eff-other" }) }),
    claim: claim({ step: "isolate", effectId: "eff-i", resume: true }),
    now: T0 + 1_000,
    want: "taken",
  },
  {
    name: "a step in flight by a node whose wall clock is 10 min behind still blocks: judged on the host's monotonic clock",
    ctx: ctx({
      peer: peerRow(1),
      unfinished: [
        stepRow({ startedAt: T0 - 600_000, deadline: T0 - 570_000, boot: "b", deadlineMono: 30_000 }),
      ],
    }),
    claim: claim(),
    now: T0 + 5_000,
    want: "in-flight",
    by: "wd2 pid 20 boot b",
  },
  {
    name: "a step past its monotonic deadline no longer blocks, whatever its wall deadline says (a clock set back)",
    ctx: ctx({
      peer: peerRow(1),
      unfinished: [stepRow({ deadline: T0 + 600_000, boot: "b", deadlineMono: 30_000 })],
    }),
    claim: claim(),
    now: T0 + 30_001,
    want: 2,
  },
  {
    name: "a step of an earlier boot never blocks: nothing of it runs since the machine restarted",
    ctx: ctx({
      peer: peerRow(1),
      unfinished: [stepRow({ deadline: T0 + 600_000, boot: "old", deadlineMono: 1e12 })],
    }),
    claim: claim(),
    now: T0 + 1,
    want: 2,
  },
];

for (const row of ROWS) {
  test(`ledger rule: ${row.name}`, () => {
    const d = decideClaim(row.ctx, row.claim, at(row.now));
    if (typeof row.want === "number") {
      assert.deepEqual(d, { granted: true, token: row.want });
      return;
    }
    assert.equal(d.granted, false, JSON.stringify(d));
    if (d.granted) return;
    assert.equal(d.rule, row.want, d.reason);
    if (row.by) {
      assert.equal(d.by, row.by);
      assert.ok(d.reason.includes(row.by), `the reason names ${row.by}: ${d.reason}`);
    }
  });
}

test("ledger rule: an operator's release is recorded past a step in flight and an ended incident, not taken twice", () => {
  const inFlight = ctx({
    peer: peerRow(3),
    unfinished: [stepRow()],
    ended: { endedAt: T0, by: "x", why: "y" },
  });
  const release = claim({ step: "release@r1", effectId: "r1", force: true, seen: undefined });
  assert.deepEqual(decideClaim(inFlight, release, at(T0 + 1)), { granted: true, token: 4 });
  const again = decideClaim(
    ctx({ peer: peerRow(4), existing: stepRow({ step: "release@r1", effectId: "r1", finishedAt: T0 + 2 }) }),
    release,
    at(T0 + 3),
  );
  assert.equal(again.granted ? "granted" : again.rule, "taken");
});
