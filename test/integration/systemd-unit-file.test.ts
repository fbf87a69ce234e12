// The shipped unit file, examples/wdmesh.service, under a real systemd: with all its
// hardening (ProtectSystem=strict, SystemCallFilter=@system-service, ...) `wdmesh run`
// starts, reports READY=1, keeps systemd's watchdog fed, and a hung wdmesh (SIGSTOP) is
// restarted by systemd. Adapted: ExecStart (this checkout's build, a config under
// /run), WatchdogSec (3 s), and no ConfigurationDirectory= (it would create /etc/wdmesh
// on the machine's own file system; /var/lib is a tmpfs private to the namespace).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bootSystemd, freePort, inNs, skipUnlessSystemd, type SystemdNs } from "../helpers/systemd-ns.js";
import { until } from "../helpers/wait.js";
import { CLI, haveBuiltCli } from "../helpers/built-cli.js";

const skip = skipUnlessSystemd();
const repo = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const cli = CLI;

async function health(port: number): Promise<string | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? ((await r.json()) as { node: string }).node : null;
  } catch {
    return null;
  }
}

describe("examples/wdmesh.service under a real systemd", { skip }, () => {
  let ns: SystemdNs;
  before(async () => {
    ns = await bootSystemd();
    // Keep the unit's StateDirectory (/var/lib/wdmesh) inside the namespace.
    const m = await ns.run("mount", ["-t", "tmpfs", "tmpfs", "/var/lib"]);
    assert.equal(m.code, 0, m.stderr);
  });
  after(async () => {
    await ns?.shutdown();
  });

  test("starts hardened, sends READY=1 and WATCHDOG=1, and a hung wdmesh is restarted", async (t) => {
    if (!haveBuiltCli(t)) return;
    const port = await freePort();
    const mk = await ns.run("mkdir", ["-p", "/run/wdmesh-test"]);
    assert.equal(mk.code, 0, mk.stderr);
    await ns.writeFile(
      "/run/wdmesh-test/mesh.yaml",
      `node: { name: unit-test, listen: "127.0.0.1:${port}", data_dir: /var/lib/wdmesh }\npeers: []\n`,
    );
    let unit = readFileSync(new URL("../../examples/wdmesh.service", import.meta.url), "utf8");
    unit = unit
      .replace(/^ExecStart=.*$/m, `ExecStart=${inNs(cli)} run --config /run/wdmesh-test/mesh.yaml`)
      .replace(/^WatchdogSec=.*$/m, "WatchdogSec=3s")
      .replace(/^ConfigurationDirectory=.*\n/m, "");
    assert.match(unit, /run --config \/run\/wdmesh-test/);
    assert.doesNotMatch(unit, /ConfigurationDirectory/);
    // A checkout under a home directory would be hidden by ProtectHome=yes.
    if (/^\/(root|home|run\/user)\//.test(inNs(repo)))
      unit = unit.replace(/^ProtectHome=.*$/m, "ProtectHome=no");
    await ns.installUnit("wdmesh.service", unit);

    // Type=notify: `systemctl start` returns once READY=1 arrived.
    const started = await ns.run("systemctl", ["start", "wdmesh.service"], { timeoutMs: 30_000 });
    if (started.code !== 0) {
      const log = await ns.run("journalctl", ["-u", "wdmesh.service", "-n", "40", "--no-pager"]);
      assert.fail(`systemctl start wdmesh.service failed: ${started.stderr}\n${log.stdout}`);
    }
    assert.equal(await ns.prop("wdmesh.service", "ActiveState"), "active");
    await until("the API answers", async () => (await health(port)) === "unit-test");
    const pid1 = await ns.mainPid("wdmesh.service");
    assert.ok(pid1 > 0);

    // Three watchdog periods later it is still the same process: WATCHDOG=1 keeps coming.
    await new Promise((r) => setTimeout(r, 9_000));
    assert.equal(await ns.prop("wdmesh.service", "NRestarts"), "0");
    assert.equal(await ns.mainPid("wdmesh.service"), pid1);

    // Hung: no more WATCHDOG=1, so systemd kills and restarts it.
    const stop = await ns.run("kill", ["-STOP", String(pid1)]);
    assert.equal(stop.code, 0, stop.stderr);
    await until("systemd restarts the hung wdmesh", async () => {
      const pid = await ns.mainPid("wdmesh.service");
      return pid > 0 && pid !== pid1 && Number(await ns.prop("wdmesh.service", "NRestarts")) >= 1;
    });
    await until("the restarted wdmesh answers", async () => (await health(port)) === "unit-test");
    await ns.systemctlOk("stop", "wdmesh.service");
  });
});
