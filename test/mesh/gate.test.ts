// The mesh gate with fakes: member health, member views and time are set by the test.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { PeerStatus } from "../../src/core/types.js";
import { createMeshGate, type MeshGate } from "../../src/mesh/gate.js";
import { rendezvousOrder } from "../../src/mesh/owner.js";
import type { ConfirmMode, QuorumRule } from "../../src/mesh/quorum.js";
import type { GateVerdict } from "../../src/core/gate.js";
import { ablatedRules } from "../helpers/mesh-ablations.js";
import type { InFlightView, ReceivedPeer, ReceivedView } from "../../src/mesh/views.js";
import { Monitor } from "../../src/index.js";
import type { PeerHealth } from "../../src/core/types.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";
import { FakeProber, MISS } from "../helpers/fake-prober.js";
import { peer } from "../helpers/fake-backend.js";

const T = "agent";
const INTERVAL = 1_000;
const SETTLE = 4 * INTERVAL;
const NODES = ["wd-a", "wd-b", "wd-c"];
// Succession order for T among the three node names: [top, second, third].
const ORDER = rendezvousOrder(T, NODES) as [string, string, string];
const [top, second, third] = ORDER;

/** [status, missed_count, backs?, backs_stable_ms?] */
type Entry = [PeerStatus, number, string?, (number | null)?];

class World {
  now = 1_000_000;
  readonly health = new Map<string, PeerHealth>();
  readonly views = new Map<string, ReceivedView>();

  /** `name`'s health on this node (members' heartbeats, and this node's own view of T). */
  member(name: string, status: PeerStatus, missed = 0): this {
    this.health.set(name, peer(name, status, { missed_count: missed }));
    return this;
  }

  /** A view of `member` asked for now, listing `peers`. */
  view(member: string, peers: Record<string, Entry>, inFlight: InFlightView[] = []): this {
    this.views.set(member, {
      node: member,
      receivedAt: this.now,
      peers: new Map(
        Object.entries(peers).map(([n, [status, missed_count, backs, stable]]): [string, ReceivedPeer] => [
          n,
          {
            status,
            missed_count,
            ...(backs === undefined ? {} : { backs, backs_stable_ms: stable ?? null }),
          },
        ]),
      ),
      inFlight,
    });
    return this;
  }

  gate(
    self: string,
    confirm: ConfirmMode,
    opts: {
      members?: string[];
      rule?: QuorumRule;
      takeoverAfterMs?: number;
      waitForSilentRemediator?: boolean;
      settleEveryMove?: boolean;
      unsettleDuringOthersStep?: boolean;
      selfDegraded?: () => boolean;
      ownTrouble?: (member: string) => string | undefined;
    } = {},
  ): MeshGate {
    return createMeshGate(
      {
        self,
        members: opts.members ?? NODES.filter((n) => n !== self),
        confirm,
        health: (p) => this.health.get(p),
        view: (m) => this.views.get(m),
        intervalMs: INTERVAL,
        ...(opts.rule ? { rule: opts.rule } : {}),
        ...(opts.selfDegraded ? { selfDegraded: opts.selfDegraded } : {}),
        ...(opts.ownTrouble ? { ownTrouble: opts.ownTrouble } : {}),
        // Shorter than the settle time unless a test says otherwise, so startup waits SETTLE.
        takeoverAfterMs: opts.takeoverAfterMs ?? 2 * INTERVAL,
        clock: {
          now: () => this.now,
          monotonic: () => this.now,
          setTimeout: () => 0,
          clearTimeout: () => {},
          sleep: async () => {},
        },
      },
      ablatedRules(opts),
    );
  }
}

/** A world where both other nodes answer, each with the given view of T (default HEALTHY). */
function threeNodes(self: string, others: Record<string, Entry> = {}): World {
  const w = new World();
  for (const n of NODES.filter((x) => x !== self)) {
    w.member(n, "HEALTHY").view(n, { [T]: others[n] ?? ["HEALTHY", 0] });
  }
  return w;
}

/** A gate created now, with the startup settle time (`wait`) already passed (views refreshed). */
/** act and hold of a verdict (an observe-only verdict also says why in `observe`). */
function onlyAct(v: GateVerdict): { act: boolean; hold?: string } {
  return { act: v.act, ...("hold" in v && v.hold !== undefined ? { hold: v.hold } : {}) };
}

/** The backing this node serves after a miss of T (a miss decides it; reading it changes nothing). */
function backingAfterMiss(g: MeshGate): ReturnType<MeshGate["backing"]> {
  g.decide(T);
  return g.backing(T);
}

function settled(w: World, g: () => MeshGate, refresh: () => void, wait = SETTLE): MeshGate {
  const gate = g();
  w.now += wait;
  refresh();
  return gate;
}

describe("mesh gate: quorum over the configured nodes", () => {
  test("a node that reaches nobody is 1 of 3 and holds, naming the unreachable members", () => {
    const w = new World().member("wd-b", "HEALTHY").member("wd-c", "HEALTHY");
    const g = w.gate("wd-a", "majority");
    w.now += 10 * SETTLE;
    assert.deepEqual(g.mayAct(T), {
      act: false,
      hold: "held: 1 of 3 nodes confirm the failure, 2 needed; unreachable: wd-b, wd-c",
    });
  });

  test("members that answer but see the target healthy: held, nobody unreachable", () => {
    const w = threeNodes(top);
    const g = settled(
      w,
      () => w.gate(top, "majority"),
      () => void 0,
    );
    // views are now SETTLE old: stale. Refresh them.
    for (const n of NODES.filter((x) => x !== top)) w.view(n, { [T]: ["HEALTHY", 0] });
    assert.deepEqual(g.mayAct(T), {
      act: false,
      hold: "held: 1 of 3 nodes confirm the failure, 2 needed; unreachable: none",
    });
  });

  // [confirm, members' views of T (second, third), verdict]. This node is the top of the
  // rendezvous order, so every confirming node backs it.
  const TABLE: Array<[ConfirmMode, Entry | null, Entry | null, "act" | "hold" | "observe"]> = [
    ["majority", ["DEGRADED", 1, top, null], ["HEALTHY", 0], "act"],
    ["majority", ["HEALTHY", 1, top, null], null, "act"], // a miss shows as missed_count first
    ["majority", ["OFFLINE", 0, top, null], null, "act"],
    ["majority", ["HEALTHY", 0], ["UNKNOWN", 0], "hold"],
    ["majority", null, null, "hold"],
    ["all", ["DEGRADED", 1, top, null], ["HEALTHY", 0], "hold"],
    ["all", ["DEGRADED", 1, top, null], ["DEGRADED", 2, top, null], "act"],
    ["all", ["DEGRADED", 1, top, null], null, "hold"],
    ["any", null, null, "act"],
    ["any", ["HEALTHY", 0], ["HEALTHY", 0], "act"],
    // confirming, but backing another node: its backing does not count for this node
    ["majority", ["DEGRADED", 1, third, null], ["HEALTHY", 0], "observe"],
    // confirming and backing this node, but that backing has not settled yet
    ["majority", ["DEGRADED", 1, top, 100], ["HEALTHY", 0], "observe"],
    ["majority", ["DEGRADED", 1, top, SETTLE], ["HEALTHY", 0], "act"],
  ];
  for (const [mode, v2, v3, want] of TABLE) {
    test(`${mode}: ${JSON.stringify(v2)} / ${JSON.stringify(v3)} → ${want}`, () => {
      const w = new World().member(second, "HEALTHY").member(third, "HEALTHY");
      const refresh = () => {
        if (v2) w.view(second, { [T]: v2 });
        if (v3) w.view(third, { [T]: v3 });
      };
      const g = settled(w, () => w.gate(top, mode), refresh);
      const v = g.mayAct(T);
      const got = v.act ? "act" : "hold" in v && v.hold !== undefined ? "hold" : "observe";
      assert.equal(got, want, `${g.decide(T).why}`);
    });
  }

  test("a view that is stale, or of a member whose heartbeat is OFFLINE or ISOLATED, never counts", () => {
    for (const [status, age, counts] of [
      ["HEALTHY", 0, true],
      ["DEGRADED", 0, true],
      ["UNKNOWN", 0, true], // heartbeat not probed yet; the nonce-verified view proves it answers
      ["OFFLINE", 0, false],
      ["ISOLATED", 0, false],
      ["HEALTHY", 3 * INTERVAL, true],
      ["HEALTHY", 3 * INTERVAL + 1, false],
    ] as Array<[PeerStatus, number, boolean]>) {
      const w = new World().member(second, status).member(third, "HEALTHY");
      const g = w.gate(top, "majority");
      w.now += SETTLE;
      w.view(second, { [T]: ["DEGRADED", 2, top, null] });
      w.now += age;
      assert.equal(g.mayAct(T).act, counts, `${status}, view ${age} ms old`);
      if (!counts) {
        const v = g.mayAct(T);
        assert.ok(!v.act && /unreachable: .*wd-/.test(v.hold ?? ""), JSON.stringify(v));
        assert.ok(!g.aliveMembers().includes(second));
      }
    }
  });

  test("startup: no decision, not even with confirm: any, before views could arrive", () => {
    const w = new World().member(second, "HEALTHY").member(third, "HEALTHY");
    const g = w.gate(top, "any");
    assert.deepEqual(onlyAct(g.mayAct(T)), { act: false }, "just started: backing unsettled");
    w.now += SETTLE - 1;
    assert.equal(g.mayAct(T).act, false);
    w.now += 1;
    assert.equal(g.mayAct(T).act, true, "any acts alone once settled");
  });

  test("a step this node started before it restarted keeps its backing on itself for takeover_after", () => {
    // this node (second) restarted; its state file says it started a restart 1 s ago
    const w = threeNodes(second);
    const stepAt = w.now - INTERVAL;
    const gate = createMeshGate({
      self: second,
      members: [top, third],
      confirm: "majority",
      health: (p) => w.health.get(p),
      view: (m) => w.views.get(m),
      intervalMs: INTERVAL,
      takeoverAfterMs: 10 * INTERVAL,
      lastOwnStepAt: () => stepAt,
      clock: {
        now: () => w.now,
        monotonic: () => w.now,
        setTimeout: () => 0,
        clearTimeout: () => {},
        sleep: async () => {},
      },
    });
    w.view(top, { [T]: ["DEGRADED", 1, top, null] });
    assert.equal(gate.decide(T).backs, second, "a higher node confirms, but its own step is recent");
    w.now += 9 * INTERVAL;
    w.view(top, { [T]: ["DEGRADED", 1, top, null] }).view(third, { [T]: ["DEGRADED", 1, top, null] });
    assert.equal(gate.decide(T).backs, top, "takeover_after after the step: moves to the top");
  });

  test("a two-node mesh: majority of 2 is 2; with the other node down nothing is remediated", () => {
    const [a, b] = rendezvousOrder(T, ["wd-a", "wd-b"]) as [string, string];
    const w = new World().member(b, "HEALTHY");
    const g = settled(
      w,
      () => w.gate(a, "majority", { members: [b] }),
      () => w.view(b, { [T]: ["HEALTHY", 0] }),
    );
    assert.match((g.mayAct(T) as { hold: string }).hold, /1 of 2 nodes confirm the failure, 2 needed/);
    w.view(b, { [T]: ["DEGRADED", 1, a, null] });
    assert.equal(g.mayAct(T).act, true, "both see it: 2 of 2");
    w.member(b, "OFFLINE");
    assert.match((g.mayAct(T) as { hold: string }).hold, /1 of 2 .*unreachable: wd-/);
  });
});

describe("mesh gate: one remediator", () => {
  test("a node that is not the top of the confirming nodes backs the top and only observes", () => {
    const w = threeNodes(second, { [top]: ["DEGRADED", 1, top, null], [third]: ["DEGRADED", 2, top, null] });
    const g = settled(
      w,
      () => w.gate(second, "any"),
      () => {
        w.view(top, { [T]: ["DEGRADED", 1, top, null] }).view(third, { [T]: ["DEGRADED", 2, top, null] });
      },
    );
    assert.deepEqual(onlyAct(g.mayAct(T)), { act: false });
    assert.equal(g.decide(T).backs, top);
    w.member(T, "DEGRADED", 1);
    assert.equal(g.owner(T), top);
    assert.deepEqual(g.backing(T), { backs: top, stableMs: SETTLE });
  });

  test("members that disagree about who is alive still give at most one remediator", () => {
    // top cannot reach second; second cannot reach top; both reach third, which sees T
    // failing. The old rule (owner over the observers each node reaches) made both act.
    const refreshTop = (w: World) => w.view(third, { [T]: ["DEGRADED", 2, top, null] });
    const wTop = new World().member(second, "HEALTHY").member(third, "HEALTHY");
    const gTop = settled(
      wTop,
      () => wTop.gate(top, "majority"),
      () => refreshTop(wTop),
    );
    const wSecond = new World().member(top, "HEALTHY").member(third, "HEALTHY");
    const gSecond = settled(
      wSecond,
      () => wSecond.gate(second, "majority"),
      () => wSecond.view(third, { [T]: ["DEGRADED", 2, top, null] }),
    );
    const acting = [gTop.mayAct(T).act, gSecond.mayAct(T).act];
    assert.deepEqual(acting, [true, false], "third backs top only, so only top gathers 2 backers");
    // third switches to backing second: its backing is unsettled for a while, and top no
    // longer counts it as soon as it sees the new view.
    wSecond.view(third, { [T]: ["DEGRADED", 3, second, 0] });
    refreshTop(wTop);
    wTop.view(third, { [T]: ["DEGRADED", 3, second, 0] });
    assert.deepEqual([gTop.mayAct(T).act, gSecond.mayAct(T).act], [false, false]);
    wSecond.view(third, { [T]: ["DEGRADED", 3, second, SETTLE] });
    assert.equal(gSecond.mayAct(T).act, true, "settled: second remediates");
  });

  test("the backing follows the failing nodes and moves off a node that became unreachable", () => {
    const w = threeNodes(third);
    const g = settled(
      w,
      () => w.gate(third, "majority"),
      () => {
        w.view(top, { [T]: ["DEGRADED", 1, top, null] }).view(second, { [T]: ["DEGRADED", 1, top, null] });
      },
    );
    assert.equal(g.decide(T).backs, top);
    w.now += 3 * INTERVAL + 1; // top's view goes stale: it is unreachable now
    w.view(second, { [T]: ["DEGRADED", 4, top, null] });
    assert.equal(g.decide(T).backs, second, "dropped top, backs the top of who still confirms");
    w.member(T, "DEGRADED", 4);
    assert.deepEqual(g.backing(T), { backs: second, stableMs: 0 }, "a drop unsettles the backing");
  });

  test("a member this node could not ask because of its own trouble keeps its backing, and the hold says whose trouble it is", () => {
    const w = threeNodes(third);
    const trouble = new Map<string, string>();
    const g = settled(
      w,
      () => w.gate(third, "majority", { ownTrouble: (m) => trouble.get(m) }),
      () => {
        w.view(top, { [T]: ["DEGRADED", 1, top, null] }).view(second, { [T]: ["DEGRADED", 1, top, null] });
      },
    );
    assert.equal(g.decide(T).backs, top);
    // This node runs out of descriptors: its requests for top's view fail before leaving it.
    trouble.set(top, "connect EMFILE (local)");
    w.now += 3 * INTERVAL + 1; // top's view goes stale
    w.view(second, { [T]: ["DEGRADED", 4, top, null] });
    assert.equal(g.decide(T).backs, top, "top is not dropped for this node's own trouble");
    // Both members now: 1 of 3 confirms, and the hold says it is this node's trouble.
    trouble.set(second, "connect EMFILE (local)");
    w.now += 3 * INTERVAL + 1;
    const d = g.decide(T);
    assert.equal(d.backs, top);
    assert.equal(d.verdict.act, false);
    const hold = "hold" in d.verdict ? (d.verdict.hold ?? "") : "";
    assert.match(hold, /^held: 1 of 3 nodes confirm the failure/);
    assert.match(hold, /this node's own trouble, not theirs, kept it from asking .*EMFILE/);
    // Its trouble over, a member still silent is unreachable: the backing moves.
    trouble.clear();
    w.view(second, { [T]: ["DEGRADED", 5, top, null] });
    assert.equal(g.decide(T).backs, second, "dropped top once this node could ask it again");
  });

  test("a target another node has isolated is left alone (an operator releases it)", () => {
    const w = threeNodes(top);
    const g = settled(
      w,
      () => w.gate(top, "majority"),
      () => {
        w.view(second, { [T]: ["ISOLATED", 0, top, null] }).view(third, { [T]: ["DEGRADED", 3, top, null] });
      },
    );
    assert.deepEqual(onlyAct(g.mayAct(T)), { act: false });
    assert.match(g.decide(T).why, new RegExp(`isolated by ${second}`));
  });

  test("members (other watchdogs) are owned by this node and escalate alert-only", () => {
    const w = new World().member("wd-b", "DEGRADED", 5);
    const g = w.gate("wd-a", "all");
    assert.equal(g.owner("wd-b"), "wd-a");
    assert.deepEqual(g.mayAct("wd-b"), { act: true }, "the ladder keeps members alert-only");
  });
});

describe("mesh gate: a read never changes a vote", () => {
  test("serving the view (backing) leaves the backing where the last miss put it", () => {
    const w = threeNodes(third);
    const g = settled(
      w,
      () => w.gate(third, "majority"),
      () => {
        w.view(top, { [T]: ["DEGRADED", 1, top, null] }).view(second, { [T]: ["DEGRADED", 1, top, null] });
      },
    );
    w.member(T, "DEGRADED", 1);
    assert.equal(g.backing(T), undefined, "no miss decided yet: no backing served");
    assert.equal(g.decide(T).backs, top);
    w.now += 3 * INTERVAL + 1; // top's view goes stale: a miss now would drop it
    w.view(second, { [T]: ["DEGRADED", 4, top, null] });
    for (let i = 0; i < 5; i++) assert.equal(g.backing(T)?.backs, top, `read ${i + 1} moved the vote`);
    assert.equal(g.decide(T).backs, second, "the next miss drops top");
    assert.deepEqual(g.backing(T), { backs: second, stableMs: 0 });
  });
});

describe("mesh gate: every change of backing restarts its settle period", () => {
  test("moving off itself while overloaded, then following a backing back to itself, counts for nobody until settled", () => {
    // third sees the target healthy, so top needs second's backing besides its own.
    // top backs itself; overloaded, it moves to second (the top of the others). second
    // backs top; once top's flag clears it follows second's backing back to itself. Under
    // the older rule neither move unsettled it: its view said "backs second, settled" one
    // poll before it counted itself and second as backers, so second could count top too.
    for (const rule of [true, false]) {
      let overloaded = false;
      const w = threeNodes(top);
      const refresh = (): void => {
        w.view(second, { [T]: ["DEGRADED", 1, top, null] }).view(third, { [T]: ["HEALTHY", 0] });
      };
      const g = settled(
        w,
        () => w.gate(top, "majority", { settleEveryMove: rule, selfDegraded: () => overloaded }),
        refresh,
      );
      w.member(T, "DEGRADED", 1);
      assert.equal(g.decide(T).verdict.act, true, "backs itself, settled: may act");
      overloaded = true;
      w.now += 1;
      refresh();
      const moved = backingAfterMiss(g);
      assert.equal(moved?.backs, second, "overloaded: backs the top of the others");
      overloaded = false;
      w.now += 1;
      refresh();
      const d = g.decide(T);
      assert.equal(d.backs, top, "follows second's backing back to itself");
      if (!rule) {
        assert.ok((moved?.stableMs ?? 0) >= SETTLE, "older rule: the move to second counted at once");
        assert.equal(d.verdict.act, true, "older rule: and it acts at once");
        continue;
      }
      assert.equal(moved?.stableMs, 0, "the move to second counts for nobody yet");
      assert.equal(d.verdict.act, false, "its own backing is unsettled");
      w.now += SETTLE - 1;
      refresh();
      assert.equal(g.decide(T).verdict.act, false, "still unsettled");
      w.now += 1;
      refresh();
      assert.equal(g.decide(T).verdict.act, true, "settled: acts");
    }
  });
});

describe("mesh gate: steps in flight", () => {
  const step = (incident: string): InFlightView => ({
    peer: T,
    incident,
    step: "restart",
    attempt: 1,
    started_at: "2026-01-01T00:00:00.000Z",
  });

  test("another node's started step blocks this node until takeover_after without seeing it finish", () => {
    const w = threeNodes(top);
    const TAKEOVER = 10 * INTERVAL;
    const g = settled(
      w,
      () => w.gate(top, "majority", { takeoverAfterMs: TAKEOVER }),
      () => {
        w.view(second, { [T]: ["DEGRADED", 2, top, null] }, [step("i-1")]);
      },
      TAKEOVER,
    );
    const v = g.mayAct(T);
    assert.equal(v.act, false);
    assert.match(
      ("observe" in v && v.observe) || "",
      /started restart of agent 0 ms ago and has not finished it/,
    );
    assert.match(g.decide(T).why, /started restart of agent/);
    // The owner of the step goes silent; this node keeps its last view (stale now).
    w.now += TAKEOVER - 1;
    w.view(third, { [T]: ["DEGRADED", 5, top, null] });
    const before = g.mayAct(T);
    assert.equal(before.act, false, "still within takeover_after");
    assert.equal(before.stalled, undefined, "not stalled yet");
    w.now += 1;
    w.view(third, { [T]: ["DEGRADED", 5, top, null] });
    const after = g.mayAct(T);
    assert.equal(after.act, true, "takes the step over");
    assert.match(
      after.stalled ?? "",
      new RegExp(
        `${second} started restart of agent ${TAKEOVER} ms ago and has not finished it within takeover_after`,
      ),
      "and says the step stalled (remediation_stalled)",
    );
  });

  test("a member this node backed that goes silent blocks it until takeover_after after its view went stale", () => {
    // top (backed by second and third) may have started a restart and died before any
    // view listed it. second moves its backing to itself; third backs second.
    const TAKEOVER = 10 * INTERVAL;
    const FRESH = 3 * INTERVAL;
    for (const wait of [true, false]) {
      const w = threeNodes(second);
      const g = settled(
        w,
        () => w.gate(second, "majority", { takeoverAfterMs: TAKEOVER, waitForSilentRemediator: wait }),
        () => {
          w.view(top, { [T]: ["DEGRADED", 2, top, null] });
          w.view(third, { [T]: ["DEGRADED", 2, top, null] });
        },
        TAKEOVER,
      );
      assert.equal(g.decide(T).backs, top);
      const stale = w.now + FRESH + 1; // top's view is stale from here
      const at = (t: number): boolean => {
        w.now = t;
        w.view(third, { [T]: ["DEGRADED", 5, second, null] });
        return g.mayAct(T).act;
      };
      assert.equal(at(stale), false, "its backing moved to itself: unsettled");
      if (!wait) {
        assert.equal(at(stale + SETTLE), true, "without the wait: acts once its backing settled");
        continue;
      }
      assert.equal(at(stale + SETTLE), false);
      assert.match(g.decide(T).why, new RegExp(`${top} went silent .* may have been remediating`));
      // The window: takeover_after plus the slack (one interval) after the view went stale.
      assert.equal(at(stale - 1 + TAKEOVER + INTERVAL - 1), false, "still within the window");
      assert.equal(at(stale - 1 + TAKEOVER + INTERVAL), true, "then acts, on a fresh miss");
    }
  });

  test("while a member it backed is silent, this node's backing of another node counts for nobody", () => {
    // third backed top; top's last view shows the target healthy again (it may have seen
    // it fail, counted third's old backing and started a step, all between two polls).
    const TAKEOVER = 10 * INTERVAL;
    const w = threeNodes(third);
    const g = settled(
      w,
      () => w.gate(third, "majority", { takeoverAfterMs: TAKEOVER }),
      () => {
        w.view(top, { [T]: ["DEGRADED", 1, top, null] }).view(second, { [T]: ["DEGRADED", 1, top, null] });
      },
      TAKEOVER,
    );
    w.member(T, "DEGRADED", 1);
    assert.equal(g.decide(T).backs, top);
    w.now += 1;
    w.view(top, { [T]: ["HEALTHY", 0] });
    const lastHeard = w.now;
    const backing = (t: number) => {
      w.now = t;
      w.view(second, { [T]: ["DEGRADED", 5, second, null] });
      return backingAfterMiss(g);
    };
    assert.deepEqual(
      backing(lastHeard + 1),
      { backs: second, stableMs: 0 },
      "dropped top (it sees T healthy)",
    );
    const end = lastHeard + 3 * INTERVAL + TAKEOVER + INTERVAL; // stale, then takeover_after + slack
    assert.deepEqual(backing(end - 1), { backs: second, stableMs: 0 }, "top is silent: counts for nobody");
    assert.deepEqual(backing(end), { backs: second, stableMs: end - lastHeard - 1 }, "counts again");
  });

  test("while another member's step is in flight, this node's backing of another node counts for nobody", () => {
    // third backs second (top is overloaded, so not backed). top's flag clears and it
    // starts a restart with an older view of third's backing; second cannot reach top,
    // so only third's view shows the step.
    const TAKEOVER = 10 * INTERVAL;
    for (const rule of [true, false]) {
      const w = threeNodes(third);
      const refresh = (inFlight: InFlightView[] = []): void => {
        w.view(top, { [T]: ["DEGRADED", 1, top, null] }, inFlight);
        w.views.set(top, { ...(w.views.get(top) as ReceivedView), degraded: true });
        w.view(second, { [T]: ["DEGRADED", 1, second, null] });
      };
      const g = settled(
        w,
        () => w.gate(third, "majority", { takeoverAfterMs: TAKEOVER, unsettleDuringOthersStep: rule }),
        refresh,
        TAKEOVER,
      );
      w.member(T, "DEGRADED", 1);
      assert.equal(backingAfterMiss(g)?.backs, second);
      assert.ok((g.backing(T)?.stableMs ?? 0) >= SETTLE, "settled before the step");
      refresh([step("i-1")]);
      const seen = w.now;
      if (!rule) {
        assert.ok((g.backing(T)?.stableMs ?? 0) >= SETTLE, "the older rule lends it while the step runs");
        continue;
      }
      assert.deepEqual(g.backing(T), { backs: second, stableMs: 0 });
      // top is cut off from here on; second still answers.
      const at = (t: number) => {
        w.now = t;
        w.view(second, { [T]: ["DEGRADED", 1, second, null] });
        return backingAfterMiss(g);
      };
      assert.equal(at(seen + TAKEOVER - 1)?.stableMs, 0, "within takeover_after of the first sighting");
      assert.ok((at(seen + TAKEOVER)?.stableMs ?? 0) >= SETTLE, "counts again after takeover_after");
    }
  });

  test("a step seen finishing no longer blocks", () => {
    const w = threeNodes(top);
    const g = settled(
      w,
      () => w.gate(top, "majority", { takeoverAfterMs: 60_000 }),
      () => {
        w.view(second, { [T]: ["DEGRADED", 2, top, null] }, [step("i-1")]);
      },
      60_000,
    );
    assert.equal(g.mayAct(T).act, false);
    w.view(second, { [T]: ["DEGRADED", 2, top, null] });
    assert.equal(g.mayAct(T).act, true);
  });
});

describe("mesh gate in a Monitor", () => {
  test("held misses count; the remediator restarts as soon as a quorum backs it", async () => {
    const w = threeNodes(top);
    const ex = new RecordingExecutor();
    const m = new Monitor({
      selfName: top,
      executor: ex,
      prober: new FakeProber(() => MISS),
      missedBeforeRestart: 3,
      gate: settled(
        w,
        () => w.gate(top, "majority"),
        () => {
          w.view(second, { [T]: ["HEALTHY", 0] }).view(third, { [T]: ["HEALTHY", 0] });
        },
      ),
    });
    m.registerPeer({
      name: T,
      probe: { http: { url: "http://127.0.0.1:1/agent" } },
      restart: { command: { argv: ["/bin/true"] } },
    });
    for (let i = 0; i < 5; i++) await m.checkPeer(T);
    assert.deepEqual(ex.calls, [], "1 of 3: not confirmed");
    assert.equal(m.getPeerStatus(T)?.missed_count, 5);
    assert.equal(m.getPeerStatus(T)?.status, "DEGRADED");

    w.view(second, { [T]: ["DEGRADED", 4, top, null] });
    await m.checkPeer(T);
    assert.deepEqual(ex.calls, [`restart:${T}:1`], "2 of 3 confirm and back it: restart at once");
    assert.deepEqual(m.inFlightSteps(), [], "the step finished");
    await m.stop();
  });

  test("a node that backs another node shows it as owner and never restarts", async () => {
    const w = threeNodes(second);
    const refresh = () =>
      w.view(top, { [T]: ["DEGRADED", 3, top, null] }).view(third, { [T]: ["DEGRADED", 3, top, null] });
    const g = settled(w, () => w.gate(second, "majority"), refresh);
    const ex = new RecordingExecutor();
    const m = new Monitor({
      selfName: second,
      executor: ex,
      prober: new FakeProber(() => MISS),
      missedBeforeRestart: 2,
      gate: g,
    });
    m.registerPeer({
      name: T,
      probe: { http: { url: "http://127.0.0.1:1/agent" } },
      restart: { command: { argv: ["/bin/true"] } },
    });
    for (let i = 0; i < 6; i++) await m.checkPeer(T);
    assert.deepEqual(ex.calls, []);
    assert.equal(m.getPeerStatus(T)?.owner, top);
    await m.stop();
  });
});
