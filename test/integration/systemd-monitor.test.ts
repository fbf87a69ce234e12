// The watchdog end to end against a real systemd: Monitor + createExecutor() driving
// real units, with checkAllPeers() back to back (counts drive escalation, no timing).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Monitor } from "../../src/monitor.js";
import { createExecutor } from "../../src/act/default-executor.js";
import { verifyNetworkCut } from "../../src/act/verify-isolation.js";
import type { EscalationAction } from "../../src/core/types.js";
import { bootSystemd, freePort, skipUnlessSystemd, type SystemdNs } from "../helpers/systemd-ns.js";
import { until } from "../helpers/wait.js";

const skip = skipUnlessSystemd();

async function answers(port: number): Promise<number | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return null;
  }
}

async function curlInside(ns: SystemdNs, port: number): Promise<number | null> {
  return (await ns.run("curl", ["-s", "-o", "/dev/null", "-m", "2", `http://127.0.0.1:${port}/health`])).code;
}

describe("Monitor remediating real systemd units", { skip }, () => {
  let ns: SystemdNs;
  let monitor: Monitor;
  const actions: EscalationAction[] = [];
  const ports: Record<string, number> = {};

  before(async () => {
    ns = await bootSystemd();
    monitor = new Monitor({
      selfName: "itest",
      interval: "10s",
      timeout: "1s",
      retryInterval: "10s",
      missedBeforeRestart: 2,
      restartsBeforeIsolate: 2,
      startupGrace: 0,
      restartBackoff: { initial: 0, max: 0 },
      executor: createExecutor({ systemd: { systemctl: ns.systemctl, timeoutMs: 20_000 } }),
    });
    monitor.onEscalation((a) => {
      actions.push(a);
    });
  });
  after(async () => {
    await monitor?.stop();
    await ns?.shutdown();
  });

  const of = (peer: string, kind?: string): EscalationAction[] =>
    actions.filter((a) => a.peer_name === peer && (kind === undefined || a.action === kind));

  test("1. a hung agent (SIGSTOP) is restarted; the new MainPID serves /health; HEALTHY again", async () => {
    ports.hung = await freePort();
    await ns.startAgentUnit("agent-hung", ports.hung);
    monitor.registerPeer({
      name: "hung",
      probe: { http: { url: `http://127.0.0.1:${ports.hung}/health` } },
      restart: { systemd: { unit: "agent-hung.service" } },
      isolate: { systemd: { unit: "agent-hung.service", mode: "network" } },
    });
    await monitor.checkPeer("hung");
    assert.equal(monitor.getPeerStatus("hung")?.status, "HEALTHY");

    const pid1 = await ns.mainPid("agent-hung");
    await ns.run("kill", ["-STOP", String(pid1)]);
    await monitor.checkPeer("hung"); // miss 1
    assert.equal(monitor.getPeerStatus("hung")?.status, "DEGRADED");
    await monitor.checkPeer("hung"); // miss 2 = K → restart
    const h = monitor.getPeerStatus("hung");
    assert.equal(h?.status, "OFFLINE");
    assert.equal(h?.restart_count, 1);
    const [restart] = of("hung", "restart");
    assert.ok(restart, "a restart action was emitted");
    assert.equal(restart.severity, "HIGH");
    assert.equal(restart.result?.ok, true, restart.result?.error);
    const pid2 = await ns.mainPid("agent-hung");
    assert.ok(pid2 > 0 && pid2 !== pid1, `new MainPID (${pid1} → ${pid2})`);
    assert.equal(restart.result?.main_pid, pid2);

    await until("the restarted agent to listen", async () => (await answers(ports.hung!)) === 200);
    await monitor.checkPeer("hung");
    assert.equal(monitor.getPeerStatus("hung")?.status, "HEALTHY");
    assert.equal(of("hung", "recovered").length, 1);
  });

  test("2. a permanently broken agent: R restarts, then verified network isolation, CRITICAL alerts", async () => {
    ports.broken = await freePort();
    await ns.startAgentUnit("agent-broken", ports.broken, { mode: "broken" });
    monitor.registerPeer({
      name: "broken",
      probe: { http: { url: `http://127.0.0.1:${ports.broken}/health` } },
      restart: { systemd: { unit: "agent-broken.service" } },
      isolate: { systemd: { unit: "agent-broken.service", mode: "network" } },
    });
    assert.equal(
      await curlInside(ns, ports.broken),
      0,
      "its port accepts connections (answers 503) before isolation",
    );

    // K=2, R=2: 2 misses → restart 1, 2 → restart 2, 2 → isolate. Bounded rounds.
    for (let i = 0; i < 12 && monitor.getPeerStatus("broken")?.status !== "ISOLATED"; i++) {
      await monitor.checkPeer("broken");
      if (monitor.getPeerStatus("broken")?.status === "OFFLINE") {
        // Let the restarted (still broken) agent come up so the next miss is a 503, not a refusal.
        await until("the restarted agent to listen", async () => (await answers(ports.broken!)) !== null);
      }
    }
    const h = monitor.getPeerStatus("broken");
    assert.equal(h?.status, "ISOLATED");
    assert.equal(h?.restart_count, 2);
    const restarts = of("broken", "restart");
    assert.equal(restarts.length, 2);
    for (const r of restarts) assert.equal(r.result?.ok, true, r.result?.error);

    const [iso] = of("broken", "isolate");
    assert.ok(iso, "an isolate action was emitted");
    assert.equal(iso.severity, "CRITICAL");
    assert.equal(iso.result?.ok, true, iso.result?.error);
    assert.match(
      iso.result?.detail ?? "",
      /verified: a canary in cgroup \/system\.slice\/agent-broken\.service could not connect/,
    );
    const [arch] = of("broken", "alert_architect");
    assert.ok(arch, "alert_architect was emitted");
    assert.equal(arch.severity, "CRITICAL");

    // From inside the namespace its port is now unreachable …
    assert.notEqual(await curlInside(ns, ports.broken), 0, "a connection to its port fails after isolation");
    // … and our own canary placed in its cgroup cannot get out.
    const v = await verifyNetworkCut({ controlGroup: await ns.prop("agent-broken", "ControlGroup") });
    assert.equal(v.enforced, true, v.detail);
    assert.equal(await ns.prop("agent-broken", "ActiveState"), "active", "isolated, not killed");
  });

  test("3. release restores traffic and the unit runs", async () => {
    const rel = await monitor.release("broken");
    assert.equal(rel.action, "release");
    assert.equal(rel.result?.ok, true, rel.result?.error);
    assert.equal(monitor.getPeerStatus("broken")?.status, "UNKNOWN");
    assert.equal(await ns.prop("agent-broken", "IPAddressDeny"), "");
    assert.equal(await ns.prop("agent-broken", "ActiveState"), "active");
    assert.equal(await curlInside(ns, ports.broken!), 0, "its port answers again from inside the namespace");
    assert.equal(await answers(ports.broken!), 503, "and from the host (it is still the broken agent)");
  });

  test("4. a peer whose unit does not exist: a failed restart result, the watchdog carries on", async () => {
    const port = await freePort(); // nothing listens there
    monitor.registerPeer({
      name: "ghost",
      probe: { http: { url: `http://127.0.0.1:${port}/health` } },
      restart: { systemd: { unit: "ghost-agent.service" } },
      isolate: { systemd: { unit: "ghost-agent.service", mode: "network" } },
    });
    await monitor.checkPeer("ghost");
    await monitor.checkPeer("ghost");
    const [r] = of("ghost", "restart");
    assert.ok(r, "the restart was attempted");
    assert.equal(r.result?.ok, false);
    assert.match(r.result?.error ?? "", /unit ghost-agent\.service not found/);
    // Other peers are still probed and healthy.
    await monitor.checkAllPeers();
    assert.equal(monitor.getPeerStatus("hung")?.status, "HEALTHY");
  });
});
