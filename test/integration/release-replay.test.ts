// `wdmesh run` as a real process: an operator releases a peer that is not isolated (a
// no-op), the peer later fails and is isolated, and the node is stopped and started
// again — with SIGTERM, and with kill -9 after every step. The isolated peer stays cut
// off: its status stays ISOLATED and the release command never runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { spawnDaemon, stopChild } from "../helpers/daemon-process.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { freePort } from "../helpers/ports.js";
import { startTogglePeer } from "../helpers/toggle-peer.js";
import { until } from "../helpers/wait.js";
import { writeDaemonConfig } from "../helpers/config-builder.js";

const TOKEN = "release-replay-test-token-0123456789abcdef";

test("no-op release, isolation, restarts of the node (SIGTERM and kill -9 at every step): the peer stays cut off", async (t) => {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-release-replay-");
  const log = join(dir, "effects.log");
  const data = join(dir, "data");
  // The peer: healthy until `failing` is set, then 503.
  const peer = await startTogglePeer(t);
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const sh = (what: string): string[] => ["/bin/sh", "-c", `echo "${what} $WDMESH_EFFECT_ID" >> ${log}`];
  const config = writeDaemonConfig(
    dir,
    {
      node: { name: "replay", listen: apiPort, data_dir: data, api_token: TOKEN, read_token: TOKEN },
      defaults: {
        interval: "200ms",
        timeout: "100ms",
        retry_interval: "200ms",
        missed_before_restart: 1,
        restarts_before_isolate: 1,
        startup_grace: "100ms",
        restart_backoff: { initial: "200ms", max: "200ms" },
      },
      looseSelfHealth: true, // what a restart of the node replays is under test, not its own load
      peers: [
        {
          name: "victim",
          probe: { http: { url: `http://127.0.0.1:${peer.port}/health` } },
          // A step whose node was killed mid-way blocks the peer in the host's step ledger
          // until its own timeout (the command may outlive the node): short ones here.
          restart: { command: { argv: sh("restart"), timeout: "2s" } },
          isolate: { command: { argv: sh("isolate"), timeout: "2s" }, release: { argv: sh("release") } },
        },
      ],
    },
    "mesh.yaml",
  );
  const auth = { authorization: `Bearer ${TOKEN}` };
  const status = async (): Promise<string | undefined> => {
    try {
      const r = await fetch(`${api}/v1/peers/victim`, { headers: auth });
      return ((await r.json()) as { status?: string }).status;
    } catch {
      return undefined;
    }
  };
  /** Probes done by the running process (GET /v1/mesh stats). */
  const checks = async (): Promise<number> => {
    try {
      const r = await fetch(`${api}/v1/mesh`, { headers: auth });
      return ((await r.json()) as { stats?: { total_checks?: number } }).stats?.total_checks ?? 0;
    } catch {
      return 0;
    }
  };
  const lines = (): string[] =>
    existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
  const start = async () => {
    const d = spawnDaemon(config);
    await until("the node to serve its API", async () => {
      if (d.child.exitCode !== null) throw new Error(`daemon exited:\n${d.output()}`);
      return (await status()) !== undefined;
    });
    return d;
  };

  // 1. The peer is healthy; the operator releases it anyway (nothing to undo). kill -9.
  let d = await start();
  await until("victim HEALTHY", async () => (await status()) === "HEALTHY");
  const rel = await fetch(`${api}/v1/peers/victim/release`, { method: "POST", headers: auth });
  assert.equal(rel.status, 202, await rel.text());
  await stopChild(d.child, "SIGKILL");

  // 2. The peer fails: restart, then isolation; kill -9 after each step.
  d = await start();
  peer.failing = true;
  await until("the restart step", () => lines().some((l) => l.startsWith("restart ")));
  await stopChild(d.child, "SIGKILL");
  d = await start();
  await until("victim ISOLATED", async () => (await status()) === "ISOLATED");
  await until("the isolate step", () => lines().some((l) => l.startsWith("isolate ")));
  await stopChild(d.child, "SIGKILL");

  // 3. Start again: once after kill -9, stopped with SIGTERM, and once more.
  for (const how of ["SIGKILL", "SIGTERM", "SIGTERM"] as const) {
    d = await start();
    // resume() ran at start; a few probe rounds passed since.
    await until("three probe rounds of this process", async () => (await checks()) >= 3);
    assert.equal(await status(), "ISOLATED", d.output());
    await stopChild(d.child, how);
  }

  assert.deepEqual(
    lines().filter((l) => l.startsWith("release ")),
    [],
    `the release command ran:\n${lines().join("\n")}`,
  );
  const store = SqliteStore.open({ dataDir: data, node: "replay", sinks: [] });
  try {
    assert.equal(store.loadPeers().find((p) => p.name === "victim")?.state.status, "ISOLATED");
    assert.ok(store.isolation("victim"), "the isolation record is kept");
    assert.deepEqual(store.pendingEffects(), [], "every intent has an outcome");
    const release = store.journal(0, 1000).find((e) => e.action === "release");
    assert.ok(release, "the operator's release is journalled");
    assert.match(release.result?.detail ?? "", /nothing to undo/);
  } finally {
    store.close();
  }
});
