// Issue 2 memory figure: RSS watching 1,000 peers at 1 s interval for --minutes
// (default 10), sampled every 10 s, on the built library (dist/, run `npm run build`).
// Prints JSON. Run: node bench/monitor-soak.mjs [--minutes 10] [--peers 1000]
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { Monitor } from "../dist/index.js";

const arg = (n, d) => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const minutes = arg("minutes", 10);
const peers = arg("peers", 1000);
const child = spawn(process.execPath, [new URL("./fixtures/peer-servers.mjs", import.meta.url).pathname, "50"], {
  stdio: ["pipe", "pipe", "inherit"],
});
const line = await new Promise((r) => createInterface({ input: child.stdout }).once("line", r));
const { ports, hungPort } = JSON.parse(line);
const m = new Monitor({ selfName: "soak", interval: "1s", timeout: "900ms", missedBeforeRestart: 1000 });
for (let i = 0; i < peers; i++) {
  const port = i < 10 ? hungPort : ports[i % ports.length];
  m.registerPeer(`p${i}`, `http://127.0.0.1:${port}/health/${i}`);
}
m.start();
const samples = [];
const mb = () => Math.round((process.memoryUsage.rss() / 1048576) * 10) / 10;
const end = Date.now() + minutes * 60_000;
while (Date.now() < end) {
  await new Promise((r) => setTimeout(r, Math.min(10_000, end - Date.now())));
  samples.push(mb());
}
await m.stop();
child.stdin.end();
const firstMinute = samples.slice(0, 6);
const lastMinute = samples.slice(-6);
const avg = (a) => Math.round((a.reduce((x, y) => x + y, 0) / a.length) * 10) / 10;
console.log(
  JSON.stringify(
    {
      bench: "monitor-soak",
      peers,
      interval_ms: 1000,
      minutes,
      checks: m.stats().total_checks,
      rss_mb_max: Math.max(...samples),
      rss_mb_first_minute_avg: avg(firstMinute),
      rss_mb_last_minute_avg: avg(lastMinute),
      rss_mb_samples: samples,
      lateness: m.schedulerStats().lateness,
    },
    null,
    2,
  ),
);
