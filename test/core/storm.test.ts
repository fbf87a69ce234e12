// The storm guard's pure rules: when many watched peers fail within one window, and what
// the failing peers share. Time is a number.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  sharedByFailing,
  stormPolicy,
  stormProblem,
  stormReason,
  stormVerdict,
} from "../../src/core/storm.js";

const P = stormPolicy(); // 0.5, 3
const NOW = 100_000;
const WINDOW = 1_000;
const misses = (...rows: Array<[string, number]>) => new Map(rows);

const rows: Array<{
  rule: string;
  miss: Map<string, number>;
  watched: number;
  storm: boolean;
  failing: string[];
}> = [
  { rule: "no failure, no storm", miss: misses(), watched: 10, storm: false, failing: [] },
  {
    rule: "half of 6 (3) within the window is a storm",
    miss: misses(["a", NOW], ["b", NOW - 500], ["c", NOW - 1_000]),
    watched: 6,
    storm: true,
    failing: ["a", "b", "c"],
  },
  {
    rule: "a miss older than the window does not count",
    miss: misses(["a", NOW], ["b", NOW - 500], ["c", NOW - 1_001]),
    watched: 6,
    storm: false,
    failing: ["a", "b"],
  },
  {
    rule: "3 of 7 is below half",
    miss: misses(["a", NOW], ["b", NOW], ["c", NOW]),
    watched: 7,
    storm: false,
    failing: ["a", "b", "c"],
  },
  {
    rule: "2 of 2 is all, but fewer than min_peers",
    miss: misses(["a", NOW], ["b", NOW]),
    watched: 2,
    storm: false,
    failing: ["a", "b"],
  },
  {
    rule: "3 of 3: every peer down is a storm",
    miss: misses(["c", NOW], ["a", NOW], ["b", NOW]),
    watched: 3,
    storm: true,
    failing: ["a", "b", "c"],
  },
  {
    rule: "500 of 1000 is a storm; 10 of 1000 is not",
    miss: new Map(
      Array.from({ length: 500 }, (_, i) => [`p${String(i).padStart(4, "0")}`, NOW] as [string, number]),
    ),
    watched: 1_000,
    storm: true,
    failing: Array.from({ length: 500 }, (_, i) => `p${String(i).padStart(4, "0")}`),
  },
];

for (const row of rows)
  test(`storm: ${row.rule}`, () => {
    const v = stormVerdict(row.miss, row.watched, NOW, WINDOW, P);
    assert.equal(v.storm, row.storm);
    assert.deepEqual(v.failing, row.failing);
    assert.equal(v.watched, row.watched);
  });

test("storm: custom thresholds (fraction 0.55 as Kubernetes, min 1)", () => {
  const p = stormPolicy({ fraction: 0.55, minPeers: 1 });
  const m = misses(["a", NOW], ["b", NOW], ["c", NOW], ["d", NOW], ["e", NOW]);
  assert.equal(stormVerdict(m, 10, NOW, WINDOW, p).storm, false, "5 of 10 < 55 %");
  m.set("f", NOW);
  assert.equal(stormVerdict(m, 10, NOW, WINDOW, p).storm, true, "6 of 10 >= 55 %");
});

test("storm: what the failing peers share, most shared first; nothing shared by one peer alone", () => {
  const shared = sharedByFailing([
    { name: "web1", hostPort: "127.0.0.1:8080", dependsOn: ["db"] },
    { name: "web2", hostPort: "127.0.0.1:8080", dependsOn: ["db"] },
    { name: "api", hostPort: "127.0.0.1:9090", dependsOn: ["db"] },
    { name: "job1", check: "exec /usr/bin/check-job" },
    { name: "job2", check: "exec /usr/bin/check-job" },
  ]);
  assert.deepEqual(shared, [
    "same dependency db (api, web1, web2)",
    "same check exec /usr/bin/check-job (job1, job2)",
    "same host:port 127.0.0.1:8080 (web1, web2)",
  ]);
  assert.deepEqual(
    sharedByFailing([
      { name: "a", hostPort: "h:1" },
      { name: "b", hostPort: "h:2" },
    ]),
    [],
  );
});

test("storm: the reason names the count, the peers, what they share and when remediation resumes", () => {
  const v = stormVerdict(misses(["a", NOW], ["b", NOW], ["c", NOW]), 4, NOW, WINDOW, P);
  assert.equal(
    stormReason(v, ["same host:port h:1 (a, b)"], WINDOW, P),
    "3 of 4 watched peers failed within 1000 ms: a, b, c; they share same host:port h:1 (a, b) — a shared cause is likely: every restart and isolation is held until fewer than 50 % (or fewer than 3) fail",
  );
});

test("storm: thresholds out of range are named", () => {
  assert.deepEqual(stormProblem({ fraction: 0 })?.field, "fraction");
  assert.deepEqual(stormProblem({ fraction: 1.5 })?.field, "fraction");
  assert.deepEqual(stormProblem({ minPeers: 0 })?.field, "minPeers");
  assert.deepEqual(stormProblem({ minPeers: 2.5 })?.field, "minPeers");
  assert.equal(stormProblem({ fraction: 1, minPeers: 1 }), undefined);
});
