// The seed's own scenario, round after round: 1,000 peers of which 10 never answer, 5 s
// deadline, checkAllPeers() called again as soon as a round ends. Each round must end
// within the deadline + 10 % (5.5 s): the node's own burst of probes must not make it
// think it is starved (self_health degraded doubles every deadline to 10 s).
// Prints JSON: each round's wall time, the deadline the hung peers got, self_health after it.
// Run: node --import tsx bench/seed-round.ts [--peers 1000] [--hung 10] [--rounds 6] [--started 1]
import { Monitor } from "../src/index.js";
import { arg, rssMb, startPeerServers } from "./lib.js";

const peers = arg("peers", 1000);
const hung = arg("hung", 10);
const rounds = arg("rounds", 6);
// 1: the Monitor is started (its loop-delay detector runs, as in an agent); 0: rounds only.
const started = arg("started", 1) === 1;
const timeoutMs = 5_000;
const servers = await startPeerServers(50);

const m = new Monitor({ selfName: "bench", interval: "30s", timeout: "5s", missedBeforeRestart: 1_000 });
for (let i = 0; i < peers; i++) {
  const port = i < hung ? servers.hungPort : servers.ports[i % servers.ports.length];
  m.registerPeer(`p${String(i).padStart(4, "0")}`, `http://127.0.0.1:${port}/health/${i}`);
}

if (started) m.start();
const out: Array<{
  wall_ms: number;
  cpu_ms: number;
  hung_error: string | null;
  self_health: string;
  loop_delay_p99_ms: number;
  lateness_p99_ms: number;
}> = [];
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await m.checkAllPeers();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const sh = m.selfHealthReport();
  out.push({
    wall_ms: Math.round(wall),
    // CPU this process used in the round (the bench's own peer servers included): a stall
    // much longer than this was the host starving the process, not its own work.
    cpu_ms: Math.round((cpu.user + cpu.system) / 1_000),
    hung_error: m.getPeerStatus("p0000")?.last_error ?? null,
    self_health: sh.status,
    loop_delay_p99_ms: Math.round(sh.loop_delay_p99_ms),
    lateness_p99_ms: Math.round(sh.lateness_p99_ms),
  });
}
await m.stop();
servers.stop();
const walls = out.map((r) => r.wall_ms);
console.log(
  JSON.stringify(
    {
      bench: "seed-round",
      peers,
      hung_peers: hung,
      timeout_ms: timeoutMs,
      started,
      bound_ms: Math.round(timeoutMs * 1.1),
      rounds: out,
      max_round_ms: Math.max(...walls),
      rounds_over_bound: walls.filter((w) => w > timeoutMs * 1.1).length,
      rss_mb: rssMb(),
    },
    null,
    2,
  ),
);
