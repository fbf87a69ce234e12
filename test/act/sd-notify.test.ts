import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { startSystemdNotify, watchdogIntervalMs } from "../../src/act/sd-notify.js";

describe("watchdogIntervalMs", () => {
  test("half of WATCHDOG_USEC, in ms", () => {
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "2000000" }), 1000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000" }), 15000);
  });
  test("null when off, invalid or meant for another PID", () => {
    assert.equal(watchdogIntervalMs({}), null);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "abc" }), null);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "2000000", WATCHDOG_PID: "1" }, 2), null);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "2000000", WATCHDOG_PID: "2" }, 2), 1000);
  });
});

describe("startSystemdNotify", () => {
  test("without NOTIFY_SOCKET nothing is sent", async () => {
    const sent: string[] = [];
    const n = startSystemdNotify({ env: {}, send: async (m) => (sent.push(m), true) });
    assert.equal(n.enabled, false);
    n.kick();
    n.stopping();
    assert.equal(await n.ready(), false);
    n.close();
    assert.deepEqual(sent, []);
  });

  test("READY=1 at start, WATCHDOG=1 on kick (one in flight, skipped when not alive), STOPPING=1", async () => {
    const sent: string[] = [];
    let alive = true;
    let release!: () => void;
    const n = startSystemdNotify({
      env: { NOTIFY_SOCKET: "/run/x", WATCHDOG_USEC: "60000000" },
      alive: () => alive,
      send: (m) => {
        sent.push(m);
        return m === "WATCHDOG=1" ? new Promise((r) => (release = () => r(true))) : Promise.resolve(true);
      },
    });
    assert.equal(n.watchdogMs, 30000);
    n.kick();
    n.kick(); // still in flight: not sent twice
    assert.deepEqual(sent, ["READY=1", "WATCHDOG=1"]);
    release();
    await new Promise((r) => setImmediate(r));
    alive = false;
    n.kick();
    assert.equal(sent.length, 2, "not alive: no kick, so systemd restarts us");
    n.stopping();
    assert.deepEqual(sent, ["READY=1", "WATCHDOG=1", "STOPPING=1"]);
    n.close();
    n.close();
  });

  test("a failing systemd-notify never throws", async () => {
    const n = startSystemdNotify({
      env: { NOTIFY_SOCKET: "/nonexistent/sock" },
      notifyCommand: "/nonexistent/systemd-notify",
      ready: false,
    });
    assert.equal(await n.ready(), false);
    n.close();
  });
});
