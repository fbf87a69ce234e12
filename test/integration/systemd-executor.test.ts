// SystemdExecutor against a real systemd (booted in a PID + mount namespace).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { SystemdExecutor } from "../../src/act/systemd.js";
import type { RemediationTarget } from "../../src/act/executor.js";
import { verifyNetworkCut } from "../../src/act/verify-isolation.js";
import { systemdNetworkRecord } from "../helpers/isolation-record.js";
import { bootSystemd, freePort, skipUnlessSystemd, type SystemdNs } from "../helpers/systemd-ns.js";
import { waitFor } from "../helpers/wait.js";

const skip = skipUnlessSystemd();
const target = (peer: string): RemediationTarget => ({ peer, effectId: `e-${peer}`, attempt: 1 });
const signal = new AbortController().signal;

async function health(port: number): Promise<{ status: number; pid: number } | string> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    const b = (await r.json()) as { pid: number };
    return { status: r.status, pid: b.pid };
  } catch (err) {
    return String((err as Error).cause ?? err);
  }
}

/** curl from inside the namespace: exit 0 when an HTTP answer came back at all. */
async function curlInside(ns: SystemdNs, port: number): Promise<number | null> {
  const r = await ns.run("curl", ["-s", "-o", "/dev/null", "-m", "2", `http://127.0.0.1:${port}/health`]);
  return r.code;
}

describe("SystemdExecutor against real systemd", { skip }, () => {
  let ns: SystemdNs;
  let ex: SystemdExecutor;
  before(async () => {
    ns = await bootSystemd();
    ex = new SystemdExecutor({ systemctl: ns.systemctl });
  });
  after(async () => {
    await ns?.shutdown();
  });

  test("restart of a hung unit: new MainPID that serves /health", async () => {
    const port = await freePort();
    await ns.startAgentUnit("hung-agent", port);
    const pid1 = await ns.mainPid("hung-agent");
    assert.ok(pid1 > 0);
    await ns.run("kill", ["-STOP", String(pid1)]);
    assert.equal(typeof (await health(port)), "string", "a stopped agent does not answer");
    const r = await ex.restart({ systemd: { unit: "hung-agent.service" } }, target("hung"), signal);
    assert.equal(r.ok, true, r.error);
    assert.ok(r.main_pid && r.main_pid !== pid1, `new MainPID (was ${pid1}, now ${r.main_pid})`);
    assert.equal(r.main_pid, await ns.mainPid("hung-agent"));
    assert.match(r.detail ?? "", /systemctl restart hung-agent\.service: active/);
    assert.ok((r.duration_ms ?? -1) >= 0);
    const h = await waitFor(
      "new agent to answer",
      async () => {
        const x = await health(port);
        return typeof x === "string" ? undefined : x;
      },
      15_000,
    );
    assert.equal(h.status, 200);
  });

  test("restart notices that systemd's Restart= already restarted the unit", async () => {
    const port = await freePort();
    await ns.startAgentUnit("self-restarting", port, { properties: ["Restart=always", "RestartSec=100ms"] });
    const first = await ex.restart({ systemd: { unit: "self-restarting.service" } }, target("sr"), signal);
    assert.equal(first.ok, true, first.error);
    assert.doesNotMatch(first.detail ?? "", /on its own/);
    await ns.run("kill", ["-KILL", String(first.main_pid)]);
    await waitFor(
      "systemd to restart it by itself",
      async () => (Number(await ns.prop("self-restarting", "NRestarts")) >= 1 ? true : undefined),
      15_000,
    );
    const second = await ex.restart({ systemd: { unit: "self-restarting.service" } }, target("sr"), signal);
    assert.equal(second.ok, true, second.error);
    assert.match(
      second.detail ?? "",
      /already restarted self-restarting\.service on its own .*NRestarts 0 → 1/,
    );
  });

  test("a unit that does not exist: failed result, clear error, no throw", async () => {
    const r = await ex.restart({ systemd: { unit: "no-such-agent.service" } }, target("nope"), signal);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /unit no-such-agent\.service not found/);
    const iso = await ex.isolate(
      { systemd: { unit: "no-such-agent.service", mode: "network" } },
      target("nope"),
      signal,
    );
    assert.equal(iso.result.ok, false);
    assert.match(iso.result.error ?? "", /not found/);
    assert.deepEqual(iso.record.applied, []);
  });

  test("a restart that hangs is cut at the deadline and reported", async () => {
    // Type=notify that never notifies: its start job waits for READY=1 (up to 5 min).
    const r0 = await ns.run("systemd-run", [
      "--no-block",
      "--unit=hanging",
      "-p",
      "Type=notify",
      "-p",
      "TimeoutStartSec=300",
      "/bin/sleep",
      "1000",
    ]);
    assert.equal(r0.code, 0, r0.stderr);
    const t0 = Date.now();
    const r = await ex.restart(
      { systemd: { unit: "hanging.service", timeout: "1s" } },
      target("hang"),
      signal,
    );
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /did not finish within 1000 ms and was killed/);
    assert.ok(Date.now() - t0 < 20_000, "the deadline bounded the call");
    await ns.run("systemctl", ["stop", "--no-block", "hanging"]);
  });

  test("isolate network: IPAddressDeny=any applied, verified by canary; release restores traffic", async () => {
    const port = await freePort();
    await ns.startAgentUnit("net-agent", port, { mode: "broken" });
    assert.equal(await curlInside(ns, port), 0, "before isolation the port answers (with 503)");
    const spec = { systemd: { unit: "net-agent.service", mode: "network" as const } };
    const { result, record } = await ex.isolate(spec, target("net"), signal);
    assert.equal(result.ok, true, result.error);
    assert.match(
      result.detail ?? "",
      /verified: a canary in cgroup \/system\.slice\/net-agent\.service could not connect/,
    );
    assert.deepEqual(record, systemdNetworkRecord("net-agent.service"));
    assert.match(await ns.prop("net-agent", "IPAddressDeny"), /0\.0\.0\.0\/0/);
    assert.notEqual(await curlInside(ns, port), 0, "after isolation a connection from inside fails");
    // An independent canary in the unit's cgroup cannot connect either.
    const v = await verifyNetworkCut({ controlGroup: await ns.prop("net-agent", "ControlGroup") });
    assert.equal(v.enforced, true, v.detail);
    assert.equal(await ns.prop("net-agent", "ActiveState"), "active", "network isolation keeps it running");

    const rel = await ex.release(spec, record, target("net"), signal);
    assert.equal(rel.ok, true, rel.error);
    assert.equal(await ns.prop("net-agent", "IPAddressDeny"), "");
    assert.equal(await curlInside(ns, port), 0, "after release the port answers again");
    assert.equal(await ns.prop("net-agent", "ActiveState"), "active");
  });

  test("isolate network restores a previous IPAddressAllow/IPAddressDeny on release", async () => {
    const port = await freePort();
    await ns.startAgentUnit("allow-agent", port, {
      mode: "broken",
      properties: ["IPAddressAllow=localhost", "IPAddressDeny=10.0.0.0/8"],
    });
    const spec = { systemd: { unit: "allow-agent.service", mode: "network" as const } };
    const { result, record } = await ex.isolate(spec, target("allow"), signal);
    assert.equal(result.ok, true, result.error);
    assert.ok(record.applied.includes("IPAddressAllow="), JSON.stringify(record));
    assert.notEqual(
      await curlInside(ns, port),
      0,
      "IPAddressAllow=localhost no longer lets loopback through",
    );
    const rel = await ex.release(spec, record, target("allow"), signal);
    assert.equal(rel.ok, true, rel.error);
    assert.match(await ns.prop("allow-agent", "IPAddressAllow"), /127\.0\.0\.0\/8/);
    assert.equal(await ns.prop("allow-agent", "IPAddressDeny"), "10.0.0.0/8");
    assert.equal(await curlInside(ns, port), 0);
  });

  test("isolate stop: masked and stopped, nothing revives it; release unmasks and starts", async () => {
    const port = await freePort();
    await ns.installUnit(
      "stop-agent.service",
      `[Service]\nExecStart=${process.execPath} -e "require('node:http').createServer((q,s)=>s.end('ok')).listen(${port},'127.0.0.1')"\nRestart=always\n`,
    );
    await ns.systemctlOk("start", "stop-agent.service");
    const spec = { systemd: { unit: "stop-agent.service", mode: "stop" as const } };
    const { result, record } = await ex.isolate(spec, target("stop"), signal);
    assert.equal(result.ok, true, result.error);
    assert.deepEqual(record.applied, ["mask", "stop"]);
    assert.equal(await ns.prop("stop-agent", "ActiveState"), "inactive");
    const revive = await ns.run("systemctl", ["start", "stop-agent.service"]);
    assert.notEqual(revive.code, 0, "a masked unit cannot be started");
    const rel = await ex.release(spec, record, target("stop"), signal);
    assert.equal(rel.ok, true, rel.error);
    assert.equal(await ns.prop("stop-agent", "ActiveState"), "active");
    assert.ok((rel.main_pid ?? 0) > 0);
  });

  test("isolate freeze: frozen where the freezer works, a clear error where it does not", async () => {
    const port = await freePort();
    await ns.startAgentUnit("freeze-agent", port);
    const spec = { systemd: { unit: "freeze-agent.service", mode: "freeze" as const } };
    const { result, record } = await ex.isolate(spec, target("fz"), signal);
    if (result.ok) {
      assert.deepEqual(record.applied, ["freeze"]);
      assert.equal(await ns.prop("freeze-agent", "FreezerState"), "frozen");
      const rel = await ex.release(spec, record, target("fz"), signal);
      assert.equal(rel.ok, true, rel.error);
      assert.equal(await ns.prop("freeze-agent", "FreezerState"), "running");
    } else {
      // This machine: cgroup v1 freezer, `systemctl freeze` unsupported.
      assert.match(
        result.error ?? "",
        /cannot freeze freeze-agent\.service: systemctl freeze is not supported on this host/,
      );
      assert.deepEqual(record.applied, []);
      assert.equal(await ns.prop("freeze-agent", "ActiveState"), "active");
    }
  });
});
