// The shipped unit file, examples/wdmesh.service, under a real systemd: with all its
// hardening (ProtectSystem=strict, SystemCallFilter=@system-service, ...) `wdmesh run`
// starts, reports READY=1, keeps systemd's watchdog fed, and a hung wdmesh (SIGSTOP) is
// restarted by systemd, and `systemctl reload` (the unit's ExecReload=) applies a changed
// config in the running process. Adapted: ExecStart (this checkout's build, a config under
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

async function getJson<T>(port: number, path: string): Promise<T> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
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

  test("starts hardened, sends READY=1 and WATCHDOG=1, a hung wdmesh is restarted, and systemctl reload applies a new config", async (t) => {
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
      .replace(
        /^ExecReload=\/usr\/bin\/wdmesh reload --config \/etc\/wdmesh\/mesh\.yaml --pid \$MAINPID$/m,
        `ExecReload=${inNs(cli)} reload --config /run/wdmesh-test/mesh.yaml --pid $MAINPID`,
      )
      .replace(/^WatchdogSec=.*$/m, "WatchdogSec=3s")
      .replace(/^ConfigurationDirectory=.*\n/m, "");
    assert.match(unit, /run --config \/run\/wdmesh-test/);
    assert.match(unit, /^ExecReload=\S+ reload --config \/run\/wdmesh-test\/mesh\.yaml --pid \$MAINPID$/m);
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

    // `systemctl reload wdmesh` goes through the unit's ExecReload=: the running process
    // re-reads the file (a peer added) without a restart.
    const pid2 = await ns.mainPid("wdmesh.service");
    const restarts = await ns.prop("wdmesh.service", "NRestarts");
    assert.deepEqual(
      (await getJson<{ peers: Array<{ name: string }> }>(port, "/v1/mesh")).peers.map((p) => p.name),
      [],
    );
    await ns.writeFile(
      "/run/wdmesh-test/mesh.yaml",
      `node: { name: unit-test, listen: "127.0.0.1:${port}", data_dir: /var/lib/wdmesh }\n` +
        `peers:\n  - name: added-by-reload\n    probe: { http: { url: "http://127.0.0.1:${port}/health" } }\n` +
        "    restart: none\n    isolate: none\n",
    );
    const reloaded = await ns.run("systemctl", ["reload", "wdmesh.service"], { timeoutMs: 30_000 });
    assert.equal(reloaded.code, 0, `systemctl reload wdmesh.service failed: ${reloaded.stderr}`);
    await until("the reloaded config's peer shows in /v1/mesh", async () => {
      const mesh = await getJson<{ peers: Array<{ name: string }> }>(port, "/v1/mesh").catch(() => null);
      return mesh?.peers.some((p) => p.name === "added-by-reload") ?? false;
    });
    const events = await getJson<Array<{ action: string; reason: string }>>(port, "/v1/events?limit=1000");
    const entry = events.find((e) => e.action === "config_reloaded");
    assert.match(entry?.reason ?? "", /peers added: added-by-reload/, JSON.stringify(events));
    assert.equal(await ns.mainPid("wdmesh.service"), pid2, "reloaded in place, same MainPID");
    assert.equal(await ns.prop("wdmesh.service", "NRestarts"), restarts);
    assert.equal(await ns.prop("wdmesh.service", "ActiveState"), "active");

    // A refused config: `systemctl reload` fails listing every problem, nothing changes,
    // the node journals config_reload_failed (HIGH) and its reload metrics say so.
    await ns.writeFile(
      "/run/wdmesh-test/mesh.yaml",
      `node: { name: unit-test, listen: "127.0.0.1:${port}", data_dir: /var/lib/wdmesh }\n` +
        "peers:\n  - name: Bad Name\n    probe: { tcp: { host: x, port: 0 } }\n",
    );
    const refused = await ns.run("systemctl", ["reload", "wdmesh.service"], { timeoutMs: 30_000 });
    assert.notEqual(refused.code, 0, "systemctl reload of a refused config fails");
    const status = await ns.run("journalctl", ["-u", "wdmesh.service", "-n", "60", "--no-pager"]);
    assert.match(status.stdout, /reload refused, nothing changed \(\d+ problems?/, status.stdout);
    assert.match(status.stdout, /peers\[0\]\.name: is not a valid name/);
    assert.match(status.stdout, /peers\[0\]\.probe\.tcp\.port/, "every problem");
    await until("config_reload_failed journaled", async () => {
      const ev = await getJson<Array<{ action: string; severity: string; reason: string }>>(
        port,
        "/v1/events?limit=1000",
      ).catch(() => []);
      const failed = ev.find((e) => e.action === "config_reload_failed");
      return failed?.severity === "HIGH" && /peers\[0\]\.name/.test(failed.reason);
    });
    const metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metricsText, /^wdmesh_config_last_reload_successful 0$/m);
    assert.match(metricsText, /^wdmesh_config_last_reload_success_timestamp_seconds \d/m);
    assert.equal(await ns.mainPid("wdmesh.service"), pid2, "still the same process");
    assert.equal(await ns.prop("wdmesh.service", "ActiveState"), "active");
    const mesh = await getJson<{ peers: Array<{ name: string }> }>(port, "/v1/mesh");
    assert.deepEqual(
      mesh.peers.map((p) => p.name),
      ["added-by-reload"],
      "the config in force is unchanged",
    );
    await ns.systemctlOk("stop", "wdmesh.service");
  });
});
