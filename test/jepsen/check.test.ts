// The Jepsen checker (check.ts) on hand-written histories: each violation is found, and a
// clean history has none.
import { test } from "node:test";
import assert from "node:assert/strict";
import { check, type CheckInput, type StepLine } from "./check.js";
import { makeSchedule } from "./schedule.js";

const line = (kind: "start" | "end", node: string, at: number, pid: number): StepLine => ({
  kind,
  node,
  effect: `e${pid}`,
  at,
  pid,
});

const base = (over: Partial<CheckInput>): CheckInput => ({
  lines: [],
  episodes: [],
  healedAt: 10_000,
  checkedAt: 50_000,
  boundMs: 30_000,
  stepTimeoutMs: 10_000,
  ...over,
});

test("a clean history: one restart per failure, inside it", () => {
  assert.deepEqual(
    check(
      base({
        lines: [line("start", "a", 1_000, 1), line("end", "a", 2_000, 1)],
        episodes: [{ kind: "fail", start: 500, end: 2_000 }],
      }),
    ),
    [],
  );
});

test("two restarts in flight at once, and more than one for one failure", () => {
  const v = check(
    base({
      lines: [
        line("start", "a", 1_000, 1),
        line("start", "b", 1_500, 2),
        line("end", "a", 3_000, 1),
        line("end", "b", 3_500, 2),
      ],
      episodes: [{ kind: "fail", start: 500, end: 3_000 }],
    }),
  );
  assert.ok(
    v.some((x) => x.startsWith("two restarts in flight")),
    v.join("\n"),
  );
  assert.ok(
    v.some((x) => x.startsWith("2 restarts for one failure")),
    v.join("\n"),
  );
});

test("a restart against a healthy target", () => {
  const v = check(
    base({
      lines: [line("start", "a", 5_000, 1), line("end", "a", 6_000, 1)],
      episodes: [{ kind: "fail", start: 500, end: 2_000 }],
    }),
  );
  assert.ok(
    v.some((x) => x.startsWith("restart against a healthy target")),
    v.join("\n"),
  );
});

test("a failure not remediated within the bound after the faults healed", () => {
  const v = check(base({ episodes: [{ kind: "hang", start: 500 }] }));
  assert.ok(
    v.some((x) => x.includes("not remediated")),
    v.join("\n"),
  );
});

test("a restart by a node cut off from every other node for longer than a view lasts", () => {
  const lines = [line("start", "a", 5_000, 1), line("end", "a", 6_000, 1)];
  const episodes = [{ kind: "fail" as const, start: 500, end: 6_000 }];
  const quorum = (cutOffFrom: number, to?: number) =>
    check(
      base({
        lines,
        episodes,
        quorumWindowMs: 2_000,
        cutOff: [{ node: "a", from: cutOffFrom, ...(to === undefined ? {} : { to }) }],
      }),
    ).filter((x) => x.startsWith("restart without a quorum"));
  assert.equal(quorum(1_000).length, 1, "cut off since 4 s before the start, still cut off");
  assert.equal(quorum(1_000, 5_500).length, 1, "cut off from 1 s to 5.5 s: the start at 5 s was alone");
  assert.deepEqual(quorum(4_000), [], "cut off 1 s before the start: its last views may still count");
  assert.deepEqual(quorum(1_000, 4_500), [], "the cut healed before the start");
  const other = check(base({ lines, episodes, quorumWindowMs: 2_000, cutOff: [{ node: "b", from: 0 }] }));
  assert.deepEqual(other, [], "another node's cut-off says nothing about a");
});

test("schedules cover every kind of fault over a few seeds", () => {
  const kinds = new Set(
    Array.from({ length: 30 }, (_, i) => makeSchedule(i + 1).faults.map((f) => f.kind)).flat(),
  );
  for (const k of ["partition", "one-way", "flap", "node-kill", "node-stop", "kill-after-start"])
    assert.ok(kinds.has(k as never), `${k} appears in seeds 1-30`);
});

test("a schedule is the same for the same seed, and differs between seeds", () => {
  assert.deepEqual(makeSchedule(42), makeSchedule(42));
  assert.notDeepEqual(makeSchedule(42), makeSchedule(43));
});
