// Issue 5 figures: "Receiver down: an outbox of 10,000 pending events costs no extra probe
// lateness and drains at >= 1,000 events/s when the receiver returns."
//
// One process, one event loop, as in the daemon: a real Monitor probing --peers healthy
// loopback HTTP peers (served by a child process) every 1 s, with a real SqliteStore
// (synchronous=FULL, temp dir) as its store and as the outbox of a real webhook worker
// (createAlerting). Probe lateness (actual start − due time, from Monitor.onProbe) and
// event-loop delay are measured per phase:
//   baseline       empty outbox, receiver up, --seconds long
//   fill           --backlog actions committed through store.commit, --per-commit each
//                  (the journal + outbox transactions themselves; reported, not the claim)
//   receiver_down  --backlog rows pending, receiver not listening, worker retrying, --seconds
//   drain          receiver (a child process) listening again on the same port, until the
//                  outbox is empty; events/s = distinct ids received / drain time
// Retries are compressed (10 ms → 100 ms instead of 1 s → 5 min) so the worker retries
// often while down (worse than the default) and the drain starts within 100 ms.
// Prints one JSON object; never passes or fails.
// --delivered-batch 1 writes each delivered mark in its own transaction (the behaviour
// before marks were batched), for comparison; default 100 (the worker's default).
//   node --import tsx bench/outbox-lateness.ts [--peers 200] [--backlog 10000] [--seconds 10] [--per-commit 100] [--delivered-batch 100]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { setImmediate as yieldLoop, setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { createAlerting } from "../src/alert/dispatcher.js";
import type { SinkConfig } from "../src/alert/sink-config.js";
import { initialState } from "../src/core/ladder.js";
import type { EscalationAction } from "../src/core/types.js";
import { Monitor } from "../src/index.js";
import { SqliteStore } from "../src/store/sqlite-store.js";
import { makeAction, makePeer } from "../test/helpers/memory-outbox.js";
import { arg, freePort, rssMb, startPeerServers } from "./lib.js";

const PEERS = arg("peers", 200);
const BACKLOG = arg("backlog", 10_000);
const PHASE_S = arg("seconds", 10);
const PER_COMMIT = arg("per-commit", 100);
const DELIVERED_BATCH = arg("delivered-batch", 100);
const SINK = "architect";

const tStart = performance.now();
const servers = await startPeerServers(20);
const rxPort = await freePort();
const dir = mkdtempSync(join(tmpdir(), "wdmesh-bench-outbox-"));
const store = SqliteStore.open({ dataDir: dir, node: "bench", sinks: [{ name: SINK, minSeverity: "INFO" }] });
const sink: SinkConfig = {
  name: SINK,
  kind: "webhook",
  format: "generic",
  url: `http://127.0.0.1:${rxPort}/hook`,
  secret: "bench-secret",
  minSeverity: "INFO",
  timeoutMs: 5000,
  maxAgeMs: 86_400_000,
  headers: {},
};
const alerting = createAlerting({
  sinks: [sink],
  outbox: store,
  backoff: { initialMs: 10, maxMs: 100, minMs: 10 },
  deliveredBatch: DELIVERED_BATCH,
});
const monitor = new Monitor({
  selfName: "bench",
  interval: "1s",
  timeout: "900ms",
  missedBeforeRestart: 1_000,
  store,
});
for (let i = 0; i < PEERS; i++) {
  monitor.registerPeer(
    `p${String(i).padStart(4, "0")}`,
    `http://127.0.0.1:${servers.ports[i % servers.ports.length]}/health/${i}`,
  );
}

// ---- measurement windows ----
let samples: number[] = [];
let misses = 0;
monitor.onProbe((_peer, result, latenessMs) => {
  samples.push(Math.max(0, latenessMs));
  if (!result.ok) misses++;
});
/** Event-loop delay sampling interval, ms; reported delays are what exceeds it. */
const LOOP_RES_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RES_MS });
loopDelay.enable();

function pct(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}
const r1 = (x: number): number => Math.round(x * 10) / 10;

function openWindow(): void {
  samples = [];
  misses = 0;
  loopDelay.reset();
}
function closeWindow(ms: number): Record<string, number> {
  const s = [...samples].sort((a, b) => a - b);
  return {
    seconds: r1(ms / 1000),
    probes: s.length,
    probe_misses: misses,
    lateness_p50_ms: r1(pct(s, 0.5)),
    lateness_p99_ms: r1(pct(s, 0.99)),
    lateness_max_ms: r1(s.at(-1) ?? NaN),
    loop_delay_p99_ms: r1(Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RES_MS)),
    loop_delay_max_ms: r1(Math.max(0, loopDelay.max / 1e6 - LOOP_RES_MS)),
  };
}
async function phase(seconds: number): Promise<Record<string, number>> {
  openWindow();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  return closeWindow(performance.now() - t0);
}

const action = (): EscalationAction => makeAction({ node: "bench", timestamp: new Date().toISOString() });

// ---- receiver child ----
async function startReceiver(port: number) {
  const script = fileURLToPath(new URL("./fixtures/webhook-receiver.mjs", import.meta.url));
  const child = spawn(process.execPath, [script, String(port)], { stdio: ["pipe", "pipe", "inherit"] });
  const rl = createInterface({ input: child.stdout });
  const lines: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  rl.on("line", (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  const next = (): Promise<string> =>
    lines.length > 0 ? Promise.resolve(lines.shift() as string) : new Promise((r) => waiters.push(r));
  await next(); // {"port":P}
  return {
    async count(): Promise<{ requests: number; unique: number }> {
      child.stdin.write("count\n");
      return JSON.parse(await next()) as { requests: number; unique: number };
    },
    stop(): void {
      rl.close();
      child.stdin.end();
    },
  };
}

// ---- run ----
monitor.start();
alerting.start();
await sleep(3_000); // jittered first probes settle; keep-alive connections open

const baseline = await phase(PHASE_S);

openWindow();
const tf = performance.now();
for (let i = 0; i < BACKLOG; i += PER_COMMIT) {
  store.commit({
    peer: "sidecar",
    state: { ...initialState(), status: "DEGRADED" },
    actions: Array.from({ length: Math.min(PER_COMMIT, BACKLOG - i) }, action),
    snapshot: makePeer("sidecar"),
    effects: [],
  });
  await yieldLoop();
}
const fill = {
  ...closeWindow(performance.now() - tf),
  commits: Math.ceil(BACKLOG / PER_COMMIT),
  actions_per_commit: PER_COMMIT,
};

const pendingBefore = store.depth()[SINK]?.pending ?? 0;
const down = { ...(await phase(PHASE_S)), pending: store.depth()[SINK]?.pending ?? 0 };

const rx = await startReceiver(rxPort);
openWindow();
const td = performance.now();
const drainDeadline = td + 300_000;
while ((store.depth()[SINK]?.pending ?? 0) > 0 && performance.now() < drainDeadline) await sleep(20);
const drainMs = performance.now() - td;
const drained = (store.depth()[SINK]?.pending ?? 0) === 0;
const drainWindow = closeWindow(drainMs);
const got = await rx.count();
const stats = alerting.stats()[0];

// Lateness once the outbox is empty again (the system settles back).
const after = await phase(Math.min(PHASE_S, 5));

await monitor.stop();
await alerting.stop();
store.close();
rx.stop();
servers.stop();
loopDelay.disable();
rmSync(dir, { recursive: true, force: true });

console.log(
  JSON.stringify(
    {
      bench: "outbox-lateness",
      node: process.version,
      store: "SqliteStore (synchronous=FULL, temp dir), shared by the Monitor and the webhook worker",
      peers: PEERS,
      interval_ms: 1000,
      backlog: pendingBefore,
      retry_backoff_ms: { min: 10, initial: 10, max: 100 },
      delivered_marks_per_transaction: DELIVERED_BATCH,
      phases: {
        baseline,
        fill,
        receiver_down: down,
        drain: {
          ...drainWindow,
          drained,
          drain_ms: Math.round(drainMs),
          events_per_s: Math.round((got.unique / drainMs) * 1000),
          received: got.requests,
          unique_ids: got.unique,
          worker_delivered: stats?.delivered,
          worker_retried_while_down: stats?.retried,
        },
        after_drain: after,
      },
      total_s: r1((performance.now() - tStart) / 1000),
      rss_mb: rssMb(),
    },
    null,
    2,
  ),
);
