// Probe throughput: how many healthy HTTP checks per second one prober sustains against
// one keep-alive loopback server, and the CPU each check costs the probing process.
// The server runs in a child process so its CPU is not counted. Prints one JSON object;
// never fails on time.
//
//   node --import tsx bench/probe-throughput.ts [--seconds 10] [--max-checks 200000] [--concurrency 64] [--connections 8]
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { createProber } from "../src/probe/index.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" }, // wall time of the measured run, s
    "max-checks": { type: "string", default: "200000" }, // stop after this many checks
    concurrency: { type: "string", default: "64" }, // probes in flight
    connections: { type: "string", default: "8" }, // pooled keep-alive connections to the origin
    warmup: { type: "string", default: "2000" }, // checks before measuring (JIT, sockets)
  },
});
const SECONDS = Number(values.seconds);
const MAX_CHECKS = Number(values["max-checks"]);
const CONCURRENCY = Number(values.concurrency);
const CONNECTIONS = Number(values.connections);
const WARMUP = Number(values.warmup);
const TIMEOUT_MS = 5_000;

const SERVER = `
const http = require("node:http");
const body = '{"status":"ok"}';
const s = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
});
s.keepAliveTimeout = 60000;
s.listen(0, "127.0.0.1", () => process.stdout.write(s.address().port + "\\n"));
process.on("disconnect", () => process.exit(0));
`;

const child = spawn(process.execPath, ["-e", SERVER], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
const port = await new Promise<number>((resolve, reject) => {
  child.once("error", reject);
  child.stdout?.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
});
child.stdout?.destroy();

const prober = createProber({ maxConnectionsPerOrigin: CONNECTIONS });
const spec = { http: { url: `http://127.0.0.1:${port}/health` } };

async function run(
  maxChecks: number,
  deadline: number,
  latencies: number[] | null,
): Promise<{ ok: number; miss: number; errors: Record<string, number> }> {
  let started = 0;
  let ok = 0;
  let miss = 0;
  const errors: Record<string, number> = {};
  const worker = async (): Promise<void> => {
    while (started < maxChecks && performance.now() < deadline) {
      started++;
      const r = await prober.probe(spec, TIMEOUT_MS);
      if (r.ok) ok++;
      else {
        miss++;
        const e = r.error ?? "?";
        errors[e] = (errors[e] ?? 0) + 1;
      }
      latencies?.push(r.duration_ms);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { ok, miss, errors };
}

await run(WARMUP, performance.now() + 30_000, null);

const latencies: number[] = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const res = await run(MAX_CHECKS, t0 + SECONDS * 1_000, latencies);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const rssMb = process.memoryUsage().rss / 2 ** 20;

await prober.close();
child.disconnect();
await new Promise<void>((resolve) =>
  child.exitCode !== null ? resolve() : child.once("exit", () => resolve()),
);

latencies.sort((a, b) => a - b);
const pct = (p: number): number =>
  latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
const checks = res.ok + res.miss;
const round = (n: number, d = 3): number => Math.round(n * 10 ** d) / 10 ** d;

console.log(
  JSON.stringify({
    bench: "probe-throughput",
    node: process.version,
    concurrency: CONCURRENCY,
    connections_per_origin: CONNECTIONS,
    checks,
    misses: res.miss,
    miss_errors: res.errors,
    wall_s: round(wallMs / 1_000, 2),
    checks_per_second: Math.round(checks / (wallMs / 1_000)),
    cpu_ms_per_check: round((cpu.user + cpu.system) / 1_000 / checks, 4),
    cpu_user_ms: round(cpu.user / 1_000, 1),
    cpu_system_ms: round(cpu.system / 1_000, 1),
    p50_latency_ms: round(pct(0.5)),
    p99_latency_ms: round(pct(0.99)),
    rss_mb: round(rssMb, 1),
    seed_cpu_ms_per_check: 0.4,
  }),
);
