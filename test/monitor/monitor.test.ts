// Monitor behaviour with a fake clock, a scripted prober and a fake executor.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Monitor,
  WatchdogError,
  type EscalationAction,
  type Executor,
  type GateVerdict,
} from "../../src/index.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { ActionResult } from "../../src/core/types.js";
import type { MonitorStore, TransitionCommit } from "../../src/store/types.js";
import { FakeClock, settle } from "../helpers/fake-clock.js";
import { FakeProber, MISS, OK } from "../helpers/fake-prober.js";

const U = (n: string): string => `http://127.0.0.1:1/${n}`;

class FakeExecutor implements Executor {
  readonly calls: string[] = [];
  restartResult: ActionResult = { ok: true, detail: "restarted", main_pid: 42 };
  async restart(spec: unknown, target: { peer: string; attempt: number }): Promise<ActionResult> {
    this.calls.push(`restart:${target.peer}:${target.attempt}`);
    return { ...this.restartResult };
  }
  async isolate(_spec: unknown, target: { peer: string }) {
    this.calls.push(`isolate:${target.peer}`);
    return {
      result: { ok: true, detail: "IPAddressDeny=any verified" },
      record: { method: "systemd" as const, unit: "x.service", applied: ["IPAddressDeny=any"] },
    };
  }
  async release(
    _spec: unknown,
    record: { applied: string[] } | null,
    target: { peer: string },
  ): Promise<ActionResult> {
    this.calls.push(`release:${target.peer}:${record?.applied.join(",") ?? "none"}`);
    return { ok: true };
  }
}

const full = (name: string) => ({
  name,
  probe: { http: { url: U(name) } },
  restart: { systemd: { unit: `${name}.service` } },
  isolate: { systemd: { unit: `${name}.service`, mode: "network" as const } },
});

describe("Monitor options and registration", () => {
  const bad: Array<[string, Record<string, unknown>, string]> = [
    ["negative interval", { interval: -1 }, "interval"],
    ["unparseable interval", { interval: "soon" }, "interval"],
    ["timeout >= interval", { interval: "1s", timeout: "1s" }, "timeout"],
    ["K < 1", { missedBeforeRestart: 0 }, "missedBeforeRestart"],
    ["R negative", { restartsBeforeIsolate: -1 }, "restartsBeforeIsolate"],
    ["K not an integer", { missedBeforeRestart: 1.5 }, "missedBeforeRestart"],
    ["concurrency 0", { concurrency: 0 }, "concurrency"],
    ["backoff max < initial", { restartBackoff: { initial: "1m", max: "10s" } }, "restartBackoff.max"],
  ];
  for (const [what, opts, field] of bad) {
    test(`rejects ${what} with WDM_INVALID_OPTION naming ${field}`, () => {
      assert.throws(
        () => new Monitor({ selfName: "n", ...opts }),
        (e: unknown) => e instanceof WatchdogError && e.code === "WDM_INVALID_OPTION" && e.field === field,
      );
    });
  }

  test("rejects a missing selfName", () => {
    assert.throws(() => new Monitor({} as never), /selfName/);
  });

  test("invalid URL and duplicate names are typed errors", () => {
    const m = new Monitor({ selfName: "n" });
    assert.throws(
      () => m.registerPeer("a", "not a url"),
      (e: unknown) =>
        e instanceof WatchdogError && e.code === "WDM_INVALID_OPTION" && /probe\.http\.url/.test(e.message),
    );
    assert.throws(() => m.registerPeer("a", "ftp://x/health"), /http\(s\)/);
    m.registerPeer("a", U("a"));
    assert.throws(
      () => m.registerPeer("a", U("a")),
      (e: unknown) => e instanceof WatchdogError && e.code === "WDM_DUPLICATE_PEER",
    );
    assert.throws(
      () => m.registerPeer({ ...full("b"), timeout: "40s" }),
      (e: unknown) => e instanceof WatchdogError && e.field === "peers.b.timeout",
    );
  });

  test("unknown peer in operator calls → WDM_UNKNOWN_PEER", async () => {
    const m = new Monitor({ selfName: "n" });
    await assert.rejects(
      m.release("ghost"),
      (e: unknown) => e instanceof WatchdogError && e.code === "WDM_UNKNOWN_PEER",
    );
    assert.throws(() => m.silence("ghost", "1h"), /ghost/);
  });
});

describe("Monitor escalation with remediation", () => {
  test("restart and isolate go through the executor; results land on the actions", async () => {
    const ex = new FakeExecutor();
    const prober = new FakeProber(() => MISS);
    const m = new Monitor({ selfName: "n", executor: ex, prober });
    const seen: EscalationAction[] = [];
    m.onEscalation((a) => void seen.push(a));
    m.registerPeer(full("sidecar"));
    for (let i = 0; i < 12; i++) await m.checkAllPeers();
    assert.deepEqual(ex.calls, [
      "restart:sidecar:1",
      "restart:sidecar:2",
      "restart:sidecar:3",
      "isolate:sidecar",
    ]);
    const restart = seen.find((a) => a.action === "restart");
    assert.deepEqual(restart?.result?.main_pid, 42);
    const iso = seen.find((a) => a.action === "isolate");
    assert.equal(iso?.result?.ok, true);
    assert.equal(seen.at(-1)?.action, "alert_architect");
    const rel = await m.release("sidecar");
    assert.equal(rel.action, "release");
    assert.equal(ex.calls.at(-1), "release:sidecar:IPAddressDeny=any");
    assert.equal(m.getPeerStatus("sidecar")?.status, "UNKNOWN");
    assert.equal(m.getPeerStatus("sidecar")?.restart_count, 0);
  });

  test("a failing executor is a failed result, and the ladder goes on", async () => {
    const ex = new FakeExecutor();
    ex.restartResult = { ok: false, error: "Unit sidecar.service not found." };
    const m = new Monitor({ selfName: "n", executor: ex, prober: new FakeProber(() => MISS) });
    const seen: EscalationAction[] = [];
    m.onEscalation((a) => void seen.push(a));
    m.registerPeer(full("sidecar"));
    for (let i = 0; i < 12; i++) await m.checkAllPeers();
    assert.equal(seen.filter((a) => a.action === "restart" && a.result?.ok === false).length, 3);
    assert.equal(m.getPeerStatus("sidecar")?.status, "ISOLATED");
  });

  test("an executor that throws is recorded as a failed result", async () => {
    const ex = new FakeExecutor();
    ex.restart = async () => {
      throw new Error("boom");
    };
    const m = new Monitor({
      selfName: "n",
      executor: ex,
      prober: new FakeProber(() => MISS),
      missedBeforeRestart: 1,
    });
    const seen: EscalationAction[] = [];
    m.onEscalation((a) => void seen.push(a));
    m.registerPeer(full("p"));
    await m.checkAllPeers();
    assert.equal(seen[0]?.result?.ok, false);
    assert.match(seen[0]?.result?.error ?? "", /boom/);
  });

  test("silenced peers are probed and shown but never escalated", async () => {
    const ex = new FakeExecutor();
    const m = new Monitor({ selfName: "n", executor: ex, prober: new FakeProber(() => MISS) });
    const seen: EscalationAction[] = [];
    m.onEscalation((a) => void seen.push(a));
    m.registerPeer(full("p"));
    const h = m.silence("p", "1h");
    assert.ok(h.silenced_until);
    for (let i = 0; i < 10; i++) await m.checkAllPeers();
    assert.equal(seen.length, 0);
    assert.equal(ex.calls.length, 0);
    assert.equal(m.getPeerStatus("p")?.missed_count, 10);
  });

  test("a handler that throws or never resolves neither breaks nor delays the others", async () => {
    const m = new Monitor({ selfName: "n", prober: new FakeProber(() => MISS) });
    const seen: string[] = [];
    m.onEscalation(() => {
      throw new Error("bad handler");
    });
    m.onEscalation(() => new Promise<void>(() => {}));
    m.onEscalation(async () => {
      throw new Error("rejecting handler");
    });
    const off = m.onEscalation((a) => void seen.push(a.action));
    m.registerPeer("p", U("p"));
    await m.checkAllPeers();
    assert.deepEqual(seen, ["alert"]);
    off();
    await m.checkAllPeers();
    await m.checkAllPeers();
    assert.deepEqual(seen, ["alert"], "unsubscribed handler is not called");
    assert.equal(m.getPeerStatus("p")?.status, "OFFLINE");
  });

  test("mesh gate: an observer counts misses and reports the first one, but never restarts; the owner does", async () => {
    const ex = new FakeExecutor();
    let owner = "other-node";
    const m = new Monitor({
      selfName: "n",
      executor: ex,
      prober: new FakeProber(() => MISS),
      gate: { mayAct: () => ({ act: owner === "n" }), owner: () => owner },
    });
    const seen: string[] = [];
    m.onEscalation((a) => void seen.push(a.action));
    m.registerPeer(full("p"));
    for (let i = 0; i < 5; i++) await m.checkAllPeers();
    assert.deepEqual(
      seen,
      ["alert", "remediation_observed"],
      "the first miss reported once per incident; journaled once past K, never as a step",
    );
    assert.deepEqual(ex.calls, []);
    assert.equal(m.getPeerStatus("p")?.status, "DEGRADED");
    assert.equal(m.getPeerStatus("p")?.missed_count, 5);
    assert.equal(m.getPeerStatus("p")?.owner, "other-node");
    owner = "n"; // the owner died: this node takes over
    await m.checkAllPeers();
    assert.deepEqual(seen, ["alert", "remediation_observed", "restart"]);
    assert.deepEqual(ex.calls, ["restart:p:1"]);
    assert.equal(m.getPeerStatus("p")?.owner, "n");
  });

  test("mesh gate hold: remediation_held HIGH once per incident, nothing run, journalled", async () => {
    const ex = new FakeExecutor();
    const store = SqliteStore.open({
      dataDir: ":memory:",
      sinks: [{ name: "s", minSeverity: "HIGH" }],
      node: "n",
    });
    let verdict: GateVerdict = { act: false, hold: "1 of 3 nodes confirm, 2 needed" };
    const m = new Monitor({
      selfName: "n",
      executor: ex,
      store,
      prober: new FakeProber(() => MISS),
      gate: { mayAct: () => verdict, owner: () => "n" },
    });
    const seen: EscalationAction[] = [];
    m.onEscalation((a) => void seen.push(a));
    m.registerPeer(full("p"));
    for (let i = 0; i < 8; i++) await m.checkAllPeers();
    assert.deepEqual(
      seen.map((a) => `${a.action}:${a.severity}`),
      ["alert:MEDIUM", "remediation_held:HIGH"],
    );
    assert.match(seen[1]?.reason ?? "", /1 of 3 nodes confirm, 2 needed/);
    assert.deepEqual(ex.calls, [], "nothing was restarted");
    assert.equal(m.getPeerStatus("p")?.status, "DEGRADED");
    assert.deepEqual(
      store.journal().map((e) => e.action),
      ["alert", "remediation_held"],
    );
    assert.deepEqual(
      store.list({ sink: "s" }).map((r) => r.action.action),
      ["remediation_held"],
      "HIGH: routed to a HIGH sink",
    );
    verdict = { act: true };
    await m.checkAllPeers();
    assert.deepEqual(ex.calls, ["restart:p:1"]);
    assert.equal(seen.at(-1)?.incident_id, seen[0]?.incident_id, "one incident");
    await m.stop();
    store.close();
  });

  test("a gate that throws holds remediation instead of acting alone", async () => {
    const ex = new FakeExecutor();
    const m = new Monitor({
      selfName: "n",
      executor: ex,
      prober: new FakeProber(() => MISS),
      gate: {
        mayAct: () => {
          throw new Error("views unavailable");
        },
        owner: () => "n",
      },
    });
    const seen: EscalationAction[] = [];
    m.onEscalation((a) => void seen.push(a));
    m.registerPeer(full("p"));
    for (let i = 0; i < 4; i++) await m.checkAllPeers();
    assert.deepEqual(ex.calls, []);
    assert.deepEqual(
      seen.map((a) => a.action),
      ["alert", "remediation_held"],
    );
    assert.match(seen[1]?.reason ?? "", /mesh gate failed/);
  });

  test("the transition is committed before the effect runs", async () => {
    const order: string[] = [];
    const commits: TransitionCommit[] = [];
    const store: MonitorStore = {
      loadPeers: () => [],
      commit: (t) => {
        commits.push(t);
        order.push(`commit:${t.actions.map((a) => a.action).join(",")}`);
      },
      saveState: () => {},
      recordEffectResult: (id, r) => void order.push(`result:${r.ok}`),
      pendingEffects: () => [],
      effect: () => undefined,
      isolation: () => null,
      flush: () => {},
      close: () => {},
    };
    const ex = new FakeExecutor();
    const origRestart = ex.restart.bind(ex);
    ex.restart = async (s, t) => {
      order.push("restart-runs");
      return origRestart(s, t);
    };
    const m = new Monitor({
      selfName: "n",
      executor: ex,
      store,
      prober: new FakeProber(() => MISS),
      missedBeforeRestart: 1,
    });
    m.registerPeer(full("p"));
    await m.checkAllPeers();
    assert.deepEqual(order, ["commit:restart", "restart-runs", "result:true"]);
    assert.deepEqual(commits[0]?.effects, [{ id: commits[0]?.actions[0]?.id, kind: "restart", attempt: 1 }]);
  });
});

describe("Monitor scheduling (fake clock)", () => {
  test("jittered first probe, interval after ok, retry_interval after a miss", async () => {
    const clock = new FakeClock();
    let answer = OK;
    const prober = new FakeProber(() => answer);
    const m = new Monitor({
      selfName: "n",
      clock,
      prober,
      interval: "10s",
      retryInterval: "2s",
      random: () => 0.5,
    });
    m.registerPeer("p", U("p"));
    m.start();
    await clock.advance(4_999);
    assert.equal(prober.calls.length, 0, "first probe jittered to 5 s");
    await clock.advance(1);
    assert.equal(prober.calls.length, 1);
    answer = MISS;
    await clock.advance(10_000);
    assert.equal(prober.calls.length, 2, "next probe one interval later");
    await clock.advance(1_999);
    assert.equal(prober.calls.length, 2);
    await clock.advance(1);
    assert.equal(prober.calls.length, 3, "after a miss: retry_interval");
    await m.stop();
    assert.equal(clock.pending, 0, "no timers left after stop");
  });

  test("after a restart: startup_grace + backoff (initial × 2^(n−1), capped) before the next probe", async () => {
    const clock = new FakeClock();
    const prober = new FakeProber(() => MISS);
    const m = new Monitor({
      selfName: "n",
      clock,
      prober,
      executor: new FakeExecutor(),
      interval: "10s",
      retryInterval: "1s",
      missedBeforeRestart: 1,
      restartsBeforeIsolate: 5,
      startupGrace: "5s",
      restartBackoff: { initial: "10s", max: "25s" },
      random: () => 0,
    });
    m.registerPeer(full("p"));
    m.start();
    const times: number[] = [];
    const t0 = clock.now();
    m.onEscalation((a) => void (a.action === "restart" && times.push(clock.now() - t0)));
    await clock.advance(200_000);
    await m.stop();
    // restart 1 at 0; then 5+10=15 s; then 5+20=25 s; then 5+25 (cap)=30 s ...
    assert.deepEqual(times.slice(0, 4), [0, 15_000, 40_000, 70_000]);
  });

  test("concurrency is bounded and one peer is never probed twice at once", async () => {
    const clock = new FakeClock();
    const gates: Array<() => void> = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const prober = new FakeProber(
      () =>
        new Promise((resolve) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          gates.push(() => {
            inFlight--;
            resolve(OK);
          });
        }),
    );
    const m = new Monitor({ selfName: "n", clock, prober, concurrency: 3, interval: "10s", random: () => 0 });
    for (let i = 0; i < 10; i++) m.registerPeer(`p${i}`, U(`p${i}`));
    m.start();
    await clock.advance(0);
    assert.equal(inFlight, 3, "only `concurrency` probes in flight");
    const round = m.checkAllPeers(); // overlaps with the scheduled probes
    await settle();
    while (gates.length > 0) {
      gates.shift()?.();
      await settle();
    }
    await round;
    assert.equal(maxInFlight, 3);
    assert.equal(prober.maxConcurrentPerUrl, 1, "never two probes of one peer at once");
    assert.ok(m.schedulerStats().lateness.samples >= 10);
    await m.stop();
  });

  test("one hung peer does not delay the others", async () => {
    const clock = new FakeClock();
    const prober = new FakeProber((url) => (url.endsWith("/hung") ? new Promise(() => {}) : OK));
    const m = new Monitor({ selfName: "n", clock, prober, interval: "1s", random: () => 0 });
    m.registerPeer("hung", U("hung"));
    m.registerPeer("ok", U("ok"));
    m.start();
    await clock.advance(5_000);
    const okChecks = prober.calls.filter((u) => u.endsWith("/ok")).length;
    assert.ok(okChecks >= 5, `healthy peer probed ${okChecks} times in 5 s`);
    assert.equal(prober.calls.filter((u) => u.endsWith("/hung")).length, 1);
    assert.equal(m.getPeerStatus("ok")?.status, "HEALTHY");
    // stop() must not wait forever on the hung (fake) probe: the real prober honours the abort signal.
    void m.stop();
  });

  test("start() and stop() are idempotent; start after stop works", async () => {
    const clock = new FakeClock();
    const prober = new FakeProber(() => OK);
    const m = new Monitor({ selfName: "n", clock, prober, interval: "1s", random: () => 0 });
    m.registerPeer("p", U("p"));
    m.start();
    m.start();
    await clock.advance(2_500);
    const n = prober.calls.length;
    assert.equal(n, 3);
    await m.stop();
    await m.stop();
    assert.equal(clock.pending, 0);
    await clock.advance(5_000);
    assert.equal(prober.calls.length, n);
    m.start();
    await clock.advance(1_000);
    assert.ok(prober.calls.length > n);
    await m.stop();
    assert.equal(clock.pending, 0);
  });

  test("isProgressing() turns false when probing is wedged (systemd watchdog stops being fed)", async () => {
    const clock = new FakeClock();
    let hang = false;
    const prober = new FakeProber(() => (hang ? new Promise(() => {}) : OK));
    const m = new Monitor({
      selfName: "n",
      clock,
      prober,
      interval: "1s",
      timeout: "500ms",
      random: () => 0,
    });
    assert.equal(m.isProgressing(), true, "not started");
    m.registerPeer("p", U("p"));
    m.start();
    await clock.advance(3_000);
    assert.equal(m.isProgressing(), true);
    hang = true;
    await clock.advance(2_000);
    assert.equal(m.isProgressing(), true, "within 2 × interval + timeout of the last probe");
    await clock.advance(1_000);
    assert.equal(m.isProgressing(), false);
    void m.stop();
  });

  test("a peer registered after start() is scheduled", async () => {
    const clock = new FakeClock();
    const prober = new FakeProber(() => OK);
    const m = new Monitor({ selfName: "n", clock, prober, interval: "1s", random: () => 0 });
    m.start();
    m.registerPeer("late", U("late"));
    await clock.advance(10);
    assert.equal(prober.calls.length, 1);
    await m.stop();
  });

  test("restart_count returns to 0 after stable_after of health", async () => {
    const clock = new FakeClock();
    let answer = MISS;
    const m = new Monitor({
      selfName: "n",
      clock,
      prober: new FakeProber(() => answer),
      interval: "10s",
      missedBeforeRestart: 1,
      stableAfter: "1m",
      startupGrace: 0,
      restartBackoff: { initial: 0, max: 0 },
      random: () => 0,
    });
    m.registerPeer("p", U("p"));
    m.start();
    await clock.advance(0);
    assert.equal(m.getPeerStatus("p")?.restart_count, 1);
    answer = OK;
    await clock.advance(30_000);
    assert.equal(m.getPeerStatus("p")?.restart_count, 1);
    await clock.advance(40_000);
    assert.equal(m.getPeerStatus("p")?.restart_count, 0);
    await m.stop();
  });
});
