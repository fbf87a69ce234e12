// The host's step ledger against real processes (test/integration/ledger-*.test.ts): three
// mesh nodes (daemons, embedded agents or mixed: mesh-node.ts) on one host, one ledger
// directory, watch one agent (a loopback HTTP server this test controls). The restart
// method is a real command: it appends "start <node> <effect id> <epoch ms> <pid>" to a
// shared log, sleeps, appends "end ...", and the agent is healthy again once an "end"
// line is there (the restart "worked"). The log is the target's side: each "start" line
// is one restart performed.
//   "kill":  the node that starts the slow restart is SIGKILLed right after its "start"
//            line and started again (same config, same data_dir) within a second: it
//            repeats nothing, and neither does anyone else.
//   "pause": the remediating node has decided (its restart is counted) and waits for the
//            ledger, which a process of the test holds; it is SIGSTOPped there, the lock is
//            let go, another node takes over and restarts the agent; the paused node is
//            continued: it performs nothing and journals step_fenced naming the other.
import {
  agentOf,
  killUnfinishedRestarts,
  meshAndAgentSettled,
  readRestartLog,
  writeSlowRestartMesh,
} from "./slow-restart-mesh.js";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { haveBuiltCli } from "./built-cli.js";
import { stopChild, track, type Daemon } from "./daemon-process.js";
import { closeServer, listen } from "./listen.js";
import { LOOSE_SELF_HEALTH_YAML } from "./loose-self-health.js";
import { spawnNode, type NodeKind } from "./mesh-node.js";
import { tempDir } from "./tmp-dir.js";
import { until, waitFor } from "./wait.js";

const KEY = "integration-ledger-key-0123456789ab";
const NODES = ["lf-a", "lf-b", "lf-c"];
const INTERVAL_MS = 400;
const CLAIMER = fileURLToPath(new URL("../fixtures/ledger-claimer.ts", import.meta.url));

export interface LedgerScenario {
  kinds: NodeKind[];
  fault: "kill" | "pause";
}

export async function ledgerScenario(t: TestContext, { kinds, fault }: LedgerScenario): Promise<void> {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-ledger-fence-");
  const log = join(dir, "restarts.log");
  const slowS = fault === "kill" ? 6 : 2;
  // takeover_after: long for "kill" (nobody but the killed node's successor may act), short
  // for "pause" (a survivor takes over from the paused node quickly).
  const takeoverMs = fault === "kill" ? 60_000 : 3_000;

  const lines = () => readRestartLog(log);
  const starts = () => lines().filter((l) => l.kind === "start");

  let failing = false;
  const agent = await listen((_req, res) => {
    const down = failing && !lines().some((l) => l.kind === "end");
    res.writeHead(down ? 503 : 200).end(down ? "down" : "ok");
  });

  const ledgerDir = join(dir, "ledger");
  const { url } = await writeSlowRestartMesh({
    dir,
    names: NODES,
    agentUrl: agent.url,
    log,
    restartS: slowS,
    intervalMs: INTERVAL_MS,
    takeoverMs,
    meshKey: KEY,
    backoff: { initial: "400ms", max: "800ms" },
    restartTimeout: "20s",
    ledgerDir,
    selfHealthYaml: LOOSE_SELF_HEALTH_YAML,
  });

  const daemons: Daemon[] = NODES.map((n, i) => spawnNode(kinds[i] as NodeKind, join(dir, `${n}.yaml`)));
  const revived: Daemon[] = [];
  let holder: ChildProcess | undefined;
  const diagnostics = () =>
    [
      `--- restarts.log:\n${existsSync(log) ? readFileSync(log, "utf8") : ""}`,
      ...[...daemons, ...revived].map(
        (d, i) => `--- process ${i}:\n${d.output().split("\n").slice(-30).join("\n")}`,
      ),
    ].join("\n");
  const fail = (e: Error): never => assert.fail(`${e.message}\n${diagnostics()}`);

  try {
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

    if (fault === "kill") {
      failing = true;
      const first = await waitFor("a node to start the restart", () => starts()[0], 60_000, {
        everyMs: 5,
      }).catch(fail);
      const victim = NODES.indexOf(first.node);
      assert.ok(victim >= 0, JSON.stringify(first));
      await stopChild((daemons[victim] as Daemon).child, "SIGKILL");
      // Back within a second, as Restart=always brings it.
      await new Promise((r) => setTimeout(r, 300));
      const back = spawnNode(kinds[victim] as NodeKind, join(dir, `${first.node}.yaml`));
      revived.push(back);
      daemons[victim] = back;
      // The restart ends (the agent is healthy again); every node then sees it healthy.
      await waitFor("the slow restart to end", () => lines().find((l) => l.kind === "end"), 60_000).catch(
        fail,
      );
      await until(
        "every node seeing the agent healthy again",
        async () => {
          for (const u of NODES.map((_, i) => url(i)))
            if ((await agentOf(u)).status !== "HEALTHY") return false;
          return true;
        },
        60_000,
        { retryErrors: true },
      ).catch(fail);
      assert.deepEqual(
        starts().map((s) => `${s.node} ${s.effect}`),
        [`${first.node} ${first.effect}`],
        `one restart performed, none repeated by the node killed mid-restart\n${diagnostics()}`,
      );
      return;
    }

    // "pause": a process of the test holds the ledger's lock; the agent fails.
    holder = track(
      spawn(process.execPath, ["--import", "tsx", CLAIMER, ledgerDir, "hold"], {
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    let held = "";
    holder.stdout?.on("data", (d: Buffer) => (held += d.toString()));
    await until("the ledger lock held by the test", () => held.includes("locked"), 30_000).catch(fail);
    failing = true;
    // The remediator decides (its restart is counted) and waits for the ledger.
    const decided = await waitFor(
      "a node to decide a restart",
      async () => {
        for (const [i, u] of NODES.map((_, j) => url(j)).entries())
          if ((await agentOf(u)).restart_count >= 1) return { i };
        return undefined;
      },
      60_000,
      { retryErrors: true, everyMs: 20 },
    ).catch(fail);
    const paused = daemons[decided.i] as Daemon;
    const pausedName = NODES[decided.i] as string;
    assert.deepEqual(starts(), [], "nothing performed while the ledger is locked");
    paused.child.kill("SIGSTOP");
    holder.kill("SIGKILL");
    // Another node takes over from the silent one and restarts the agent.
    const other = await waitFor("another node to take over and restart", () => starts()[0], 90_000).catch(
      fail,
    );
    assert.notEqual(other.node, pausedName, `the paused node performed while stopped?\n${diagnostics()}`);
    paused.child.kill("SIGCONT");
    // The paused node goes on from where it stopped: its step is refused, never performed.
    await until(
      "the paused node to journal step_fenced",
      () => /step_fenced/.test(paused.output()),
      60_000,
    ).catch(fail);
    const fencedLine = paused
      .output()
      .split("\n")
      .find((l) => l.includes("step_fenced")) as string;
    assert.match(fencedLine, new RegExp(other.node), `step_fenced names who took it: ${fencedLine}`);
    await waitFor("the restart to end", () => lines().find((l) => l.kind === "end"), 60_000).catch(fail);
    assert.deepEqual(
      starts().map((s) => s.node),
      [other.node],
      `only the node that took over performed a restart\n${diagnostics()}`,
    );
  } finally {
    holder?.kill("SIGKILL");
    for (const d of daemons) d.child.kill("SIGCONT");
    await Promise.all(daemons.map((d) => stopChild(d.child, "SIGTERM")));
    killUnfinishedRestarts(lines());
    await closeServer(agent.server);
  }
}
