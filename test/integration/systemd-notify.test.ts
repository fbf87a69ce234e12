// The watchdog's own liveness: a Type=notify unit with WatchdogSec= that uses
// src/act/sd-notify.ts. Hung (SIGSTOP), it stops sending WATCHDOG=1 and systemd
// restarts it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { bootSystemd, inNs, skipUnlessSystemd, type SystemdNs } from "../helpers/systemd-ns.js";
import { until } from "../helpers/wait.js";

const skip = skipUnlessSystemd();
// Paths as the unit sees them (a checkout under /tmp is bind-mounted elsewhere inside).
const repo = inNs(fileURLToPath(new URL("../..", import.meta.url)));
const module = inNs(fileURLToPath(new URL("../../src/act/sd-notify.ts", import.meta.url)));

// The unit's program: READY=1 at start, then WATCHDOG=1 every WatchdogSec/2.
const SCRIPT = `
import { startSystemdNotify, watchdogIntervalMs } from ${JSON.stringify(module)};
const n = startSystemdNotify();
console.log("enabled=" + n.enabled + " kick_ms=" + watchdogIntervalMs());
setInterval(() => {}, 60_000);
`;

describe("sd_notify under a real systemd", { skip }, () => {
  let ns: SystemdNs;
  before(async () => {
    ns = await bootSystemd();
  });
  after(async () => {
    await ns?.shutdown();
  });

  test("READY=1 starts a Type=notify unit; WATCHDOG=1 keeps it; a hung watchdog is restarted", async () => {
    const r = await ns.run("systemd-run", [
      "--unit=wd-self",
      "-p",
      "Type=notify",
      "-p",
      "WatchdogSec=2",
      "-p",
      "NotifyAccess=all",
      "-p",
      "Restart=on-failure",
      "-p",
      "RestartSec=100ms",
      "-p",
      "TimeoutStartSec=20",
      `--working-directory=${repo}`,
      process.execPath,
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      SCRIPT,
    ]);
    // systemd-run waits for the start job of a Type=notify unit: exit 0 means READY=1 arrived.
    assert.equal(r.code, 0, `the unit became ready: ${r.stderr}`);
    assert.equal(await ns.prop("wd-self", "ActiveState"), "active");
    const pid1 = await ns.mainPid("wd-self");
    assert.ok(pid1 > 0);

    // Alive for 3 × WatchdogSec: kicks arrive, no restart.
    await new Promise((res) => setTimeout(res, 6000));
    assert.equal(await ns.prop("wd-self", "NRestarts"), "0", "kept alive by WATCHDOG=1");
    assert.equal(await ns.mainPid("wd-self"), pid1);
    const log = await ns.run("journalctl", ["-u", "wd-self", "--no-pager", "-o", "cat"]);
    assert.match(log.stdout, /enabled=true kick_ms=1000/);

    // Hang it: no more kicks; systemd's watchdog kills and restarts it.
    await ns.run("kill", ["-STOP", String(pid1)]);
    await until(
      "systemd to restart the hung watchdog",
      async () => Number(await ns.prop("wd-self", "NRestarts")) >= 1,
    );
    await until(
      "the new instance to be ready",
      async () => (await ns.prop("wd-self", "ActiveState")) === "active",
    );
    const pid2 = await ns.mainPid("wd-self");
    assert.ok(pid2 > 0 && pid2 !== pid1, `new MainPID (${pid1} → ${pid2})`);
    const why = await ns.run("journalctl", ["-u", "wd-self", "--no-pager", "-o", "cat"]);
    assert.match(why.stdout, /Watchdog timeout/i);
  });
});
