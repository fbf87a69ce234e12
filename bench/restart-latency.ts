// Restart latency through real systemd: from `kill -9` of an agent's MainPID to its new
// MainPID answering /health, with the Monitor running (start()): interval 1 s,
// retry_interval 1 s, K = 3 (timeout 800 ms, startup_grace 1 s, no restart backoff).
// 10 runs. Prints JSON {runs, p50_ms, p90_ms, max_ms}. Needs root (namespaced systemd).
//   node --import tsx bench/restart-latency.ts
import { Monitor } from "../src/monitor.js";
import { createExecutor } from "../src/act/default-executor.js";
import { bootSystemd, freePort, systemdUnavailable } from "../test/helpers/systemd-ns.js";

const RUNS = 10;
const why = systemdUnavailable();
if (why) {
  console.error(`restart-latency: ${why}`);
  process.exit(2);
}

async function pidAnswering(port: number): Promise<number | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(500) });
    const b = (await r.json()) as { pid: number };
    return r.status === 200 ? b.pid : null;
  } catch {
    return null;
  }
}

const ns = await bootSystemd();
const samples: number[] = [];
let monitor: Monitor | undefined;
try {
  const port = await freePort();
  await ns.startAgentUnit("bench-agent", port);
  monitor = new Monitor({
    selfName: "bench",
    interval: "1s",
    retryInterval: "1s",
    missedBeforeRestart: 3,
    restartsBeforeIsolate: 1000,
    startupGrace: "1s",
    restartBackoff: { initial: 0, max: 0 },
    executor: createExecutor({ systemd: { systemctl: ns.systemctl } }),
  });
  monitor.registerPeer({
    name: "agent",
    probe: { http: { url: `http://127.0.0.1:${port}/health` } },
    restart: { systemd: { unit: "bench-agent.service" } },
  });
  monitor.start();
  for (let i = 0; i < RUNS; i++) {
    // Wait (bounded) until the watchdog sees it healthy, then kill it.
    const by = Date.now() + 30_000;
    while (monitor.getPeerStatus("agent")?.status !== "HEALTHY") {
      if (Date.now() > by) throw new Error(`run ${i}: agent never HEALTHY`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const old = await ns.mainPid("bench-agent");
    const t0 = performance.now();
    await ns.run("kill", ["-9", String(old)]);
    for (;;) {
      const pid = await pidAnswering(port);
      if (pid !== null && pid !== old) break;
      if (performance.now() - t0 > 60_000) throw new Error(`run ${i}: no new MainPID within 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    samples.push(Math.round(performance.now() - t0));
  }
} finally {
  await monitor?.stop();
  await ns.shutdown();
}
const sorted = [...samples].sort((a, b) => a - b);
const q = (p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number;
console.log(
  JSON.stringify({ runs: samples.length, p50_ms: q(0.5), p90_ms: q(0.9), max_ms: q(1), samples_ms: samples }),
);
