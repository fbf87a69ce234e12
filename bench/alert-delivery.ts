// Alert delivery figures (prints JSON; never passes or fails):
//  1. latency: receiver up, N events committed one after the other; time from the commit
//     (journal + outbox, one transaction) to the request arriving at the receiver.
//  2. drain: receiver down while M rows pile up in the outbox, then up on the same port;
//     events per second until the outbox is empty (one POST per row, in order, signed).
// Uses the real SqliteStore (synchronous=FULL) in a temp dir and a loopback receiver.
// With --memory the in-memory outbox of the tests replaces SQLite (separates HTTP cost from fsyncs).
//   node --import tsx bench/alert-delivery.ts [--events 1000] [--backlog 10000] [--memory]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAlerting } from "../src/alert/dispatcher.js";
import type { SinkConfig } from "../src/alert/sink-config.js";
import { SqliteStore } from "../src/store/sqlite-store.js";
import { initialState } from "../src/core/ladder.js";
import type { EscalationAction } from "../src/core/types.js";
import { Receiver } from "../test/helpers/receiver.js";
import { MemoryOutbox, makeAction, makePeer } from "../test/helpers/memory-outbox.js";
import type { OutboxPort } from "../src/store/types.js";

const MEMORY = process.argv.includes("--memory");

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const EVENTS = arg("events", 1000);
const BACKLOG = arg("backlog", 10_000);
/** Actions per committed transition while building the backlog. */
const PER_COMMIT = 10;

const action = (): EscalationAction => makeAction({ node: "immune", timestamp: new Date().toISOString() });

type Outbox = OutboxPort & { close(): void };

function commit(store: Outbox, actions: EscalationAction[]): void {
  if (store instanceof MemoryOutbox) {
    for (const a of actions) store.append("architect", a);
    return;
  }
  (store as SqliteStore).commit({
    peer: "sidecar",
    state: { ...initialState(), status: "DEGRADED" },
    actions,
    snapshot: makePeer("sidecar"),
    effects: [],
  });
}

function pct(sorted: number[], p: number): number {
  return Number(
    (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN).toFixed(2),
  );
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

function world(rx: Receiver) {
  const dir = mkdtempSync(join(tmpdir(), "wdmesh-bench-alert-"));
  const sink: SinkConfig = {
    name: "architect",
    kind: "webhook",
    format: "generic",
    url: rx.url("/hook"),
    secret: "bench-secret",
    minSeverity: "INFO",
    timeoutMs: 5000,
    maxAgeMs: 86_400_000,
    headers: {},
  };
  const store: Outbox = MEMORY
    ? Object.assign(new MemoryOutbox(), { close() {} })
    : SqliteStore.open({ dataDir: dir, node: "immune", sinks: [{ name: "architect", minSeverity: "INFO" }] });
  // Compressed retries so the drain starts within ~100 ms of the receiver coming back.
  const alerting = createAlerting({
    sinks: [sink],
    outbox: store,
    backoff: { initialMs: 20, maxMs: 100, minMs: 10 },
  });
  return { dir, store, alerting };
}

async function latency() {
  const rx = await new Receiver().start();
  const { dir, store, alerting } = world(rx);
  alerting.start();
  const lat: number[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const t0 = performance.now();
    commit(store, [action()]);
    if (!(await until(() => rx.requests.length > i, 10_000)))
      throw new Error(`event ${i} not delivered within 10 s`);
    lat.push((rx.requests[i]?.at ?? NaN) - t0);
  }
  await alerting.stop();
  store.close();
  await rx.stop();
  rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  return { events: EVENTS, p50_ms: pct(lat, 50), p99_ms: pct(lat, 99), max_ms: pct(lat, 100) };
}

async function drain() {
  const rx = await new Receiver().start();
  const port = rx.port;
  await rx.stop();
  const { dir, store, alerting } = world(rx);
  alerting.start();
  const tc = performance.now();
  for (let i = 0; i < BACKLOG; i += PER_COMMIT)
    commit(store, Array.from({ length: Math.min(PER_COMMIT, BACKLOG - i) }, action));
  const commitMs = performance.now() - tc;
  const pendingBefore = store.depth()["architect"]?.pending ?? 0;
  await rx.start(port);
  const t0 = performance.now();
  const done = await until(
    () => rx.requests.length >= pendingBefore && (store.depth()["architect"]?.pending ?? 0) === 0,
    300_000,
  );
  const ms = performance.now() - t0;
  const received = rx.requests.length;
  const unique = new Set(rx.requests.map((r) => r.headers["idempotency-key"])).size;
  await alerting.stop();
  store.close();
  await rx.stop();
  rmSync(dir, { recursive: true, force: true });
  return {
    backlog: pendingBefore,
    drained: done,
    drain_ms: Math.round(ms),
    events_per_s: Math.round((unique / ms) * 1000),
    received,
    unique_ids: unique,
    backlog_commit_ms: Math.round(commitMs),
  };
}

const result = {
  bench: "alert-delivery",
  store: MEMORY ? "MemoryOutbox (test fake, no disk)" : "SqliteStore (synchronous=FULL, temp dir)",
  receiver: "node:http on 127.0.0.1, 200 OK",
  format: "generic webhook, HMAC-signed",
  node: process.version,
  latency_journal_to_received: await latency(),
  drain_after_outage: await drain(),
};
console.log(JSON.stringify(result, null, 2));
