// Harm under starvation: one `wdmesh run` node (a real process) watches --peers (default
// 200) healthy loopback HTTP peers at interval 1 s, timeout 500 ms, while busy-loop
// processes (two per core) starve the host for --seconds (default 300), and the node
// itself is frozen with SIGSTOP for 2 s and for 5 s along the way. The peers never fail,
// so every miss, restart and isolation it counts is harm done by the watchdog.
// Restart and isolate are command methods that append a line to a log file: the bench
// counts the lines. Needs `npm run build`. Prints JSON; never fails on time.
// Run: node --import tsx bench/false-remediation.ts [--peers 200] [--seconds 300]
//      (or WDMESH_BENCH_SECONDS=90)
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { arg, freePort, startPeerServers } from "./lib.js";

const peers = arg("peers", 200);
const seconds = arg("seconds", Number(process.env["WDMESH_BENCH_SECONDS"] ?? 300));
const busyPerCore = arg("busy-per-core", 2);
const cores = availableParallelism();
const TOKEN = "false-remediation-bench-token-0123456789";

const servers = await startPeerServers(50);
const dir = mkdtempSync(join(tmpdir(), "wdmesh-harm-"));
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const log = join(dir, "effects.log");
const sh = (what: string) => JSON.stringify(["/bin/sh", "-c", `echo "${what} $WDMESH_PEER" >> ${log}`]);
const peerYaml = Array.from(
  { length: peers },
  (_, i) =>
    `  - name: p${i}\n` +
    `    probe: { http: { url: "http://127.0.0.1:${servers.ports[i % servers.ports.length]}/health/${i}" } }\n` +
    `    restart: { command: { argv: ${sh("restart")} } }\n` +
    `    isolate: { command: { argv: ${sh("isolate")} } }`,
).join("\n");
writeFileSync(
  join(dir, "mesh.yaml"),
  `node: { name: harm, listen: "127.0.0.1:${port}", data_dir: "${join(dir, "data")}", api_token: "${TOKEN}", read_token: "${TOKEN}" }
defaults: { interval: 1s, timeout: 500ms }
peers:
${peerYaml}
`,
);
const daemon = spawn(process.execPath, ["dist/cli/main.js", "run", "--config", join(dir, "mesh.yaml")], {
  stdio: ["ignore", "ignore", "pipe"],
});
let daemonErr = "";
daemon.stderr?.on("data", (d: Buffer) => (daemonErr = (daemonErr + d.toString()).slice(-4000)));
const busy: ChildProcess[] = [];

// Whatever happens below, no process outlives the bench.
process.once("exit", () => {
  for (const b of busy) b.kill("SIGKILL");
  daemon.kill("SIGCONT");
  daemon.kill("SIGKILL");
  servers.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function get(path: string): Promise<string> {
  const r = await fetch(url + path, { headers: { connection: "close", authorization: `Bearer ${TOKEN}` } });
  return r.text();
}
for (let i = 0; i < 150; i++) {
  try {
    await get("/health");
    break;
  } catch {
    if (daemon.exitCode !== null) throw new Error(`daemon exited: ${daemonErr}`);
    await sleep(100);
  }
}
await sleep(3000); // the jittered start settles

interface Mesh {
  stats: { total_checks: number; total_misses: number; inconclusive_checks?: number };
  peers: Array<{ status: string }>;
  self_health?: unknown;
}
const m0 = JSON.parse(await get("/v1/mesh")) as Mesh;

for (let i = 0; i < busyPerCore * cores; i++) {
  busy.push(spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));
}
const started = Date.now();
const pauses = [
  { at: Math.floor(seconds / 3) * 1000, ms: 2000 },
  { at: Math.floor((2 * seconds) / 3) * 1000, ms: 5000 },
];
for (const p of pauses) {
  await sleep(Math.max(0, started + p.at - Date.now()));
  daemon.kill("SIGSTOP");
  await sleep(p.ms);
  daemon.kill("SIGCONT");
}
await sleep(Math.max(0, started + seconds * 1000 - Date.now()));
for (const b of busy) b.kill("SIGKILL");
await sleep(3000); // probes in flight at the end settle
const m1 = JSON.parse(await get("/v1/mesh")) as Mesh;
const lines = existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
let events: Array<{ action: string }> = [];
try {
  events = JSON.parse(await get("/v1/events?limit=1000")) as Array<{ action: string }>;
  if (!Array.isArray(events)) events = (events as { entries?: Array<{ action: string }> }).entries ?? [];
} catch {
  events = [];
}
daemon.kill("SIGTERM");
await new Promise((r) => daemon.once("exit", r));
servers.stop();
rmSync(dir, { recursive: true, force: true });

const byAction: Record<string, number> = {};
for (const e of events) byAction[e.action] = (byAction[e.action] ?? 0) + 1;
console.log(
  JSON.stringify(
    {
      bench: "false-remediation",
      peers,
      interval_ms: 1000,
      timeout_ms: 500,
      starve_seconds: seconds,
      busy_processes: busyPerCore * cores,
      sigstop_pauses_ms: pauses.map((p) => p.ms),
      checks: m1.stats.total_checks - m0.stats.total_checks,
      misses: m1.stats.total_misses - m0.stats.total_misses,
      inconclusive_checks: (m1.stats.inconclusive_checks ?? 0) - (m0.stats.inconclusive_checks ?? 0),
      restarts: lines.filter((l) => l.startsWith("restart ")).length,
      isolations: lines.filter((l) => l.startsWith("isolate ")).length,
      peers_not_healthy_at_end: m1.peers.filter((p) => p.status !== "HEALTHY").length,
      journal_actions: byAction,
      self_health_at_end: m1.self_health ?? null,
    },
    null,
    2,
  ),
);
