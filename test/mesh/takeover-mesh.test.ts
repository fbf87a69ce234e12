// Steps in flight are shared over real views: three Monitors on loopback watch a failing
// target; the node that starts the restart hangs in it (a slow restart) and then vanishes
// (its server closes, as if killed). The others see its restart in flight in its last view
// and do not repeat it before takeover_after; after that, exactly one of them takes over.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { Monitor } from "../../src/index.js";
import { closeServer as close, listen } from "../helpers/listen.js";
import { freePort } from "../helpers/ports.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";
import { until } from "../helpers/wait.js";

const KEY = "takeover-mesh-key-0123456789";
const INTERVAL = 200;
const TAKEOVER = 6_000;

test(
  "a restart in flight on a node that dies is not repeated before takeover_after, then one node takes over",
  { timeout: 90_000 },
  async () => {
    const names = ["tk-a", "tk-b", "tk-c"];
    const ports = await Promise.all(names.map(() => freePort()));
    const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
    const target = await listen((_req, res) => res.writeHead(503).end("down"));
    let unblock!: () => void;
    const slow = new Promise<void>((r) => (unblock = r));
    /** When each node's restarts started (its clock is the real one: Date.now). */
    const restartedAt = names.map((): number[] => []);
    const executors = names.map(
      (_, i) =>
        new RecordingExecutor(() => {
          restartedAt[i]?.push(Date.now());
          return slow;
        }),
    );
    const monitors = names.map(
      (selfName, i) =>
        new Monitor({
          selfName,
          interval: INTERVAL,
          timeout: 150,
          missedBeforeRestart: 2,
          executor: executors[i],
          selfHealth: false,
          mesh: {
            key: KEY,
            confirm: "majority",
            takeoverAfter: TAKEOVER,
            members: names.flatMap((n, j) => (j === i ? [] : [{ name: n, url: url(j) }])),
          },
        }),
    );
    for (const m of monitors) {
      m.registerPeer({
        name: "worker",
        probe: { http: { url: `${target.url}/health` } },
        restart: { command: { argv: ["/bin/true"] } },
      });
    }
    const servers = await Promise.all(monitors.map((m, i) => listen(m.mesh.handler, ports[i])));
    const restarts = () => executors.map((e) => e.calls.filter((c) => c.startsWith("restart:worker")).length);
    /** Index of the node that started the restart (its server is closed by the test). */
    let r = -1;
    try {
      for (const m of monitors) m.start();
      await until("one node to start the restart", () => restarts().some((n) => n > 0), 30_000);
      r = restarts().findIndex((n) => n > 0);
      assert.deepEqual(
        restarts().filter((n) => n > 0),
        [1],
        "exactly one node starts it",
      );
      // The others see it in flight in the remediator's view before it vanishes: each holds
      // a view of it requested after the restart started (a view's age runs from its request).
      await until("the restart in flight", () => monitors[r]?.inFlightSteps().length === 1, 5_000);
      const startedAt = monitors[r]?.inFlightSteps()[0]?.startedAt ?? Infinity;
      await until("the others to hold a view of the remediator taken since", () =>
        monitors.every((m, i) => {
          if (i === r) return true;
          const seen = m.mesh.meshDocument().members.find((x) => x.name === names[r]);
          return typeof seen?.view_age_ms === "number" && Date.now() - seen.view_age_ms > startedAt;
        }),
      );
      await close((servers[r] as { server: Server }).server); // the remediator is gone, its restart hangs
      // Its views go stale within 3 intervals and the others' backings settle within 4 more:
      // without the shared step a survivor would restart well before takeover_after. When
      // the takeover came is read from the survivor's own restart, so a busy machine can only
      // make it later: the check holds on any machine and is never skipped.
      await until("a survivor to take over", () => restarts().some((n, i) => i !== r && n > 0), 30_000);
      const takenAt = Math.min(...restartedAt.flatMap((at, i) => (i === r ? [] : at)));
      assert.ok(
        takenAt - startedAt >= TAKEOVER,
        `a survivor repeated the restart in flight ${takenAt - startedAt} ms after it started, before takeover_after (${TAKEOVER} ms)`,
      );
      await sleep(5 * INTERVAL);
      assert.deepEqual(
        restarts()
          .filter((_, i) => i !== r)
          .sort(),
        [0, 1],
        "exactly one survivor takes over",
      );
    } finally {
      unblock();
      for (const m of monitors) await m.stop();
      await Promise.all([...servers.filter((_, i) => i !== r), target].map((s) => close(s.server)));
    }
  },
);
