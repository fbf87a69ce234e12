// npm run test:jepsen -- [--seeds N] [--from S] [--lanes L] [--seed S]
// Runs N seeded schedules (seeds S..S+N-1; default 20 from 1), L at a time (default 1),
// against real processes (run-schedule.ts) and checks each (check.ts). Prints one line per
// schedule and a JSON summary; exits 1 on any violation or a run that could not be carried
// out. A failing seed replays with --seed S.
import { makeSchedule } from "./schedule.js";
import { runSchedule, type RunResult } from "./run-schedule.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
}

const one = process.argv.includes("--seed") ? arg("seed", 1) : undefined;
const from = one ?? arg("from", 1);
const count = one === undefined ? arg("seeds", 20) : 1;
const lanes = Math.max(1, arg("lanes", 1));
const seeds = Array.from({ length: count }, (_, i) => from + i);
const verbose = one !== undefined || process.argv.includes("--verbose");

const results: RunResult[] = [];
const started = Date.now();
let next = 0;
async function lane(): Promise<void> {
  while (next < seeds.length) {
    const seed = seeds[next++] as number;
    const s = makeSchedule(seed);
    if (verbose) console.log(JSON.stringify(s));
    const said: string[] = [];
    const r = await runSchedule(s, { log: (m) => (verbose ? console.log(m) : said.push(m)) });
    // A run that failed prints what the nodes and the restart log said.
    if (!verbose && (r.error || r.violations.length > 0)) console.log(said.join("\n"));
    results.push(r);
    const status = r.error ? `ERROR ${r.error}` : r.violations.length ? "VIOLATION" : "ok";
    console.log(
      `seed ${seed}: ${status} (${r.restarts} restarts, ${r.episodes} failures, ${(r.ms / 1000).toFixed(1)} s)` +
        r.violations.map((v) => `\n  ${v}`).join("") +
        (r.error || r.violations.length ? `\n  replay: npm run test:jepsen -- --seed ${seed}` : ""),
    );
  }
}
await Promise.all(Array.from({ length: lanes }, () => lane()));
const summary = {
  schedules: results.length,
  violations: results.reduce((n, r) => n + r.violations.length, 0),
  errors: results.filter((r) => r.error).length,
  restarts: results.reduce((n, r) => n + r.restarts, 0),
  failures: results.reduce((n, r) => n + r.episodes, 0),
  seeds: `${from}..${from + count - 1}`,
  seconds: Math.round((Date.now() - started) / 1000),
};
console.log(JSON.stringify(summary));
process.exitCode = summary.violations > 0 || summary.errors > 0 ? 1 : 0;
