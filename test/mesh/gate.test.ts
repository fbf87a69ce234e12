// The mesh gate with fakes: member health, member views and time are set by the test.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { PeerHealth, PeerStatus } from "../../src/core/types.js";
import { createMeshGate, type MeshGate } from "../../src/mesh/gate.js";
import { rendezvousOrder } from "../../src/mesh/owner.js";
import type { ConfirmMode } from "../../src/mesh/quorum.js";
import type { ReceivedView } from "../../src/mesh/views.js";
import { Monitor, type Executor } from "../../src/index.js";
import type { ActionResult } from "../../src/core/types.js";
import { FakeProber, MISS } from "../helpers/fake-prober.js";

const T = "agent";
const INTERVAL = 1_000;
// Succession order for T among the three node names: [owner, second, third].
const ORDER = rendezvousOrder(T, ["wd-a", "wd-b", "wd-c"]) as [string, string, string];

function health(name: string, status: PeerStatus, missed = 0): PeerHealth {
  return {
    name,
    endpoint: `http://127.0.0.1:1/${name}`,
    status,
    last_seen: null,
    missed_count: missed,
    restart_count: 0,
    last_restart: null,
    response_time_ms: 0,
    last_error: null,
    incident_id: null,
    isolated_at: null,
    silenced_until: null,
    owner: null,
  };
}

class World {
  now = 1_000_000;
  readonly health = new Map<string, PeerHealth>();
  readonly views = new Map<string, ReceivedView>();

  /** `member`'s heartbeat on this node. */
  member(name: string, status: PeerStatus, missed = 0): this {
    this.health.set(name, health(name, status, missed));
    return this;
  }

  /** A view of `member` received now, listing `peers` (name → [status, missed]). */
  view(member: string, peers: Record<string, [PeerStatus, number]>): this {
    this.views.set(member, {
      node: member,
      receivedAt: this.now,
      peers: new Map(
        Object.entries(peers).map(([n, [status, missed_count]]) => [n, { status, missed_count }]),
      ),
    });
    return this;
  }

  gate(
    self: string,
    confirm: ConfirmMode,
    members = ["wd-a", "wd-b", "wd-c"].filter((n) => n !== self),
  ): MeshGate {
    return createMeshGate({
      self,
      members,
      confirm,
      health: (p) => this.health.get(p),
      view: (m) => this.views.get(m),
      intervalMs: INTERVAL,
      memberMissedBeforeRestart: 3,
      clock: { now: () => this.now, setTimeout: () => 0, clearTimeout: () => {} },
    });
  }
}

/** A world where both other nodes are alive and watch T, with the given view of T. */
function threeNodes(self: string, others: Record<string, [PeerStatus, number]>): World {
  const w = new World();
  for (const n of ORDER.filter((x) => x !== self)) {
    w.member(n, "HEALTHY").view(n, { [T]: others[n] ?? ["HEALTHY", 0] });
  }
  return w;
}

describe("mesh gate: quorum", () => {
  test("a node alone (no member views) owns its target and acts on a miss", () => {
    const w = new World().member("wd-b", "HEALTHY").member("wd-c", "HEALTHY");
    const g = w.gate("wd-a", "majority");
    assert.deepEqual(g.observers(T), ["wd-a"]);
    assert.equal(g.owner(T), "wd-a");
    assert.equal(g.mayAct(T).act, true);
  });

  test("majority with 3 observers: owner alone failing → no action; 2 failing → action", () => {
    const [owner, second, third] = ORDER;
    const w = threeNodes(owner, {});
    const g = w.gate(owner, "majority");
    assert.deepEqual([...g.observers(T)].sort(), [...ORDER].sort());
    assert.equal(g.owner(T), owner);
    assert.equal(g.mayAct(T).act, false, "1 of 3 is not a majority");
    assert.deepEqual(g.decide(T).failing, [owner]);
    w.view(second, { [T]: ["DEGRADED", 1] });
    assert.equal(g.mayAct(T).act, true, "2 of 3 is a majority");
    w.view(second, { [T]: ["HEALTHY", 0] }).view(third, { [T]: ["OFFLINE", 0] });
    assert.equal(g.mayAct(T).act, true);
  });

  test("verdicts: owner unconfirmed holds with counts; not the owner observes without a hold", () => {
    const [owner, second] = ORDER;
    const w = threeNodes(owner, {});
    assert.deepEqual(w.gate(owner, "majority").mayAct(T), {
      act: false,
      hold: "1 of 3 nodes confirm, 2 needed",
    });
    assert.deepEqual(w.gate(owner, "all").mayAct(T), { act: false, hold: "1 of 3 nodes confirm, 3 needed" });
    const other = threeNodes(second, {});
    assert.deepEqual(other.gate(second, "majority").mayAct(T), { act: false });
    w.view(second, { [T]: ["DEGRADED", 1] });
    assert.deepEqual(w.gate(owner, "majority").mayAct(T), { act: true });
  });

  test("confirm any / all with 3 observers", () => {
    const [owner, second] = ORDER;
    const w = threeNodes(owner, {});
    assert.equal(w.gate(owner, "any").mayAct(T).act, true);
    assert.equal(w.gate(owner, "all").mayAct(T).act, false);
    w.view(second, { [T]: ["DEGRADED", 2] });
    assert.equal(w.gate(owner, "all").mayAct(T).act, false, "2 of 3 is not all");
    w.view(ORDER[2], { [T]: ["ISOLATED", 0] });
    assert.equal(w.gate(owner, "all").mayAct(T).act, true);
  });

  test("what counts as failing in a member's view", () => {
    const [owner, second] = ORDER;
    const cases: Array<[PeerStatus, number, boolean]> = [
      ["HEALTHY", 0, false],
      ["UNKNOWN", 0, false],
      ["HEALTHY", 1, true], // a miss not yet shown as DEGRADED (success_threshold)
      ["DEGRADED", 1, true],
      ["OFFLINE", 0, true],
      ["ISOLATED", 0, true],
    ];
    for (const [status, missed, failing] of cases) {
      // confirm all with only 2 observers: acts iff the other one is failing
      const w = new World().member(second, "HEALTHY").view(second, { [T]: [status, missed] });
      const g = w.gate(owner, "all", [second]);
      assert.equal(g.owner(T), owner);
      assert.equal(g.mayAct(T).act, failing, `${status} missed=${missed}`);
    }
  });

  test("a member whose view does not list the target is not one of its observers", () => {
    const [owner, second, third] = ORDER;
    const w = threeNodes(owner, {}).view(third, { other: ["HEALTHY", 0] });
    const g = w.gate(owner, "majority");
    assert.deepEqual([...g.observers(T)].sort(), [owner, second].sort());
    assert.equal(g.mayAct(T).act, false, "1 of 2 is a tie, not a majority");
    w.view(second, { [T]: ["DEGRADED", 1] });
    assert.equal(g.mayAct(T).act, true);
  });
});

describe("mesh gate: ownership", () => {
  test("a node that is not the owner never acts, even when everyone sees the failure", () => {
    const [owner, second, third] = ORDER;
    const w = threeNodes(second, { [owner]: ["OFFLINE", 0], [third]: ["DEGRADED", 3] });
    const g = w.gate(second, "any");
    assert.equal(g.owner(T), owner);
    assert.equal(g.mayAct(T).act, false);
  });

  test("every node computes the same owner from the same observers", () => {
    const owners = ORDER.map((self) => threeNodes(self, {}).gate(self, "majority").owner(T));
    assert.deepEqual(owners, [ORDER[0], ORDER[0], ORDER[0]]);
  });

  test("owner death → takeover: one lost heartbeat keeps ownership; a stale view moves it", () => {
    const [owner, second, third] = ORDER;
    const w = threeNodes(second, { [owner]: ["DEGRADED", 2], [third]: ["DEGRADED", 2] });
    const g = w.gate(second, "majority");
    assert.equal(g.mayAct(T).act, false);

    // The owner missed a heartbeat but its view is fresh: still the owner.
    w.member(owner, "DEGRADED", 1);
    assert.equal(g.owner(T), owner);
    assert.equal(g.mayAct(T).act, false);

    // No view from the owner for more than 3 intervals (the third node keeps answering).
    w.now += 3 * INTERVAL + 1;
    w.view(third, { [T]: ["DEGRADED", 5] });
    assert.deepEqual([...g.observers(T)].sort(), [second, third].sort());
    assert.equal(g.owner(T), second, "the next in succession takes over");
    assert.equal(g.mayAct(T).act, true, "2 of 2 confirm");
    assert.deepEqual(g.aliveMembers(), [third]);
    assert.equal(g.viewAgeMs(owner), 3 * INTERVAL + 1);
    assert.equal(g.viewAgeMs(third), 0);
    assert.equal(g.viewAgeMs("never"), null);

    // The third node alone would not take over: for it, the second is still the owner.
    const w3 = threeNodes(third, { [owner]: ["DEGRADED", 2], [second]: ["DEGRADED", 2] });
    w3.now += 3 * INTERVAL + 1;
    w3.view(second, { [T]: ["DEGRADED", 5] });
    const g3 = w3.gate(third, "majority");
    assert.equal(g3.owner(T), second);
    assert.equal(g3.mayAct(T).act, false);
  });

  test("a member whose heartbeat is UNKNOWN, OFFLINE or ISOLATED is not alive, fresh view or not", () => {
    const [owner, second] = ORDER;
    for (const s of ["UNKNOWN", "OFFLINE", "ISOLATED"] as PeerStatus[]) {
      const w = threeNodes(second, {}).member(owner, s);
      const g = w.gate(second, "majority");
      assert.ok(!g.observers(T).includes(owner), s);
      assert.equal(g.owner(T), second, s);
    }
    // A member never registered as a peer is not alive either.
    const w = threeNodes(second, {});
    w.health.delete(owner);
    assert.equal(w.gate(second, "majority").owner(T), second);
  });

  test("member peers (other watchdogs) are owned by this node, which only alerts on them", () => {
    const w = new World().member("wd-b", "HEALTHY", 0);
    const g = w.gate("wd-a", "all");
    assert.equal(g.owner("wd-b"), "wd-a");
    assert.equal(g.mayAct("wd-b").act, true, "first miss: alert");
    w.member("wd-b", "DEGRADED", 1);
    assert.equal(g.mayAct("wd-b").act, true, "second miss: still below missed_before_restart");
    w.member("wd-b", "DEGRADED", 2);
    assert.equal(g.mayAct("wd-b").act, false, "third miss would restart a watchdog: observe only");
  });
});

class CountingExecutor implements Executor {
  readonly restarts: string[] = [];
  async restart(_spec: unknown, target: { peer: string; attempt: number }): Promise<ActionResult> {
    this.restarts.push(`${target.peer}:${target.attempt}`);
    return { ok: true };
  }
  async isolate() {
    return { result: { ok: true }, record: { method: "systemd" as const, unit: "x.service", applied: [] } };
  }
  async release(): Promise<ActionResult> {
    return { ok: true };
  }
}

describe("mesh gate in a Monitor", () => {
  test("unconfirmed misses count and hold once; the owner restarts as soon as a quorum confirms", async () => {
    const [owner, second] = ORDER;
    const w = threeNodes(owner, {});
    const ex = new CountingExecutor();
    const m = new Monitor({
      selfName: owner,
      executor: ex,
      prober: new FakeProber(() => MISS),
      missedBeforeRestart: 3,
    });
    m.setGate(w.gate(owner, "majority"));
    m.registerPeer({
      name: T,
      probe: { http: { url: "http://127.0.0.1:1/agent" } },
      restart: { command: { argv: ["/bin/true"] } },
    });
    const actions: string[] = [];
    m.onEscalation((a) => void actions.push(a.action));
    for (let i = 0; i < 5; i++) await m.checkPeer(T);
    assert.deepEqual(ex.restarts, [], "1 of 3: not confirmed");
    assert.deepEqual(actions, ["remediation_held"], "the owner says once that it holds the restart");
    assert.equal(m.getPeerStatus(T)?.missed_count, 5);
    assert.equal(m.getPeerStatus(T)?.status, "DEGRADED");
    assert.equal(m.getPeerStatus(T)?.owner, owner);

    w.view(second, { [T]: ["DEGRADED", 4] });
    await m.checkPeer(T);
    assert.deepEqual(ex.restarts, [`${T}:1`], "2 of 3 confirm: the owner restarts at once");
    assert.ok(actions.includes("restart"));
    await m.stop();
  });

  test("a node that is not the owner shows the owner and never restarts", async () => {
    const [owner, second] = ORDER;
    const w = threeNodes(second, { [owner]: ["DEGRADED", 3], [ORDER[2]]: ["DEGRADED", 3] });
    const ex = new CountingExecutor();
    const m = new Monitor({
      selfName: second,
      executor: ex,
      prober: new FakeProber(() => MISS),
      missedBeforeRestart: 2,
    });
    m.setGate(w.gate(second, "majority"));
    m.registerPeer({
      name: T,
      probe: { http: { url: "http://127.0.0.1:1/agent" } },
      restart: { command: { argv: ["/bin/true"] } },
    });
    for (let i = 0; i < 6; i++) await m.checkPeer(T);
    assert.deepEqual(ex.restarts, []);
    assert.equal(m.getPeerStatus(T)?.owner, owner);
    await m.stop();
  });
});
