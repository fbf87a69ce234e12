// Issue 2 figures: 1,000 peers of which 10 never answer.
//  - one round (checkAllPeers) with timeout 5 s: wall time (target <= 5.5 s; the seed: ~50 s);
//  - under start() at 1 s interval for --seconds (default 30): p99 lateness of probes (target <= 100 ms).
// Prints JSON. Run: node --import tsx bench/monitor-round.ts [--peers 1000] [--hung 10] [--seconds 30]
import { Monitor } from "../src/index.js";
import { arg, rssMb, startPeerServers } from "./lib.js";

const peers = arg("peers", 1000);
const hung = arg("hung", 10);
const seconds = arg("seconds", 30);
const servers = await startPeerServers(50);

function build(opts: { interval: string; timeout: string }): Monitor {
  const m = new Monitor({ selfName: "bench", ...opts, missedBeforeRestart: 1_000 });
  for (let i = 0; i < peers; i++) {
    const port = i < hung ? servers.hungPort : servers.ports[i % servers.ports.length];
    m.registerPeer(`p${String(i).padStart(4, "0")}`, `http://127.0.0.1:${port}/health/${i}`);
  }
  return m;
}

const round = build({ interval: "30s", timeout: "5s" });
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await round.checkAllPeers();
const roundMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const healthy = round.allPeers().filter((p) => p.status === "HEALTHY").length;
const hungErrors = [
  ...new Set(
    round
      .allPeers()
      .filter((p) => p.status !== "HEALTHY")
      .map((p) => p.last_error),
  ),
];
await round.stop();

const live = build({ interval: "1s", timeout: "900ms" });
live.start();
await new Promise((r) => setTimeout(r, 3_000)); // let jittered start settle, then measure
const before = live.stats().total_checks;
const liveM = live as unknown as { lateness: { reset(): void } };
liveM.lateness.reset();
await new Promise((r) => setTimeout(r, seconds * 1000));
const s = live.schedulerStats();
const checks = live.stats().total_checks - before;
await live.stop();
servers.stop();

console.log(
  JSON.stringify(
    {
      bench: "monitor-round",
      peers,
      hung_peers: hung,
      round_timeout_ms: 5000,
      round_wall_ms: Math.round(roundMs),
      round_cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
      round_healthy: healthy,
      hung_last_error: hungErrors,
      seed_round_wall_ms_estimate: hung * 5000,
      live_interval_ms: 1000,
      live_seconds: seconds,
      live_checks_per_s: Math.round(checks / seconds),
      lateness_p50_ms: Math.round(s.lateness.p50_ms * 10) / 10,
      lateness_p99_ms: Math.round(s.lateness.p99_ms * 10) / 10,
      lateness_max_ms: Math.round(s.lateness.max_ms * 10) / 10,
      rss_mb: rssMb(),
    },
    null,
    2,
  ),
);
