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

test("a schedule is the same for the same seed, and differs between seeds", () => {
  assert.deepEqual(makeSchedule(42), makeSchedule(42));
  assert.notDeepEqual(makeSchedule(42), makeSchedule(43));
});
