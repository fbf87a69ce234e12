// kill -9 at random moments while a child commits transitions; after each crash the
// file must reopen with a valid chain, counters that never went back, no duplicate
// effect, and an outbox row for every committed journal entry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { STATE_FILE_NAME } from "../../src/store/open.js";
import { tempDir } from "../helpers/tmp-dir.js";

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = 20;
/** Kill delay after the child reports ready, ms: uniform in [0, MAX_KILL_DELAY_MS). */
const MAX_KILL_DELAY_MS = 400;

interface Round {
  acked: Map<string, number>;
  exitSignal: NodeJS.Signals | null;
  stderr: string;
}

function runAndKill(dataDir: string, delayMs: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(here, "fixtures", "crash-writer.ts"), dataDir],
      {
        cwd: join(here, "..", ".."),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const acked = new Map<string, number>();
    let buf = "";
    let stderr = "";
    let killTimer: NodeJS.Timeout | undefined;
    // Hard bound: the child never runs longer than this whatever happens.
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines) {
        if (line === "ready") {
          killTimer = setTimeout(() => child.kill("SIGKILL"), delayMs);
          continue;
        }
        const [peer, n] = line.split(" ");
        acked.set(peer!, Number(n));
      }
    });
    child.on("error", reject);
    child.on("close", (_code, signal) => {
      clearTimeout(guard);
      if (killTimer) clearTimeout(killTimer);
      resolve({ acked, exitSignal: signal, stderr });
    });
  });
}

void test(
  "kill -9 during commits: chain, counters, effects and outbox survive",
  { timeout: 300_000 },
  async (t) => {
    const dataDir = tempDir(t, "wdm-crash-");
    const file = join(dataDir, STATE_FILE_NAME);
    const floor = new Map<string, number>(); // highest counter acknowledged so far, per peer
    let totalEntries = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const delay = Math.floor(Math.random() * MAX_KILL_DELAY_MS);
      const r = await runAndKill(dataDir, delay);
      assert.equal(r.exitSignal, "SIGKILL", `round ${round}: the child ended by itself: ${r.stderr}`);
      for (const [p, n] of r.acked) floor.set(p, Math.max(floor.get(p) ?? 0, n));

      const store = SqliteStore.open({
        dataDir,
        sinks: [
          { name: "all", minSeverity: "INFO" },
          { name: "high", minSeverity: "HIGH" },
        ],
        node: "check",
      });
      try {
        const v = store.verifyJournal();
        assert.ok(v.ok, `round ${round} (kill after ${delay} ms): chain broken: ${JSON.stringify(v)}`);
        assert.ok(
          v.checked >= totalEntries,
          `round ${round}: journal shrank from ${totalEntries} to ${v.checked}`,
        );
        totalEntries = v.checked;
        for (const p of store.loadPeers()) {
          const n = p.state.restarts;
          const min = floor.get(p.name) ?? 0;
          assert.ok(n >= min, `round ${round}: ${p.name} counter went back: ${n} < acknowledged ${min}`);
          floor.set(p.name, n);
        }
      } finally {
        store.close();
      }

      const raw = new Database(file, { readonly: true });
      try {
        // State and journal were committed together: one entry per counter step, no gaps.
        const perPeer = raw.prepare("SELECT peer, count(*) AS n FROM journal GROUP BY peer").all() as Array<{
          peer: string;
          n: number;
        }>;
        for (const { peer, n } of perPeer)
          assert.equal(
            n,
            floor.get(peer),
            `round ${round}: ${peer} has ${n} entries for counter ${floor.get(peer)}`,
          );
        const eff = raw.prepare("SELECT count(*) AS n, count(DISTINCT id) AS d FROM effects").get() as {
          n: number;
          d: number;
        };
        assert.equal(eff.n, eff.d, "no effect id twice");
        const restarts = raw
          .prepare("SELECT count(*) AS n FROM journal WHERE json_extract(entry, '$.action') = 'restart'")
          .get() as { n: number };
        assert.equal(eff.n, restarts.n, "one effect per restart entry");
        const missing = raw
          .prepare(
            `SELECT j.seq, json_extract(j.entry, '$.severity') AS sev,
                    (SELECT count(*) FROM outbox o WHERE o.journal_seq = j.seq) AS rows
             FROM journal j`,
          )
          .all() as Array<{ seq: number; sev: string; rows: number }>;
        for (const m of missing)
          assert.equal(
            m.rows,
            m.sev === "HIGH" ? 2 : 1,
            `round ${round}: outbox rows of journal seq ${m.seq}`,
          );
      } finally {
        raw.close();
      }
    }
    assert.ok(totalEntries > ROUNDS, "the child committed something in most rounds");
    t.diagnostic(
      `${ROUNDS} kills, ${totalEntries} journal entries committed, counters ${JSON.stringify(Object.fromEntries(floor))}`,
    );
  },
);
