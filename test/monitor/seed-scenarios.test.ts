// The Go seed's own test scenarios (seed/SCENARIOS.md), ported to the Monitor API,
// against real HTTP servers on loopback.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Monitor, type EscalationAction } from "../../src/index.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { FakeProber, OK } from "../helpers/fake-prober.js";

let status = 200;
let server: Server;
let url = "";
let deadUrl = "";

before(async () => {
  server = createServer((_req, res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end('{"status":"ok"}');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  // A port where nothing listens: bind, note the port, close.
  const tmp = createServer();
  await new Promise<void>((r) => tmp.listen(0, "127.0.0.1", r));
  deadUrl = `http://127.0.0.1:${(tmp.address() as AddressInfo).port}/health`;
  await new Promise<void>((r) => tmp.close(() => r()));
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function monitor(): Monitor {
  return new Monitor({ selfName: "immune", interval: "30s", timeout: "2s" });
}

/** A monitor watching the dead peer, and the escalations it announces. */
function watchingDead(): { m: Monitor; seen: EscalationAction[] } {
  const m = monitor();
  const seen: EscalationAction[] = [];
  m.onEscalation((a) => void seen.push(a));
  m.registerPeer("dead", deadUrl);
  return { m, seen };
}

describe("seed scenarios", () => {
  test("1. register two peers: allPeers() has 2 entries, sorted, UNKNOWN before any probe", async () => {
    const m = monitor();
    m.registerPeer("sidecar", url);
    m.registerPeer("immune-2", url);
    const all = m.allPeers();
    assert.deepEqual(
      all.map((p) => [p.name, p.status]),
      [
        ["immune-2", "UNKNOWN"],
        ["sidecar", "UNKNOWN"],
      ],
    );
    await m.stop();
  });

  test("2. a peer answering 200: after one round HEALTHY, missed_count 0", async () => {
    const m = monitor();
    status = 200;
    m.registerPeer("sidecar", url);
    await m.checkAllPeers();
    const p = m.getPeerStatus("sidecar");
    assert.equal(p?.status, "HEALTHY");
    assert.equal(p?.missed_count, 0);
    assert.ok(p?.last_seen);
    await m.stop();
  });

  test("3. nothing listening: after one round DEGRADED, missed_count 1, last_error says refused", async () => {
    const m = monitor();
    m.registerPeer("dead", deadUrl);
    await m.checkAllPeers();
    const p = m.getPeerStatus("dead");
    assert.equal(p?.status, "DEGRADED");
    assert.equal(p?.missed_count, 1);
    assert.match(p?.last_error ?? "", /refused/);
    await m.stop();
  });

  test("4. dead peer, 3 rounds: OFFLINE, restart_count 1, a restart escalation emitted", async () => {
    const { m, seen } = watchingDead();
    for (let i = 0; i < 3; i++) await m.checkAllPeers();
    const p = m.getPeerStatus("dead");
    assert.equal(p?.status, "OFFLINE");
    assert.equal(p?.restart_count, 1);
    assert.deepEqual(
      seen.map((a) => a.action),
      ["alert", "restart"],
    );
    assert.equal(seen[1]?.severity, "HIGH");
    await m.stop();
  });

  test("5. dead peer, 3 × 3 rounds then 3 more: ISOLATED with a CRITICAL isolate", async () => {
    const { m, seen } = watchingDead();
    for (let i = 0; i < 12; i++) await m.checkAllPeers();
    assert.equal(m.getPeerStatus("dead")?.status, "ISOLATED");
    const iso = seen.find((a) => a.action === "isolate");
    assert.equal(iso?.severity, "CRITICAL");
    assert.equal(seen.filter((a) => a.action === "restart").length, 3);
    // Changed on purpose: later misses neither re-isolate nor re-alert.
    for (let i = 0; i < 3; i++) await m.checkAllPeers();
    assert.equal(seen.filter((a) => a.action === "isolate").length, 1);
    assert.equal(seen.filter((a) => a.action === "alert").length, 1);
    assert.equal(m.stats().total_isolations, 1);
    await m.stop();
  });

  test("6. 200 → 503 → 200: HEALTHY → DEGRADED → HEALTHY, missed_count back to 0", async () => {
    const m = monitor();
    m.registerPeer("flappy", url);
    status = 200;
    await m.checkAllPeers();
    assert.equal(m.getPeerStatus("flappy")?.status, "HEALTHY");
    status = 503;
    await m.checkAllPeers();
    assert.equal(m.getPeerStatus("flappy")?.status, "DEGRADED");
    assert.match(m.getPeerStatus("flappy")?.last_error ?? "", /503/);
    status = 200;
    await m.checkAllPeers();
    assert.equal(m.getPeerStatus("flappy")?.status, "HEALTHY");
    assert.equal(m.getPeerStatus("flappy")?.missed_count, 0);
    await m.stop();
  });

  test("7. dead peer, 2 rounds: total_checks 2, total_misses 2, peer_count 1", async () => {
    const m = monitor();
    m.registerPeer("dead", deadUrl);
    await m.checkAllPeers();
    await m.checkAllPeers();
    const s = m.stats();
    assert.equal(s.total_checks, 2);
    assert.equal(s.total_misses, 2);
    assert.equal(s.peer_count, 1);
    await m.stop();
  });

  test("8. the HTTP handler answers 200 with application/json and the mesh view", async () => {
    const m = monitor();
    m.registerPeer("sidecar", url);
    const srv = createServer(m.mesh.handler);
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const res = await fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const body = (await res.json()) as { self: string; peers: unknown[]; stats: { peer_count: number } };
    assert.equal(body.self, "immune");
    assert.equal(body.peers.length, 1);
    assert.equal(body.stats.peer_count, 1);
    await new Promise<void>((r) => srv.close(() => r()));
    await m.stop();
  });

  // How many checks a given stretch of wall time holds is a figure for bench/monitor-round.ts,
  // not a test. On the fake clock the loop is exact: the same stretch of clock time that
  // holds checks while it runs holds none after stop, and no timer is left to fire.
  test("9. with a 50 ms interval the loop keeps checking, and stops when asked", async () => {
    const clock = new FakeClock();
    const m = new Monitor({
      selfName: "immune",
      interval: 50,
      clock,
      prober: new FakeProber(() => OK),
      selfHealth: false,
    });
    m.registerPeer("sidecar", url);
    const ac = new AbortController();
    m.start({ signal: ac.signal });
    await clock.advance(150);
    const running = m.stats().total_checks;
    assert.ok(running >= 2, `${running} checks in three intervals while running`);
    await clock.advance(150);
    assert.ok(m.stats().total_checks >= running + 2, "it keeps checking");
    ac.abort();
    await m.stop();
    const checks = m.stats().total_checks;
    await clock.advance(150);
    assert.equal(m.stats().total_checks, checks, "no probe after stop");
    assert.equal(clock.pending, 0, "no timer left behind");
  });
});
