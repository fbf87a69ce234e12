// depends_on's pure rules: cycles (named as a path), the failing root of a peer, and who
// depends on a peer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { dependencyCycle, dependentsOf, failingRoot, isFailingStatus } from "../../src/core/dependencies.js";

const g = (o: Record<string, string[]>) => new Map(Object.entries(o));

const cycles: Array<{ rule: string; graph: Record<string, string[]>; want: string[] | null }> = [
  { rule: "no dependencies", graph: {}, want: null },
  { rule: "a chain", graph: { web: ["api"], api: ["db"] }, want: null },
  { rule: "a diamond is no cycle", graph: { web: ["api", "cache"], api: ["db"], cache: ["db"] }, want: null },
  { rule: "two peers on each other", graph: { a: ["b"], b: ["a"] }, want: ["a", "b", "a"] },
  {
    rule: "a longer loop",
    graph: { web: ["api"], api: ["db"], db: ["web"] },
    want: ["api", "db", "web", "api"],
  },
  {
    rule: "a loop below an acyclic start",
    graph: { x: ["a"], a: ["b"], b: ["c"], c: ["b"] },
    want: ["b", "c", "b"],
  },
  { rule: "itself", graph: { a: ["a"] }, want: ["a", "a"] },
];
for (const row of cycles)
  test(`cycle: ${row.rule}`, () => assert.deepEqual(dependencyCycle(g(row.graph)), row.want));

const roots: Array<{
  rule: string;
  graph: Record<string, string[]>;
  failing: string[];
  peer: string;
  want: string | null;
}> = [
  { rule: "no dependency fails", graph: { web: ["db"] }, failing: ["web"], peer: "web", want: null },
  { rule: "its dependency fails", graph: { web: ["db"] }, failing: ["db", "web"], peer: "web", want: "db" },
  {
    rule: "the deepest failing dependency is the root",
    graph: { web: ["api"], api: ["db"] },
    failing: ["api", "db"],
    peer: "web",
    want: "db",
  },
  {
    rule: "a failing dependency below a healthy one is not this peer's root",
    graph: { web: ["api"], api: ["db"] },
    failing: ["db"],
    peer: "web",
    want: null,
  },
  {
    rule: "first failing of several",
    graph: { web: ["cache", "db"] },
    failing: ["db"],
    peer: "web",
    want: "db",
  },
  {
    rule: "a cycle is not followed forever",
    graph: { a: ["b"], b: ["a"] },
    failing: ["a", "b"],
    peer: "a",
    want: "b",
  },
];
for (const row of roots)
  test(`root: ${row.rule}`, () => {
    const failing = new Set(row.failing);
    assert.equal(
      failingRoot(row.peer, g(row.graph), (n) => failing.has(n)),
      row.want,
    );
  });

test("dependents: direct and further up, sorted, never the peer itself", () => {
  const graph = g({ web: ["api"], api: ["db"], worker: ["db"], lone: [] });
  assert.deepEqual(dependentsOf("db", graph), ["api", "web", "worker"]);
  assert.deepEqual(dependentsOf("api", graph), ["web"]);
  assert.deepEqual(dependentsOf("web", graph), []);
});

test("failing statuses", () => {
  assert.deepEqual(
    (["UNKNOWN", "HEALTHY", "DEGRADED", "OFFLINE", "ISOLATED"] as const).filter(isFailingStatus),
    ["DEGRADED", "OFFLINE", "ISOLATED"],
  );
});
