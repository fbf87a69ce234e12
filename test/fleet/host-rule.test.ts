// The host rule and the fleet gate's decisions, with a fake fleet (no etcd): a peer on
// another host is only watched; etcd unreachable holds naming etcd; the quorum of the
// live observers; another node's step makes this node observe.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RemediationGate } from "../../src/core/gate.js";
import { createFleetGate, fleetQuorum } from "../../src/fleet/fleet-gate.js";
import type { FleetNode } from "../../src/fleet/fleet-node.js";
import { onThisHost, withHostRule } from "../../src/fleet/host-rule.js";

const hosts: Record<string, string> = { far: "web-2" };
const rule = { self: "n1", selfHost: "web-1", peerHost: (p: string) => hosts[p] };

void test("a peer on another host is only watched here; on this host the inner gate decides", () => {
  const inner: RemediationGate = {
    mayAct: () => ({ act: false, hold: "inner says hold" }),
    owner: () => "n9",
  };
  const g = withHostRule(inner, { ...rule, ownerOn: (h) => (h === "web-2" ? "n2" : undefined) });
  assert.deepEqual(g.mayAct("far"), { act: false }, "observe only: no remediation, no hold alert");
  assert.equal(g.owner("far"), "n2", "the host's node owns it");
  assert.deepEqual(g.mayAct("near"), { act: false, hold: "inner says hold" });
  assert.equal(g.owner("near"), "n9");
  const alone = withHostRule(undefined, rule);
  assert.deepEqual(
    alone.mayAct("near"),
    { act: true },
    "no inner gate: this node acts on its own host's peers",
  );
  assert.equal(alone.owner("far"), "web-2", "without a known node there, the owner is named by its host");
  assert.equal(onThisHost(rule, "near"), true);
  assert.equal(onThisHost(rule, "far"), false);
});

void test("fleetQuorum: a majority of the live observers, this node counted as confirming", () => {
  assert.deepEqual(fleetQuorum("n1", { failing: [], ok: [] }), { confirming: ["n1"], observers: 1, need: 1 });
  assert.deepEqual(fleetQuorum("n1", { failing: [], ok: ["n2"] }), {
    confirming: ["n1"],
    observers: 2,
    need: 2,
  });
  assert.deepEqual(fleetQuorum("n1", { failing: ["n2"], ok: ["n3"] }), {
    confirming: ["n1", "n2"],
    observers: 3,
    need: 2,
  });
});

function fakeFleet(
  over: Partial<Record<keyof FleetNode, unknown>>,
): FleetNode & { observed: [string, boolean][] } {
  const observed: [string, boolean][] = [];
  return {
    self: "n1",
    host: "web-1",
    observed,
    observe: (p: string, f: boolean) => void observed.push([p, f]),
    holdReason: () => undefined,
    observations: () => ({ failing: [], ok: [] }),
    stepOn: () => undefined,
    ...over,
  } as unknown as FleetNode & { observed: [string, boolean][] };
}

void test("fleet gate: etcd unreachable holds naming etcd; no quorum holds naming who confirms; another's step observes", () => {
  const down = fakeFleet({ holdReason: () => "etcd unreachable or without quorum for 12 s (timeout)" });
  const v = createFleetGate(down).mayAct("api");
  assert.deepEqual(v, { act: false, hold: "etcd unreachable or without quorum for 12 s (timeout)" });
  assert.deepEqual(down.observed, [["api", true]], "the miss is published (on change)");

  const lonely = fakeFleet({ observations: () => ({ failing: [], ok: ["n2", "n3"] }) });
  const h = createFleetGate(lonely).mayAct("api");
  assert.equal(h.act, false);
  assert.match(
    (h as { hold: string }).hold,
    /fleet quorum not reached: 1 of 3 nodes watching api see it failing \(n1\), 2 needed/,
  );

  const taken = fakeFleet({
    observations: () => ({ failing: ["n2"], ok: [] }),
    stepOn: () => ({ node: "n2", host: "web-1", kind: "restart", at: 0, token: "41", mine: false }),
  });
  assert.deepEqual(createFleetGate(taken).mayAct("api"), { act: false });
  assert.equal(createFleetGate(taken).owner("api"), "n2");

  const ok = fakeFleet({ observations: () => ({ failing: ["n2"], ok: ["n3"] }) });
  assert.deepEqual(createFleetGate(ok).mayAct("api"), { act: true });
});
