// Backings (one vote per node and target) as a table: how they move, and which moves
// unsettle them.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isSettled, nextBacking, type BackingPeerFacts } from "../../src/mesh/backing.js";
import { rendezvousOrder } from "../../src/mesh/owner.js";
import { nextBackingWithoutStay } from "../helpers/mesh-ablations.js";

const T = "t";
// Rendezvous order of the four node names for T, top first.
const [A, B, C, D] = rendezvousOrder(T, ["n1", "n2", "n3", "n4"]) as [string, string, string, string];

interface Row {
  name: string;
  self: string;
  prev: string | undefined;
  confirming: string[];
  members: Record<string, BackingPeerFacts>;
  backs: string;
  dropped: boolean;
  recent?: boolean;
  selfDegraded?: boolean;
  /** The test-only switch off of "stays when the top backs it" (the livelock it prevents). */
  stayWhenBacked?: false;
}

const up = (backs?: string, settled = true): BackingPeerFacts => ({
  reachable: true,
  failing: true,
  ...(backs ? { backs, settled } : {}),
});
const healthy: BackingPeerFacts = { reachable: true, failing: false };
const gone: BackingPeerFacts = { reachable: false, failing: false };

const ROWS: Row[] = [
  {
    name: "first backing: the top of the confirming nodes",
    self: C,
    prev: undefined,
    confirming: [C, B],
    members: { [B]: up() },
    backs: B,
    dropped: false,
  },
  {
    name: "first backing with its own step recent (it restarted mid-step): itself",
    self: C,
    prev: undefined,
    confirming: [C, B],
    members: { [B]: up() },
    backs: C,
    dropped: false,
    recent: true,
  },
  {
    name: "an overloaded node does not back itself: it backs the top of the others",
    self: A,
    prev: A,
    confirming: [A, C],
    members: { [C]: up(C) },
    backs: C,
    dropped: false,
    selfDegraded: true,
  },
  {
    name: "backs B, B is overloaded: DROP, back the top of the others",
    self: D,
    prev: B,
    confirming: [D, B, C],
    members: { [B]: { ...up(B), degraded: true }, [C]: up(C) },
    backs: C,
    dropped: true,
  },
  {
    name: "backs itself, the top backs it: stays (moving would only follow it back, a flap)",
    self: B,
    prev: B,
    confirming: [B, A],
    members: { [A]: up(B) },
    backs: B,
    dropped: false,
  },
  {
    name: "backs itself while overloaded, the top backs it: moves anyway (it holds)",
    self: B,
    prev: B,
    confirming: [B, A],
    members: { [A]: up(B) },
    backs: A,
    dropped: false,
    selfDegraded: true,
  },
  {
    name: "without the stay rule (tests only), backs itself, the top backs it: moves (the flap)",
    self: B,
    prev: B,
    confirming: [B, A],
    members: { [A]: up(B) },
    backs: A,
    dropped: false,
    stayWhenBacked: false,
  },
  {
    name: "every confirming node overloaded: the usual top",
    self: D,
    prev: undefined,
    confirming: [D, B],
    members: { [B]: { ...up(B), degraded: true } },
    backs: B,
    dropped: false,
    selfDegraded: true,
  },
  {
    name: "first backing alone: itself",
    self: C,
    prev: undefined,
    confirming: [C],
    members: {},
    backs: C,
    dropped: false,
  },
  {
    name: "backs itself, a higher node confirms: moves up (not a drop)",
    self: C,
    prev: C,
    confirming: [C, A],
    members: { [A]: up(A) },
    backs: A,
    dropped: false,
  },
  {
    name: "backs itself, only lower nodes confirm: keeps itself",
    self: B,
    prev: B,
    confirming: [B, D],
    members: { [D]: up(B) },
    backs: B,
    dropped: false,
  },
  {
    name: "sticky: backs B, A starts confirming later: keeps B",
    self: D,
    prev: B,
    confirming: [D, B, A],
    members: { [A]: up(A), [B]: up(B) },
    backs: B,
    dropped: false,
  },
  {
    name: "backs B, B backs A (confirming): follows to A (not a drop)",
    self: D,
    prev: B,
    confirming: [D, B, A],
    members: { [A]: up(A), [B]: up(A) },
    backs: A,
    dropped: false,
  },
  {
    name: "backs B, B backs A that this node cannot reach: keeps B",
    self: D,
    prev: B,
    confirming: [D, B],
    members: { [A]: gone, [B]: up(A) },
    backs: B,
    dropped: false,
  },
  {
    name: "backs B, B backs this node: follows to itself",
    self: D,
    prev: B,
    confirming: [D, B],
    members: { [B]: up(D) },
    backs: D,
    dropped: false,
  },
  {
    name: "backs B, B backs this node but its backing is not settled: keeps B (no follow toward itself without B's settled word)",
    self: D,
    prev: B,
    confirming: [D, B],
    members: { [B]: up(D, false) },
    backs: B,
    dropped: false,
  },
  {
    name: "backs B, B says it backs this node but does not see the target failing itself: DROP B, never follow toward itself",
    self: D,
    prev: B,
    confirming: [D],
    members: { [B]: { reachable: true, failing: false, backs: D, settled: true } },
    backs: D,
    dropped: true,
  },
  {
    name: "backs B, B unreachable: DROP, backs the top of who confirms",
    self: D,
    prev: B,
    confirming: [D, C],
    members: { [B]: gone, [C]: up(C) },
    backs: C,
    dropped: true,
  },
  {
    name: "backs B, this node's own trouble kept it from asking B: keeps B (not counted against B)",
    self: D,
    prev: B,
    confirming: [D, C],
    members: { [B]: { reachable: false, failing: false, unknown: true }, [C]: up(C) },
    backs: B,
    dropped: false,
  },
  {
    name: "backs B, B sees the target healthy: DROP",
    self: D,
    prev: B,
    confirming: [D],
    members: { [B]: healthy },
    backs: D,
    dropped: true,
  },
  {
    name: "backs an unknown name: DROP",
    self: D,
    prev: "zz",
    confirming: [D],
    members: {},
    backs: D,
    dropped: true,
  },
];

describe("backing moves", () => {
  for (const r of ROWS) {
    test(r.name, () => {
      const next = r.stayWhenBacked === false ? nextBackingWithoutStay : nextBacking;
      const got = next(r.prev, {
        self: r.self,
        target: T,
        confirming: r.confirming,
        member: (n) => r.members[n],
        recentOwnStep: r.recent === true,
        selfDegraded: r.selfDegraded === true,
      });
      assert.deepEqual(got, { backs: r.backs, dropped: r.dropped });
    });
  }

  test("settled: never dropped, or dropped at least settleMs ago", () => {
    assert.equal(isSettled(null, 0, 4_000), true);
    assert.equal(isSettled(1_000, 4_999, 4_000), false);
    assert.equal(isSettled(1_000, 5_000, 4_000), true);
  });
});
