#!/usr/bin/env node
// Runs the benchmarks one after another; each prints one JSON object. None passes or
// fails on time. `npm run build` first (daemon-load and monitor-soak use dist/).
//   node scripts/run-bench.mjs              the quick ones (a few minutes)
//   node scripts/run-bench.mjs NAME...      only these (names of files in bench/, without extension)
// Long or privileged ones run only when named: monitor-soak (10 min), restart-latency (root: systemd).
import { spawnSync } from "node:child_process";

const QUICK = [
  "probe-throughput",
  "monitor-round",
  "store-commit",
  "alert-delivery",
  "outbox-lateness",
  "daemon-load",
];
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : QUICK;
let failed = 0;
for (const name of names) {
  const file = name === "monitor-soak" ? "bench/monitor-soak.mjs" : `bench/${name}.ts`;
  const args = file.endsWith(".mjs") ? [file] : ["--import", "tsx", file];
  process.stderr.write(`== ${name}\n`);
  const r = spawnSync(process.execPath, args, { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`${name} exited with ${r.status}\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);
