// Issue 2 memory figure: RSS watching --peers (default 1000) at 1 s interval for
// --minutes (default 10), sampled every 10 s, on the built library (dist/, run
// `npm run build`). Peers are spread over --origins (default 1000) distinct loopback
// HTTP servers — every agent its own host:port, the realistic case — in a child
// process; 10 peers point at a server that accepts and never answers (900 ms deadline).
// Prints JSON: RSS samples (MB), heap, and CPU per check (µs of this process's user+system
// time per probe). Run: node bench/monitor-soak.mjs [--minutes 10] [--peers 1000] [--origins 1000]
// Young-generation size is a V8 flag: node --max-semi-space-size=1 bench/monitor-soak.mjs
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { getHeapStatistics } from "node:v8";
import { Monitor } from "../dist/index.js";

const arg = (n, d) => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const minutes = arg("minutes", 10);
const peers = arg("peers", 1000);
const origins = arg("origins", 1000);
const HUNG = Math.min(10, peers);
const child = spawn(
  process.execPath,
  [new URL("./fixtures/peer-servers.mjs", import.meta.url).pathname, String(origins)],
  { stdio: ["pipe", "pipe", "inherit"] },
);
const line = await new Promise((r) => createInterface({ input: child.stdout }).once("line", r));
const { ports, hungPort } = JSON.parse(line);
const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
const rssAtStart = mb(process.memoryUsage.rss());
const m = new Monitor({ selfName: "soak", interval: "1s", timeout: "900ms", missedBeforeRestart: 1000 });
for (let i = 0; i < peers; i++) {
  const port = i < HUNG ? hungPort : ports[i % ports.length];
  m.registerPeer(`p${i}`, `http://127.0.0.1:${port}/health/${i}`);
}
const cpu0 = process.cpuUsage();
m.start();
const samples = [];
const heapUsed = [];
const end = Date.now() + minutes * 60_000;
while (Date.now() < end) {
  await new Promise((r) => setTimeout(r, Math.min(10_000, end - Date.now())));
  samples.push(mb(process.memoryUsage.rss()));
  heapUsed.push(mb(getHeapStatistics().used_heap_size));
}
const cpu = process.cpuUsage(cpu0);
await m.stop();
child.stdin.end();
const checks = m.stats().total_checks;
const avg = (a) => Math.round((a.reduce((x, y) => x + y, 0) / a.length) * 10) / 10;
console.log(
  JSON.stringify(
    {
      bench: "monitor-soak",
      node: process.version,
      v8_flags: process.execArgv,
      malloc_trim_threshold: process.env.MALLOC_TRIM_THRESHOLD_ ?? null,
      peers,
      origins,
      hung_peers: HUNG,
      interval_ms: 1000,
      minutes,
      checks,
      cpu_us_per_check: Math.round((cpu.user + cpu.system) / Math.max(1, checks)),
      rss_mb_at_start: rssAtStart,
      rss_mb_max: Math.max(...samples),
      rss_mb_first_minute_avg: avg(samples.slice(0, 6)),
      rss_mb_last_minute_avg: avg(samples.slice(-6)),
      rss_mb_samples: samples,
      heap_used_mb_samples: heapUsed,
      lateness: m.schedulerStats().lateness,
    },
    null,
    2,
  ),
);
