// Steps in flight are shared over real views: three Monitors on loopback watch a failing
// target; the node that starts the restart hangs in it (a slow restart) and then drops out
// of the mesh (its server closes). The others see its restart in flight in its last view
// and do not repeat it before takeover_after; after that, exactly one of them takes over.
// With the host's step ledger (the three nodes on one host), the takeover goes through it
// too: while the remediator is alive and its restart still runs, the ledger refuses the
// step whatever takeover_after says; the survivors take over once the restart has finished.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Monitor } from "../../src/index.js";
import { closeServer as close, listen } from "../helpers/listen.js";
import { freePort } from "../helpers/ports.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

const KEY = "takeover-mesh-key-0123456789";
const INTERVAL = 200;
const NAMES = ["tk-a", "tk-b", "tk-c"];

/**
 * Three Monitors watching one failing worker; the first restart hangs until `unblock()`.
 * With `ledgerDir`, every node takes its steps in that one ledger (and a restart blocks
 * the worker there for `restartTimeout`).
 */
async function slowRestartMesh(o: { takeoverMs: number; ledgerDir?: string; restartTimeout?: string }) {
  const ports = await Promise.all(NAMES.map(() => freePort()));
  const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
  const target = await listen((_req, res) => res.writeHead(503).end("down"));
  let unblock!: () => void;
  const slow = new Promise<void>((r) => (unblock = r));
  /** When each node's restarts started (its clock is the real one: Date.now). */
  const restartedAt = NAMES.map((): number[] => []);
  const executors = NAMES.map(
    (_, i) =>
      new RecordingExecutor(() => {
        restartedAt[i]?.push(Date.now());
        return slow;
      }),
  );
  const monitors = NAMES.map(
    (selfName, i) =>
      new Monitor({
        selfName,
        interval: INTERVAL,
        timeout: 150,
        missedBeforeRestart: 2,
        executor: executors[i],
        selfHealth: false,
        ...(o.ledgerDir === undefined ? {} : { ledger: { dir: o.ledgerDir } }),
        mesh: {
          key: KEY,
          confirm: "majority",
          takeoverAfter: o.takeoverMs,
          members: NAMES.flatMap((n, j) => (j === i ? [] : [{ name: n, url: url(j) }])),
        },
      }),
  );
  for (const m of monitors) {
    m.registerPeer({
      name: "worker",
      probe: { http: { url: `${target.url}/health` } },
      restart: {
        command: {
          argv: ["/bin/true"],
          ...(o.restartTimeout === undefined ? {} : { timeout: o.restartTimeout }),
        },
      },
    });
  }
  const servers = await Promise.all(monitors.map((m, i) => listen(m.mesh.handler, ports[i])));
  const restarts = () => executors.map((e) => e.calls.filter((c) => c.startsWith("restart:worker")).length);
  /** Index of the node that started the restart, once `cutOffRemediator` found it. */
  let r = -1;
  return {
    monitors,
    restartedAt,
    restarts,
    unblock,
    get remediator() {
      return r;
    },
    /**
     * Starts the nodes, waits for the one restart and for the others to hold a view of it
     * in flight, then closes the remediator's server (its restart keeps hanging). Returns
     * when the restart started.
     */
    async cutOffRemediator(): Promise<number> {
      for (const m of monitors) m.start();
      await until("one node to start the restart", () => restarts().some((n) => n > 0), 30_000);
      r = restarts().findIndex((n) => n > 0);
      assert.deepEqual(
        restarts().filter((n) => n > 0),
        [1],
        "exactly one node starts it",
      );
      // The others see it in flight in the remediator's view before it drops out: each holds
      // a view of it requested after the restart started (a view's age runs from its request).
      await until("the restart in flight", () => monitors[r]?.inFlightSteps().length === 1, 5_000);
      const startedAt = monitors[r]?.inFlightSteps()[0]?.startedAt ?? Infinity;
      await until("the others to hold a view of the remediator taken since", () =>
        monitors.every((m, i) => {
          if (i === r) return true;
          const seen = m.mesh.meshDocument().members.find((x) => x.name === NAMES[r]);
          return typeof seen?.view_age_ms === "number" && Date.now() - seen.view_age_ms > startedAt;
        }),
      );
      await close((servers[r] as { server: Server }).server);
      return startedAt;
    },
    async stop(): Promise<void> {
      unblock();
      for (const m of monitors) await m.stop();
      await Promise.all([...servers.filter((_, i) => i !== r), target].map((s) => close(s.server)));
    },
  };
}

test(
  "a restart in flight on a node that dies is not repeated before takeover_after, then one node takes over",
  { timeout: 90_000 },
  async () => {
    const TAKEOVER = 6_000;
    const mesh = await slowRestartMesh({ takeoverMs: TAKEOVER });
    try {
      const startedAt = await mesh.cutOffRemediator(); // the remediator is gone, its restart hangs
      const r = mesh.remediator;
      // Its views go stale within 3 intervals and the others' backings settle within 4 more:
      // without the shared step a survivor would restart well before takeover_after. When
      // the takeover came is read from the survivor's own restart, so a busy machine can only
      // make it later: the check holds on any machine and is never skipped.
      await until("a survivor to take over", () => mesh.restarts().some((n, i) => i !== r && n > 0), 30_000);
      const takenAt = Math.min(...mesh.restartedAt.flatMap((at, i) => (i === r ? [] : at)));
      assert.ok(
        takenAt - startedAt >= TAKEOVER,
        `a survivor repeated the restart in flight ${takenAt - startedAt} ms after it started, before takeover_after (${TAKEOVER} ms)`,
      );
      await sleep(5 * INTERVAL);
      assert.deepEqual(
        mesh
          .restarts()
          .filter((_, i) => i !== r)
          .sort(),
        [0, 1],
        "exactly one survivor takes over",
      );
    } finally {
      await mesh.stop();
    }
  },
);

test(
  "with the host's step ledger, a takeover after takeover_after is refused while the cut-off node's restart still runs; it comes once that restart finished",
  { timeout: 90_000 },
  async (t) => {
    const TAKEOVER = 1_500;
    const ledgerDir = join(tempDir(t, "wdmesh-takeover-ledger-"), "ledger");
    // The restart blocks the worker in the ledger for up to 120 s: far past takeover_after.
    const mesh = await slowRestartMesh({ takeoverMs: TAKEOVER, ledgerDir, restartTimeout: "120s" });
    try {
      const startedAt = await mesh.cutOffRemediator(); // alive, its restart hangs, its views are gone
      const r = mesh.remediator;
      // Without the ledger a survivor takes over once takeover_after has passed since the
      // remediator's view went stale (3 intervals) and its backing settled (4 more): past
      // this point, each survivor's further misses are takeovers the ledger alone refuses.
      const overdue = Date.now() + TAKEOVER + 12 * INTERVAL;
      await until("takeover_after and the settle time to pass", () => Date.now() > overdue, 30_000);
      const probes = NAMES.map(() => 0);
      const offs = mesh.monitors.map((m, i) =>
        m.onProbe((peer) => {
          if (peer === "worker") probes[i] = (probes[i] ?? 0) + 1;
        }),
      );
      // (A survivor that restarted hangs in that restart and probes no more.)
      await until(
        "every survivor to miss the worker 3 more times (or to restart it)",
        () => probes.every((n, i) => i === r || n >= 3 || (mesh.restarts()[i] ?? 0) > 0),
        30_000,
      );
      for (const off of offs) off();
      assert.deepEqual(
        mesh.restarts().filter((_, i) => i !== r),
        [0, 0],
        "no survivor repeated the restart while it still ran on the cut-off node",
      );
      // The restart finishes: the ledger lets the next step be taken, by a survivor.
      const finishedAt = Date.now();
      mesh.unblock();
      await until("a survivor to take over", () => mesh.restarts().some((n, i) => i !== r && n > 0), 30_000);
      const takenAt = Math.min(...mesh.restartedAt.flatMap((at, i) => (i === r ? [] : at)));
      assert.ok(
        takenAt >= finishedAt,
        `a survivor restarted ${finishedAt - takenAt} ms before the restart in flight finished`,
      );
      assert.ok(takenAt - startedAt >= TAKEOVER, "and not before takeover_after");
    } finally {
      await mesh.stop();
    }
  },
);
