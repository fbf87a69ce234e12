// The quiet rule of a fleet watcher, with a fake fleet and a fake monotonic clock: a miss
// of a peer on another host is quiet while its host is down or losing its last node, and
// while the host's live node has not confirmed the failure (at most waitMs); it pages once
// the host's node confirms, or after the wait.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RemoteQuiet, type RemoteQuietFleet } from "../../src/fleet/remote-quiet.js";
import { withHostRule } from "../../src/fleet/host-rule.js";
import type { FleetMember } from "../../src/fleet/fleet-node.js";

interface World {
  down: Set<string>;
  members: Array<{ node: string; host: string }>;
  failing: Record<string, string[]>;
}

function fleetOf(w: World): RemoteQuietFleet {
  return {
    hostDownBy: (host: string) =>
      w.down.has(host)
        ? { node: "n1", host: "web-1", kind: "fence", at: 0, token: "7", mine: true }
        : undefined,
    membersOn: (host: string) => w.members.filter((m) => m.host === host) as FleetMember[],
    observations: (peer: string) => ({ failing: w.failing[peer] ?? [], ok: [] }),
  };
}

function setup(): { w: World; q: RemoteQuiet; clock: { t: number } } {
  const w: World = {
    down: new Set(),
    members: [
      { node: "n1", host: "web-1" },
      { node: "n2", host: "web-2" },
      { node: "n3", host: "web-3" },
    ],
    failing: {},
  };
  const clock = { t: 1_000 };
  return { w, q: new RemoteQuiet(fleetOf(w), 20_000, () => clock.t), clock };
}

void test("the host's live node has not confirmed: quiet for at most waitMs from the first quiet miss, then paged", () => {
  const { q, clock } = setup();
  assert.match(q.reason("web-2", "api") ?? "", /waiting for host web-2's node \(n2\) to confirm/);
  clock.t += 19_999;
  assert.notEqual(q.reason("web-2", "api"), undefined, "still within the wait");
  assert.deepEqual(q.quietPeers(), ["api"], "shown as quiet (wdmesh_fleet_peer_quiet)");
  clock.t += 1;
  assert.equal(q.reason("web-2", "api"), undefined, "waited long enough: this node pages");
  assert.deepEqual(q.quietPeers(), [], "paged: no longer quiet");
});

void test("confirmed by a node on the peer's host: paged here too (same incident labels); a confirmation from elsewhere does not count", () => {
  const { w, q } = setup();
  w.failing.api = ["n3"];
  assert.notEqual(q.reason("web-2", "api"), undefined, "n3 is on web-3, not the peer's host");
  w.failing.api = ["n3", "n2"];
  assert.equal(q.reason("web-2", "api"), undefined);
});

void test("host down, or no node on it holds a lease: quiet however long it lasts", () => {
  const { w, q, clock } = setup();
  w.members = w.members.filter((m) => m.host !== "web-2");
  assert.match(q.reason("web-2", "api") ?? "", /no node on host web-2 holds a lease/);
  w.down.add("web-2");
  clock.t += 3_600_000;
  assert.match(q.reason("web-2", "api") ?? "", /host web-2 is unreachable and paged once/);
});

void test("a node that lost its own lease judges on its last view: a down host stays quiet, a live one is waited for at most waitMs", () => {
  const { w, q, clock } = setup();
  w.down.add("web-2");
  assert.notEqual(q.reason("web-2", "api"), undefined);
  assert.notEqual(q.reason("web-3", "db"), undefined, "web-3's node has not confirmed: waiting");
  clock.t += 20_000;
  assert.equal(q.reason("web-3", "db"), undefined, "bounded by the wait");
});

void test("a peer that answered again waits afresh on its next failure", () => {
  const { q, clock } = setup();
  q.reason("web-2", "api");
  clock.t += 30_000;
  assert.equal(q.reason("web-2", "api"), undefined, "past the wait");
  q.seen("api", true);
  assert.equal(q.reason("web-2", "api"), undefined, "still failing: the wait is not restarted");
  q.seen("api", false);
  assert.notEqual(q.reason("web-2", "api"), undefined, "answered in between: a new failure waits again");
  q.seen("api", false);
  assert.deepEqual(q.quietPeers(), [], "answering ends the quiet");
});

void test("host rule: a quiet miss of a peer on another host is { act: false, quiet: true }; a local peer is never quiet", () => {
  const { w, q } = setup();
  const hosts: Record<string, string> = { far: "web-2" };
  const g = withHostRule(undefined, {
    self: "n1",
    selfHost: "web-1",
    peerHost: (p) => hosts[p],
    quietOn: (host, peer) => q.reason(host, peer) !== undefined,
  });
  assert.deepEqual(g.mayAct("far"), { act: false, quiet: true });
  w.failing.far = ["n2"];
  assert.deepEqual(g.mayAct("far"), { act: false }, "confirmed by its host's node: watched and paged");
  w.down.add("web-1");
  assert.deepEqual(g.mayAct("near"), { act: true }, "this node's own host's peers are never quiet");
});
