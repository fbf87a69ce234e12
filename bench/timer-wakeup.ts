// What one timer wakeup costs an otherwise idle Node process on this machine: the floor
// under every probe or poll that runs on a timer of its own. A child process arms N
// repeating timers at 1 s, either spread over the second (N wakeups a second, the way the
// Monitor spreads its probes) or all at the same moment (one wakeup a second), and reports
// its CPU over the window. Prints one JSON object; never fails on time.
//
//   node --import tsx bench/timer-wakeup.ts [--seconds 30] [--timers 10]
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { loadavg } from "node:os";
import { arg } from "./lib.js";

const seconds = arg("seconds", 30);
const timers = arg("timers", 10);

// The child: N no-op repeating timers; after a 3 s settle, the CPU of `seconds` seconds.
const CHILD = `
const [n, spread, seconds] = process.argv.slice(1).map(Number);
let fired = 0;
for (let i = 0; i < n; i++)
  setTimeout(() => setInterval(() => { fired++; }, 1000), spread ? (1000 * i) / n : 0);
setTimeout(() => {
  const cpu0 = process.cpuUsage(); const t0 = performance.now(); const f0 = fired;
  setTimeout(() => {
    const cpu = process.cpuUsage(cpu0); const wall = performance.now() - t0;
    console.log(JSON.stringify({ cpu_ms: (cpu.user + cpu.system) / 1000, wall_ms: wall, fired: fired - f0 }));
    process.exit(0);
  }, seconds * 1000);
}, 3000);
`;

async function run(n: number, spread: boolean): Promise<{ cpu_ms: number; wall_ms: number; fired: number }> {
  const child = spawn(process.execPath, ["-e", CHILD, String(n), spread ? "1" : "0", String(seconds)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (c) => reject(new Error(`child exited with ${c}`)));
  });
  return JSON.parse(line) as { cpu_ms: number; wall_ms: number; fired: number };
}

const r2 = (x: number) => Math.round(x * 1000) / 1000;
const loadBefore = loadavg()[0] ?? 0;
const one = await run(1, false);
const together = await run(timers, false);
const spread = await run(timers, true);
const percent = (r: { cpu_ms: number; wall_ms: number }) => r2((r.cpu_ms / r.wall_ms) * 100);
process.stdout.write(
  `${JSON.stringify({
    bench: "timer-wakeup",
    node: process.version,
    window_s: seconds,
    load_average_1m: { before: r2(loadBefore), after: r2(loadavg()[0] ?? 0) },
    one_timer: { cpu_percent_of_core: percent(one), fired: one.fired },
    [`${timers}_timers_one_wakeup`]: { cpu_percent_of_core: percent(together), fired: together.fired },
    [`${timers}_timers_spread`]: { cpu_percent_of_core: percent(spread), fired: spread.fired },
    // Each extra wakeup a second: what spreading the timers added, per wakeup.
    cpu_ms_per_wakeup: r2((spread.cpu_ms - together.cpu_ms) / ((timers - 1) * seconds)),
  })}\n`,
);
