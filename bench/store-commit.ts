// SQLite store throughput on this disk. Prints JSON; never passes or fails on time.
//   node --import tsx bench/store-commit.ts [--dir DIR] [--commits N] [--peers N]
// - commit: transitions/s (1 journal entry, 2 outbox rows, 1 effect each) with
//   synchronous=FULL (the default: fsync per commit) vs NORMAL.
// - signed: the same commits by a node with an identity (an Ed25519 checkpoint of the
//   journal's head per commit), FULL and NORMAL, and the signature alone.
// - saveState: buffered calls/s on the hot path, and the cost of one flush of all peers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { initialState } from "../src/core/ladder.js";
import { SqliteStore } from "../src/store/sqlite-store.js";
import { generateIdentity, loadIdentity } from "../src/core/identity.js";
import type { SyncMode } from "../src/store/open.js";
import { action, state, transition } from "../test/store/fixtures/transitions.js";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: tmpdir() },
    commits: { type: "string", default: "3000" },
    peers: { type: "string", default: "1000" },
  },
});
const COMMITS = Number(values.commits);
const PEERS = Number(values.peers);
/** Upper bound of one measurement, ms. */
const MAX_MS = 20_000;

const SINKS = [
  { name: "all", minSeverity: "INFO" as const },
  { name: "high", minSeverity: "HIGH" as const },
];

const IDENTITY = loadIdentity(generateIdentity().privatePem);

function withStore<T>(sync: SyncMode, fn: (s: SqliteStore) => T, signed = false): T {
  const dataDir = mkdtempSync(join(values.dir!, "wdm-bench-"));
  const s = SqliteStore.open({
    dataDir,
    sinks: SINKS,
    node: "bench",
    synchronous: sync,
    ...(signed ? { identity: IDENTITY } : {}),
  });
  try {
    return fn(s);
  } finally {
    s.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function commits(
  sync: SyncMode,
  signed = false,
): {
  commits: number;
  seconds: number;
  per_second: number;
  mean_ms: number;
  p99_ms: number;
} {
  return withStore(
    sync,
    (s) => {
      const lat: number[] = [];
      const t0 = performance.now();
      let i = 0;
      for (; i < COMMITS && performance.now() - t0 < MAX_MS; i++) {
        const peer = `p${i % 10}`;
        const a = action(`a${i}`, peer, "restart", "HIGH", `${peer}-inc`);
        const t = performance.now();
        s.commit(transition(peer, state({ status: "OFFLINE", restarts: i, incidentId: `${peer}-inc` }), [a]));
        lat.push(performance.now() - t);
      }
      const seconds = (performance.now() - t0) / 1000;
      lat.sort((x, y) => x - y);
      return {
        commits: i,
        seconds: +seconds.toFixed(3),
        per_second: Math.round(i / seconds),
        mean_ms: +(lat.reduce((x, y) => x + y, 0) / lat.length).toFixed(3),
        p99_ms: +(lat[Math.floor(lat.length * 0.99)] ?? 0).toFixed(3),
      };
    },
    signed,
  );
}

/** One checkpoint signature alone (Ed25519 over node, seq and hash), microseconds. */
function signatureUs(): number {
  const n = 2000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) IDENTITY.sign(`wdmesh-journal-checkpoint\nbench\n${i}\n${"0".repeat(64)}`);
  return +(((performance.now() - t0) * 1000) / n).toFixed(1);
}

function saveStates(): { calls: number; calls_per_second: number; peers: number; flush_ms: number } {
  return withStore("FULL", (s) => {
    const base = initialState();
    const calls = 1_000_000;
    const t0 = performance.now();
    for (let i = 0; i < calls; i++)
      s.saveState(`p${i % PEERS}`, { ...base, status: "HEALTHY", lastSeenAt: i, responseTimeMs: i % 50 });
    const seconds = (performance.now() - t0) / 1000;
    const f0 = performance.now();
    s.flush();
    const flushMs = performance.now() - f0;
    return {
      calls,
      calls_per_second: Math.round(calls / seconds),
      peers: PEERS,
      flush_ms: +flushMs.toFixed(2),
    };
  });
}

const full = commits("FULL");
const normal = commits("NORMAL");
const signedFull = commits("FULL", true);
const signedNormal = commits("NORMAL", true);
console.log(
  JSON.stringify(
    {
      bench: "store-commit",
      dir: values.dir,
      node: process.version,
      commit_synchronous_full: full,
      commit_synchronous_normal: normal,
      full_vs_normal_slowdown: +(normal.per_second / full.per_second).toFixed(2),
      signed_commit_synchronous_full: signedFull,
      signed_commit_synchronous_normal: signedNormal,
      signed_mean_ms_added_full: +(signedFull.mean_ms - full.mean_ms).toFixed(3),
      signed_mean_ms_added_normal: +(signedNormal.mean_ms - normal.mean_ms).toFixed(3),
      checkpoint_signature_us: signatureUs(),
      save_state: saveStates(),
    },
    null,
    2,
  ),
);
