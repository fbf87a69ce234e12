// What the Monitor sees across peers, with the fake clock, prober and executor: the storm
// guard (many peers fail at once → one correlated_failure, every restart held, fresh
// counters after), dependencies (a dependent's failures join its failing root's incident,
// one page, a fresh startup grace once the root recovers) and node_blind.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Monitor, type EscalationAction, type MonitorOptions } from "../../src/index.js";
import { initialState } from "../../src/core/ladder.js";
import { stormPolicy } from "../../src/core/storm.js";
import { Correlation } from "../../src/health/correlation.js";
import type { ProbeResult } from "../../src/core/types.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { FakeProber, MISS, OK } from "../helpers/fake-prober.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";

const spec = (name: string, port: number, dependsOn?: string[]) => ({
  name,
  probe: { http: { url: `http://127.0.0.1:${port}/${name}` } },
  restart: { command: { argv: ["/bin/true"] } },
  ...(dependsOn ? { dependsOn } : {}),
});

const nameOf = (url: string): string => url.slice(url.lastIndexOf("/") + 1);

/** A Monitor "n" (self-health off: the fake clock never stalls) and the actions it announces. */
function watched(opts: Omit<MonitorOptions, "selfName">): { m: Monitor; seen: EscalationAction[] } {
  const m = new Monitor({ selfName: "n", selfHealth: false, ...opts });
  const seen: EscalationAction[] = [];
  m.onEscalation((a) => void seen.push(a));
  return { m, seen };
}

/** `watched` on a fake clock with a recording executor; the peers named in `down` miss, the others answer. */
function watchedWhileDown(
  down: Set<string>,
  opts: Omit<MonitorOptions, "selfName" | "clock" | "executor" | "prober">,
): { m: Monitor; seen: EscalationAction[]; ex: RecordingExecutor; clock: FakeClock; prober: FakeProber } {
  const ex = new RecordingExecutor();
  const clock = new FakeClock();
  const prober = new FakeProber((url) => (down.has(nameOf(url)) ? MISS : OK));
  return { ...watched({ clock, executor: ex, prober, ...opts }), ex, clock, prober };
}

describe("storm guard", () => {
  test("4 of 6 peers failing at once: one correlated_failure naming them and their shared host:port, no restart; fresh counters once they recover", async () => {
    const down = new Set(["a", "b", "c", "d"]);
    const { m, seen, ex, clock } = watchedWhileDown(down, {
      missedBeforeRestart: 2,
      interval: "1s",
    });
    for (const n of ["a", "b", "c", "d"]) m.registerPeer(spec(n, 7));
    for (const [n, port] of [
      ["x", 8],
      ["y", 9],
    ] as const)
      m.registerPeer(spec(n, port));
    for (let i = 0; i < 6; i++) {
      await m.checkAllPeers();
      await clock.advance(500);
    }
    const storms = seen.filter((a) => a.action === "correlated_failure");
    assert.equal(storms.length, 1, JSON.stringify(seen.map((a) => a.action)));
    assert.equal(storms[0]?.severity, "CRITICAL");
    assert.equal(storms[0]?.peer_name, "n");
    assert.match(storms[0]?.reason ?? "", /of 6 watched peers failed within \d+ ms: a, b, c(, d)?;/);
    assert.match(storms[0]?.reason ?? "", /same host:port 127\.0\.0\.1:7 \(a, b, c/);
    assert.deepEqual(ex.calls, [], "every restart is held during the storm");
    assert.ok(!seen.some((a) => a.action === "remediation_held"), "no page per peer");
    assert.ok(m.getPeerStatus("d")!.missed_count >= 2, "misses are still counted and shown");

    // Three recover: 1 of 6 fails, below the thresholds; "d" starts again from 0.
    down.clear();
    down.add("d");
    await m.checkAllPeers();
    assert.equal(
      seen.filter((a) => a.action === "correlated_failure_cleared").length,
      0,
      "not before a calm window",
    );
    await clock.advance(2_000); // one calm window: interval 1 s + timeout 800 ms
    await m.checkAllPeers();
    const cleared = seen.filter((a) => a.action === "correlated_failure_cleared");
    assert.equal(cleared.length, 1);
    assert.equal(cleared[0]?.incident_id, storms[0]?.incident_id);
    // Fresh counters: at most this round's own miss of "d" (if it came after the storm ended).
    assert.ok((m.getPeerStatus("d")?.missed_count ?? 9) <= 1, "fresh counters");
    assert.deepEqual(ex.calls, []);
    await clock.advance(500);
    await m.checkAllPeers();
    await clock.advance(500);
    await m.checkAllPeers();
    assert.deepEqual(ex.calls, ["restart:d:1"], "per-peer remediation resumes: K misses after the storm");
  });

  test("peers already settled (silenced or ISOLATED) failing are no new storm: another peer failing alone is restarted", async () => {
    const ex = new RecordingExecutor();
    const down = new Set(["a", "b", "c", "d"]);
    const { m, seen } = watched({
      executor: ex,
      prober: new FakeProber((url) => (down.has(nameOf(url)) ? MISS : OK)),
      missedBeforeRestart: 1,
    });
    for (const n of ["a", "b", "c", "d", "e"]) m.registerPeer(spec(n, 7));
    for (const n of ["a", "b", "c"]) m.silence(n, "1h");
    await m.checkAllPeers();
    assert.deepEqual(ex.calls, ["restart:d:1"]);
    assert.ok(!seen.some((a) => a.action === "correlated_failure"));
  });

  test("a storm holds remediation only: an alert-only peer (a mesh member) going down meanwhile is still alerted", async () => {
    const ex = new RecordingExecutor();
    const { m, seen } = watched({
      executor: ex,
      prober: new FakeProber(() => MISS),
      missedBeforeRestart: 2,
    });
    for (const n of ["a", "b", "c"]) m.registerPeer(spec(n, 7));
    m.registerPeer({ ...spec("member", 9), alertOnly: true });
    for (let i = 0; i < 3; i++) await m.checkAllPeers();
    assert.equal(seen.filter((a) => a.action === "correlated_failure").length, 1);
    assert.deepEqual(ex.calls, []);
    assert.equal(m.getPeerStatus("member")?.status, "OFFLINE");
    const member = seen.filter((a) => a.peer_name === "member").map((a) => `${a.action}:${a.severity}`);
    assert.ok(member.includes("alert:HIGH"), member.join());
  });

  test("storm: false remediates peer by peer as before", async () => {
    const ex = new RecordingExecutor();
    const { m } = watched({
      executor: ex,
      prober: new FakeProber(() => MISS),
      missedBeforeRestart: 1,
      storm: false,
    });
    for (const n of ["a", "b", "c"]) m.registerPeer(spec(n, 7));
    await m.checkAllPeers();
    assert.deepEqual(ex.calls.sort(), ["restart:a:1", "restart:b:1", "restart:c:1"]);
  });

  test("storm thresholds out of range are refused by name", () => {
    assert.throws(() => new Monitor({ selfName: "n", storm: { fraction: 2 } }), /storm\.fraction/);
    assert.throws(() => new Monitor({ selfName: "n", storm: { minPeers: 0 } }), /storm\.minPeers/);
  });
});

describe("dependencies", () => {
  test("while db fails, web and api join its incident (INFO, db's incident id, root_cause), are never restarted, and get a fresh startup grace after db recovers", async () => {
    const down = new Set<string>();
    const { m, seen, ex, clock, prober } = watchedWhileDown(down, {
      missedBeforeRestart: 2,
      interval: "1s",
      retryInterval: "1s",
      startupGrace: "10s",
      restartBackoff: { initial: "1s", max: "1s" },
      random: () => 0,
      storm: false,
    });
    m.registerPeer(spec("db", 5432));
    m.registerPeer(spec("web", 8080, ["db"]));
    m.registerPeer(spec("api", 8081, ["db"]));
    m.start();
    try {
      await clock.advance(1);
      down.add("db");
      await clock.advance(1_000);
      assert.equal(m.getPeerStatus("db")?.status, "DEGRADED");
      down.add("web");
      down.add("api");
      for (let i = 0; i < 8; i++) await clock.advance(1_000);
      const dbIncident = m.getPeerStatus("db")?.incident_id;
      assert.ok(dbIncident);
      for (const n of ["web", "api"]) {
        const h = m.getPeerStatus(n);
        assert.ok((h?.missed_count ?? 0) >= 2, `${n} misses are counted and shown`);
        assert.deepEqual(h?.root_cause, { peer: "db", incident_id: dbIncident });
      }
      assert.ok(ex.calls.length > 0 && ex.calls.every((c) => c.startsWith("restart:db:")), ex.calls.join());
      const joins = seen.filter((a) => a.action === "dependency_failing");
      assert.deepEqual(joins.map((a) => a.peer_name).sort(), ["api", "web"], "once per dependent");
      assert.ok(joins.every((a) => a.incident_id === dbIncident && a.severity === "INFO"));
      const pages = seen.filter((a) => a.severity !== "INFO");
      assert.ok(
        pages.every((a) => a.peer_name === "db"),
        `only db pages: ${pages.map((a) => `${a.peer_name}:${a.action}`).join()}`,
      );

      // db recovers; web and api still fail for a while (they reconnect slowly).
      down.delete("db");
      for (let i = 0; i < 20 && m.getPeerStatus("db")?.status !== "HEALTHY"; i++) await clock.advance(1_000);
      assert.equal(m.getPeerStatus("db")?.status, "HEALTHY");
      assert.equal(m.getPeerStatus("web")?.missed_count, 0, "fresh counters");
      assert.equal(m.getPeerStatus("web")?.root_cause, undefined);
      const probed = (n: string) => prober.calls.filter((u) => nameOf(u) === n).length;
      const before = probed("web");
      await clock.advance(9_000);
      assert.equal(probed("web"), before, "not probed during the fresh startup grace");
      for (let i = 0; i < 30 && probed("web") === before; i++) await clock.advance(100);
      assert.ok(probed("web") > before, "probed again after the grace");
      assert.equal(m.getPeerStatus("web")?.missed_count, 1, "its misses count from 0 after the grace");
      assert.ok(!ex.calls.some((c) => c.startsWith("restart:web")), "no restart of web before K misses");
      await clock.advance(3_000);
      assert.ok(ex.calls.includes("restart:web:1"), "after the grace, web's own misses count again");
    } finally {
      await m.stop();
    }
  });

  test("a dependsOn that closes a cycle is refused with its path", () => {
    const m = new Monitor({ selfName: "n", prober: new FakeProber(() => OK) });
    m.registerPeer(spec("a", 1, ["b"]));
    m.registerPeer(spec("b", 2, ["c"]));
    assert.throws(() => m.registerPeer(spec("c", 3, ["a"])), /cycle: a → b → c → a/);
    assert.throws(() => m.registerPeer(spec("d", 4, ["d"])), /cannot depend on itself/);
  });
});

describe("node_blind", () => {
  test("mostly inconclusive checks raise one node_blind (HIGH) per episode; the recovery is noted", async () => {
    const clock = new FakeClock();
    const local: ProbeResult = {
      ...MISS,
      error: "connect EMFILE",
      cause: { kind: "local", errno: "EMFILE" },
    };
    let script: ProbeResult = local;
    const { m, seen } = watched({ clock, prober: new FakeProber(() => script) });
    for (let i = 0; i < 12; i++) m.registerPeer(spec(`p${i}`, 100 + i));
    await m.checkAllPeers();
    await clock.advance(1_000);
    await m.checkAllPeers();
    const blind = seen.filter((a) => a.action === "node_blind");
    assert.equal(blind.length, 1);
    assert.equal(blind[0]?.severity, "HIGH");
    assert.equal(blind[0]?.peer_name, "n");
    assert.match(blind[0]?.reason ?? "", /of this node's last \d+ checks \(30 s\) were inconclusive/);
    script = OK;
    await clock.advance(31_000);
    await m.checkAllPeers();
    const cleared = seen.filter((a) => a.action === "node_blind_cleared");
    assert.equal(cleared.length, 1);
    assert.equal(cleared[0]?.incident_id, blind[0]?.incident_id);
  });

  test("peers still starting (cause grace) are no blindness, and are logged as the peer's start period, not this node's trouble", async () => {
    const clock = new FakeClock();
    const starting: ProbeResult = {
      ...MISS,
      inconclusive: true,
      error: "container web health is starting (HEALTHCHECK start period): not a miss",
      cause: { kind: "grace" },
    };
    const logged: Array<{ level: string; msg: string; cause?: unknown }> = [];
    const log =
      (level: string) =>
      (obj: object, msg = ""): void =>
        void logged.push({ level, msg, cause: (obj as { cause?: unknown }).cause });
    const logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
    const { m, seen } = watched({ clock, logger, prober: new FakeProber(() => starting) });
    for (let i = 0; i < 12; i++) m.registerPeer(spec(`p${i}`, 100 + i));
    await m.checkAllPeers();
    await clock.advance(1_000);
    await m.checkAllPeers();
    assert.deepEqual(
      seen.map((a) => a.action),
      [],
      "no node_blind, no miss, no restart while the peers start",
    );
    const said = logged.filter((l) => l.cause === "grace");
    assert.equal(said.length, 12, JSON.stringify(logged));
    for (const l of said) assert.deepEqual([l.level, l.msg], ["info", "peer still starting; not a miss yet"]);
    assert.ok(!logged.some((l) => /own trouble/.test(l.msg)), JSON.stringify(logged));
    assert.equal(m.getPeerStatus("p0")?.restart_count, 0);
  });
});

describe("Correlation (the guards' state)", () => {
  const peers = new Map(
    ["a", "b", "c", "d"].map((n) => [
      n,
      { spec: spec(n, 7), state: initialState(), endpoint: "e", target: { host: "127.0.0.1", port: 7 } },
    ]),
  );
  const guards = () =>
    new Correlation({ selfName: "n", storm: stormPolicy(), windowMs: 1_000, newId: () => "i" });
  const storms = (r: { entries: Array<{ action: { action: string } }> }) =>
    r.entries.filter((e) => e.action.action === "correlated_failure").length;

  test("misses older than the window no longer count: 3 of 4 missing a window apart is no storm", () => {
    const c = guards();
    const t0 = 1_000_000;
    assert.equal(storms(c.observe("a", "miss", t0, peers)), 0);
    assert.equal(storms(c.observe("b", "miss", t0 + 10, peers)), 0);
    assert.equal(
      storms(c.observe("c", "miss", t0 + 1_011, peers)),
      0,
      "a's and b's misses fell out of the window",
    );
    assert.equal(storms(c.observe("a", "miss", t0 + 1_012, peers)), 0, "c and a: 2 of 4");
    assert.equal(storms(c.observe("b", "ok", t0 + 1_013, peers)), 0);
    assert.equal(
      storms(c.observe("d", "miss", t0 + 2_005, peers)),
      1,
      "c (994 ms ago), a and d within the window: 3 of 4",
    );
    assert.equal(c.storm, true);
  });
});
