// Clock skew between members: measured from the view exchange (a refused request's Date
// header, a view's `at`), shown in GET /v1/mesh, named in the hold reason instead of
// "unreachable", and alerted once per episode (clock_skew, then clock_skew_cleared).
// Two library Monitors on fake clocks, the member served on a real loopback server.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Monitor } from "../../src/index.js";
import type { EscalationAction } from "../../src/core/types.js";
import { ClockSkew, dateHeaderMs, estimateOffset, skewText } from "../../src/mesh/clock-skew.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { closeServer, listen } from "../helpers/listen.js";
import { freePort } from "../helpers/ports.js";

const KEY = "clock-skew-mesh-key-0123456789";
const TEN_MIN = 600_000;

describe("clock offset estimate", () => {
  test("NTP style: the member's reading against the middle of the round trip", () => {
    assert.deepEqual(estimateOffset(10_000 + TEN_MIN + 50, 10_000, 100), {
      offsetMs: TEN_MIN,
      uncertaintyMs: 50,
    });
    assert.deepEqual(estimateOffset(10_000 - 5_000, 10_000, 0, 500), {
      offsetMs: -5_000,
      uncertaintyMs: 500,
    });
    assert.equal(dateHeaderMs("Thu, 01 Jan 2026 00:10:00 GMT"), Date.parse("2026-01-01T00:10:00.500Z"));
    assert.equal(dateHeaderMs("not a date"), undefined);
    assert.equal(dateHeaderMs(undefined), undefined);
  });

  test("a sample that agrees with the kept one, no more precise, leaves it (no flicker)", () => {
    const skew = new ClockSkew({ selfName: "wd-a", boundMs: 30_000, newId: () => "i" });
    skew.record("wd-b", { offsetMs: 600_250, uncertaintyMs: 500 }, 1);
    const v = skew.version;
    skew.record("wd-b", { offsetMs: 600_700, uncertaintyMs: 500 }, 2);
    assert.equal(skew.offsetMs("wd-b"), 600_250);
    assert.equal(skew.version, v, "nothing changed for GET /v1/mesh");
    assert.match(skew.refusalReason("wd-b") ?? "", /600 s ahead/);
    skew.record("wd-b", { offsetMs: 600_010, uncertaintyMs: 3 }, 3);
    assert.equal(skew.offsetMs("wd-b"), 600_010, "a more precise sample replaces it");
    skew.record("wd-b", { offsetMs: 5_000, uncertaintyMs: 500 }, 4);
    assert.equal(skew.offsetMs("wd-b"), 5_000, "a sample that disagrees replaces it");
  });

  test("the words name the member, the direction and the bound", () => {
    assert.equal(
      skewText("wd-b", 600_400, 60_000),
      "member wd-b's clock is 600 s ahead of this node's (the mesh allows 60 s): fix NTP on one of them",
    );
    assert.match(
      skewText("wd-c", -90_000, 30_000),
      /^member wd-c's clock is 90 s behind this node's \(the mesh allows 30 s\)/,
    );
  });

  test("one clock_skew per episode, cleared when every member is back within the bound", () => {
    const seen: EscalationAction[] = [];
    let id = 0;
    const skew = new ClockSkew({
      selfName: "wd-a",
      boundMs: 30_000,
      newId: () => `id-${++id}`,
      journal: (e) => seen.push(e.action),
    });
    skew.record("wd-b", { offsetMs: 29_000, uncertaintyMs: 10 }, 1);
    assert.equal(seen.length, 0, "within the bound: nothing");
    skew.record("wd-b", { offsetMs: 45_000, uncertaintyMs: 10 }, 2);
    skew.record("wd-c", { offsetMs: -40_000, uncertaintyMs: 10 }, 3);
    skew.record("wd-b", { offsetMs: 46_000, uncertaintyMs: 10 }, 4);
    assert.deepEqual(
      seen.map((a) => [a.action, a.severity, a.peer_name]),
      [["clock_skew", "HIGH", "wd-a"]],
    );
    assert.match(
      seen[0]?.reason ?? "",
      /member wd-b's clock is 45 s ahead of this node's \(the mesh allows 30 s\)/,
    );
    assert.equal(skew.refusalReason("wd-b"), undefined, "45 s: view requests are still accepted (±60 s)");
    skew.record("wd-b", { offsetMs: 100, uncertaintyMs: 10 }, 5);
    assert.equal(seen.length, 1, "wd-c is still off: the episode goes on");
    skew.record("wd-c", { offsetMs: -29_995, uncertaintyMs: 10 }, 6);
    assert.equal(seen.length, 1, "within the bound by less than its uncertainty: not cleared yet");
    skew.record("wd-c", { offsetMs: -100, uncertaintyMs: 10 }, 7);
    assert.deepEqual(
      seen.map((a) => [a.action, a.severity, a.incident_id]),
      [
        ["clock_skew", "HIGH", seen[0]?.incident_id],
        ["clock_skew_cleared", "INFO", seen[0]?.incident_id],
      ],
    );
  });
});

describe("a member whose clock is 10 minutes ahead", () => {
  test("its offset is measured from the refusal, shown, named in the hold, alerted once and cleared once", async () => {
    // On a whole second plus 250 ms, so the member's Date header reads a known second.
    const t0 = Math.floor(Date.now() / 1000) * 1000 + 250;
    const clockA = new FakeClock(t0);
    const clockB = new FakeClock(t0 + TEN_MIN);
    const portB = await freePort();
    const a = new Monitor({
      selfName: "lib-a",
      clock: clockA,
      interval: 1_000,
      timeout: 900,
      mesh: { key: KEY, confirm: "all", members: [{ name: "lib-b", url: `http://127.0.0.1:${portB}` }] },
    });
    const b = new Monitor({
      selfName: "lib-b",
      clock: clockB,
      interval: 1_000,
      timeout: 900,
      mesh: { key: KEY, confirm: "all", members: [{ name: "lib-a", url: "http://127.0.0.1:9" }] },
    });
    a.registerPeer("worker", "http://127.0.0.1:9/health");
    const actions: EscalationAction[] = [];
    a.onEscalation((e) => void actions.push(e));
    const served = await listen(b.mesh.handler, portB);
    const poller = a.mesh.poller;
    assert.ok(poller, "a mesh key and a member: a poller");
    try {
      await poller.pollOnce();
      assert.equal(
        poller.latest("lib-b"),
        undefined,
        "the member refused the request (its timestamp is 10 min old to it)",
      );
      const offset = a.mesh.meshDocument().members[0]?.clock_offset_ms;
      assert.equal(typeof offset, "number", "GET /v1/mesh shows the member's clock offset");
      assert.ok(Math.abs((offset as number) - TEN_MIN) <= 1_000, `offset ${offset} ms is 600 s ± 1 s`);
      assert.match(a.mesh.meshJson(), /"clock_offset_ms":600\d\d\d/);

      const hold = a.mesh.gate?.decide("worker").verdict;
      assert.ok(hold && "hold" in hold && hold.hold !== undefined, "it holds: lib-b cannot confirm");
      assert.match(
        hold.hold,
        /member lib-b's clock is 600 s ahead of this node's \(the mesh allows 60 s\): fix NTP on one of them/,
      );
      assert.doesNotMatch(hold.hold, /unreachable/, "the skew is named, not a lost member");

      await poller.pollOnce();
      const skews = () => actions.filter((x) => x.action.startsWith("clock_skew")).map((x) => x.action);
      assert.deepEqual(skews(), ["clock_skew"], "one alert for the episode, not one per poll");
      assert.equal(actions.find((x) => x.action === "clock_skew")?.severity, "HIGH");

      // NTP fixed on lib-b: its views are accepted again and their `at` measures the offset.
      clockB.setWallClockBy(-TEN_MIN);
      await poller.pollOnce();
      assert.ok(poller.latest("lib-b"), "the view is accepted again");
      assert.equal(
        a.mesh.meshDocument().members[0]?.clock_offset_ms,
        0,
        "the view's `at` (ms) against a still fake clock",
      );
      await poller.pollOnce();
      assert.deepEqual(skews(), ["clock_skew", "clock_skew_cleared"]);
      assert.equal(actions.find((x) => x.action === "clock_skew_cleared")?.severity, "INFO");
    } finally {
      await a.stop();
      await b.stop();
      await closeServer(served.server);
    }
  });
});
