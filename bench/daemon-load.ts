// Issue 4 figures: `wdmesh run` (a real process) watching --peers (default 200) at 1 s
// while wrk drives ~2,000 req/s of GET /v1/mesh for --seconds (default 10).
// Reports probe lateness during the load (from the daemon's Prometheus histogram and
// its own percentile ring), missed probes, checks, the achieved request rate, and the
// daemon's RSS. Needs `npm run build` and wrk. Prints JSON.
// Run: node --import tsx bench/daemon-load.ts [--peers 200] [--seconds 10] [--rate 2000]
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { arg, freePort, startPeerServers } from "./lib.js";

const peers = arg("peers", 200);
const seconds = arg("seconds", 10);
const rate = arg("rate", 2000);
const connections = arg("connections", 16);
const servers = await startPeerServers(50);
const dir = mkdtempSync(join(tmpdir(), "wdmesh-load-"));
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const peerYaml = Array.from(
  { length: peers },
  (_, i) =>
    `  - { name: p${i}, probe: { http: { url: "http://127.0.0.1:${servers.ports[i % servers.ports.length]}/health/${i}" } } }`,
).join("\n");
writeFileSync(
  join(dir, "mesh.yaml"),
  `node: { name: load, listen: "127.0.0.1:${port}", data_dir: "${join(dir, "data")}" }
defaults: { interval: 1s, timeout: 500ms }
peers:
${peerYaml}
`,
);
// The same flags and malloc setting the wdmesh executable's shebang sets.
const daemon = spawn(
  process.execPath,
  [
    "--max-semi-space-size=1",
    "--optimize-for-size",
    "dist/cli/main.js",
    "run",
    "--config",
    join(dir, "mesh.yaml"),
  ],
  {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, MALLOC_TRIM_THRESHOLD_: "65536" },
  },
);

// Whatever happens below, the daemon and the peer servers do not outlive the bench.
process.once("exit", () => {
  daemon.kill("SIGKILL");
  servers.stop();
});

async function get(path: string): Promise<string> {
  const r = await fetch(url + path, { headers: { connection: "close" } });
  return r.text();
}
for (let i = 0; i < 100; i++) {
  try {
    await get("/health");
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 100));
  }
}
await new Promise((r) => setTimeout(r, 3000)); // jittered start settles

function lateness(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    const b = /^wdmesh_probe_lateness_seconds_bucket\{le="([^"]+)"\} (\d+)/.exec(line);
    if (b) m.set(b[1] as string, Number(b[2]));
  }
  return m;
}
function p99(before: Map<string, number>, after: Map<string, number>): { le: string; count: number } {
  const total = (after.get("+Inf") ?? 0) - (before.get("+Inf") ?? 0);
  for (const [le, n] of after) {
    if (n - (before.get(le) ?? 0) >= 0.99 * total) return { le, count: total };
  }
  return { le: "+Inf", count: total };
}
type Mesh = { stats: { total_checks: number; total_misses: number }; scheduler?: { lateness: unknown } };
const m0 = JSON.parse(await get("/v1/mesh")) as Mesh;
const h0 = lateness(await get("/metrics"));
const script = join(dir, "pace.lua");
// Each connection waits between requests so that the total is about `rate` req/s.
writeFileSync(
  script,
  `function delay() return ${Math.max(0, Math.floor((1000 * connections) / rate) - 2)} end\n`,
);
const wrkOut = execFileSync(
  "wrk",
  ["-t2", `-c${connections}`, `-d${seconds}s`, "-s", script, `${url}/v1/mesh`],
  {
    encoding: "utf8",
  },
);
const m1 = JSON.parse(await get("/v1/mesh")) as Mesh;
const h1 = lateness(await get("/metrics"));
const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${daemon.pid}/status`, "utf8"))?.[1];
daemon.kill("SIGTERM");
await new Promise((r) => daemon.once("exit", r));
servers.stop();
rmSync(dir, { recursive: true, force: true });
const q = p99(h0, h1);
console.log(
  JSON.stringify(
    {
      bench: "daemon-load",
      peers,
      interval_ms: 1000,
      wrk_seconds: seconds,
      wrk_requests_per_s: Number(/Requests\/sec:\s+([\d.]+)/.exec(wrkOut)?.[1] ?? 0),
      wrk_latency_avg: /Latency\s+(\S+)/.exec(wrkOut)?.[1],
      checks_during_load: m1.stats.total_checks - m0.stats.total_checks,
      expected_checks: peers * seconds,
      misses_during_load: m1.stats.total_misses - m0.stats.total_misses,
      lateness_p99_bucket_le_s: q.le,
      lateness_samples: q.count,
      lateness_ring_after: m1.scheduler?.lateness,
      daemon_rss_mb: rss ? Math.round(Number(rss) / 102.4) / 10 : null,
    },
    null,
    2,
  ),
);
