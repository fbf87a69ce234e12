// The takeover scenario of test/integration/mesh-takeover*.test.ts: a slow restart is not
// repeated when its node dies. Three mesh nodes (confirm: majority, one mesh key; daemons,
// embedded agents or mixed: mesh-node.ts) watch one agent, a loopback HTTP server this
// test controls. The restart method is a real command that appends
// "start <node> <effect id> <epoch ms> <pid>" to a shared log, sleeps 5 s, then appends
// "end ...". The agent fails; the node that starts the restart is killed with SIGKILL
// while its command still runs: either after the others could fetch its view once
// ("seen"), or at once, before any of them could ("immediate": they only know that they
// backed it as remediator).
//   1. The agent stays failing: no other node restarts it before takeover_after since the
//      first start; then one survivor takes over, after probing the agent again (a failing
//      answer to that survivor in between).
//   2. The agent comes back healthy during the slow restart: no other node restarts it at
//      all, well past takeover_after.
import {
  agentOf,
  killUnfinishedRestarts,
  meshAndAgentSettled,
  readRestartLog,
  writeSlowRestartMesh,
} from "./slow-restart-mesh.js";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { haveBuiltCli } from "./built-cli.js";
import { stopChild, type Daemon } from "./daemon-process.js";
import { closeServer, listen } from "./listen.js";
import { LOOSE_SELF_HEALTH_YAML } from "./loose-self-health.js";
import { spawnNode, type NodeKind } from "./mesh-node.js";
import { tempDir } from "./tmp-dir.js";
import { until, waitFor } from "./wait.js";

const KEY = "integration-takeover-key-0123456789";
const NODES = ["tk-a", "tk-b", "tk-c"];
const INTERVAL_MS = 400;
const TAKEOVER_MS = 8_000;
const SLOW_RESTART_S = 5;
/**
 * How much earlier than the first "start" line a survivor may date the step: it stamps a
 * view with the time its request was SENT (up to one poll timeout before the step was
 * listed), and the command writes its line a little after the step began.
 */
const SLACK_MS = 1_500;

interface Probe {
  node: string;
  at: number;
  status: number;
}

export interface TakeoverScenario {
  /** Node kinds (mesh-node.ts MESH_VARIANTS). */
  kinds: NodeKind[];
  /** The agent comes back healthy during the slow restart. */
  recovers: boolean;
  /** When the restarting node is killed: after the others could fetch its view once, or at once. */
  kill: "seen" | "immediate";
}

export async function takeoverScenario(
  t: TestContext,
  { kinds, recovers, kill }: TakeoverScenario,
): Promise<void> {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-takeover-");
  const log = join(dir, "restarts.log");

  // The agent: /health/<node> answers 503 while `failing`; every probe is recorded.
  let failing = false;
  const probes: Probe[] = [];
  const agent = await listen((req, res) => {
    const status = failing ? 503 : 200;
    probes.push({ node: (req.url ?? "").split("/")[2] ?? "", at: Date.now(), status });
    res.writeHead(status).end(failing ? "down" : "ok");
  });

  const { url } = await writeSlowRestartMesh({
    dir,
    names: NODES,
    agentUrl: agent.url,
    log,
    restartS: SLOW_RESTART_S,
    intervalMs: INTERVAL_MS,
    takeoverMs: TAKEOVER_MS,
    meshKey: KEY,
    backoff: { initial: "1s", max: "2s" },
    restartTimeout: "20s",
    selfHealthYaml: LOOSE_SELF_HEALTH_YAML,
  });

  const lines = () => readRestartLog(log);
  const starts = () => lines().filter((l) => l.kind === "start");

  const daemons: Daemon[] = NODES.map((n, i) => spawnNode(kinds[i] as NodeKind, join(dir, `${n}.yaml`)));
  const diagnostics = () =>
    [
      `--- restarts.log:\n${existsSync(log) ? readFileSync(log, "utf8") : ""}`,
      ...daemons.map(
        (d, i) => `--- ${NODES[i]} (${kinds[i]}):\n${d.output().split("\n").slice(-40).join("\n")}`,
      ),
    ].join("\n");
  const fail = (e: Error): never => assert.fail(`${e.message}\n${diagnostics()}`);

  try {
    // All up: every node sees both members alive with fresh views, and the agent healthy.
    await until(
      "three nodes seeing each other and the agent healthy",
      () =>
        meshAndAgentSettled(
          NODES.map((_, i) => url(i)),
          INTERVAL_MS,
        ),
      60_000,
      { retryErrors: true },
    ).catch(fail);

    failing = true;
    const first = await waitFor("a node to start the restart", () => starts()[0], 60_000, {
      everyMs: 5,
    }).catch(fail);
    if (recovers) failing = false; // the slow restart "works"
    const victim = NODES.indexOf(first.node);
    assert.ok(victim >= 0, `the start line names a node: ${JSON.stringify(first)}`);
    // The others fetch the victim's view every interval; the victim dies mid-restart,
    // after they could see its step, or before (within a few ms of the start line).
    if (kill === "seen") await sleep(2 * INTERVAL_MS);
    await stopChild((daemons[victim] as Daemon).child, "SIGKILL");
    const survivors = NODES.filter((_, i) => i !== victim);
    assert.deepEqual(
      starts().map((s) => s.node),
      [first.node],
      `one node starts the restart\n${diagnostics()}`,
    );

    if (!recovers) {
      // Without the shared step a survivor restarts within a few intervals (the victim's
      // views go stale in 3, the backings settle in 4 more).
      const second = await waitFor(
        "a survivor to take over",
        () => starts().find((s) => s.node !== first.node),
        TAKEOVER_MS + 60_000,
      ).catch(fail);
      const gap = second.at - first.at;
      assert.ok(
        gap >= TAKEOVER_MS - SLACK_MS,
        `${second.node} repeated the restart ${gap} ms after ${first.node} started it ` +
          `(takeover_after ${TAKEOVER_MS} ms)\n${diagnostics()}`,
      );
      assert.ok(
        probes.some(
          (p) =>
            p.node === second.node &&
            p.status === 503 &&
            p.at >= first.at + TAKEOVER_MS - SLACK_MS &&
            p.at <= second.at,
        ),
        `${second.node} probed the agent (still failing) again before taking over\n${diagnostics()}`,
      );
      // The successor's own step is in flight now: the third node keeps off it as well.
      const third = survivors.find((n) => n !== second.node) as string;
      await until(
        "takeover_after past the takeover",
        () => Date.now() >= second.at + TAKEOVER_MS - SLACK_MS,
        TAKEOVER_MS + 5_000,
      );
      assert.deepEqual(
        starts()
          .filter((s) => s.node === third || s.node === first.node)
          .map((s) => s.node),
        [first.node],
        `only ${second.node} takes over\n${diagnostics()}`,
      );
    } else {
      // Well past takeover_after: the survivors kept probing, saw the agent healthy, and
      // neither restarted it.
      await until(
        "takeover_after and a few intervals to pass",
        () => Date.now() >= first.at + TAKEOVER_MS + 10 * INTERVAL_MS,
        TAKEOVER_MS + 30_000,
      );
      for (const n of survivors) {
        assert.ok(
          probes.some((p) => p.node === n && p.status === 200 && p.at >= first.at + TAKEOVER_MS),
          `${n} kept probing the agent past takeover_after\n${diagnostics()}`,
        );
        assert.equal((await agentOf(url(NODES.indexOf(n)))).status, "HEALTHY");
      }
      assert.deepEqual(
        starts().map((s) => s.node),
        [first.node],
        `no other node restarts the recovered agent\n${diagnostics()}`,
      );
    }
  } finally {
    await Promise.all(daemons.map((d) => stopChild(d.child, "SIGTERM")));
    killUnfinishedRestarts(lines());
    await closeServer(agent.server);
  }
}
