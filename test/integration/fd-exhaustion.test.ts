// `wdmesh run` as a real process with a low file-descriptor limit (prlimit), flooded
// with idle API connections until its probes fail with a real `connect EMFILE`. The
// peers are healthy all along: the node must not blame them — no miss, no DEGRADED or
// OFFLINE, no alert, no restart — and must say what happened (inconclusive checks).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { spawnDaemon, stopChild, track } from "../helpers/daemon-process.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { freePort } from "../helpers/ports.js";
import { until } from "../helpers/wait.js";

const TOKEN = "fd-exhaustion-test-token-0123456789abcdef";
const PEERS = 10;
/** The daemon's RLIMIT_NOFILE: enough to start and probe, few enough to run out. */
const FD_LIMIT = 100;
/** Idle API connections held open (more than the limit). */
const FLOOD = 300;

test("out of file descriptors: probes are inconclusive, healthy peers stay HEALTHY, nothing is restarted", async (t) => {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-emfile-");
  const log = join(dir, "effects.log");
  const data = join(dir, "data");
  // Healthy peers in their own process (the flood below must not slow them down), closing
  // every connection so that each probe needs a new socket.
  const peer = spawn(
    process.execPath,
    [
      "-e",
      `const s = require("node:http").createServer((q, r) => r.writeHead(200, { connection: "close" }).end("ok"));
       s.listen(0, "127.0.0.1", () => console.log(s.address().port));
       process.stdin.on("end", () => process.exit(0)).resume();`,
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  track(peer);
  t.after(() => peer.kill("SIGKILL"));
  const peerPort = await new Promise<number>((resolve) =>
    peer.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const sh = (what: string) => JSON.stringify(["/bin/sh", "-c", `echo "${what} $WDMESH_PEER" >> ${log}`]);
  const peersYaml = Array.from(
    { length: PEERS },
    (_, i) =>
      `  - name: p${i}\n    probe: { http: { url: "http://127.0.0.1:${peerPort}/health/${i}" } }\n` +
      `    restart: { command: { argv: ${sh("restart")} } }`,
  ).join("\n");
  const config = join(dir, "mesh.yaml");
  writeFileSync(
    config,
    `node: { name: emfile, listen: "127.0.0.1:${apiPort}", data_dir: "${data}", api_token: "${TOKEN}", read_token: "${TOKEN}", max_connections: 4096 }
defaults:
  # The peer is another process on this (possibly busy) machine: a generous deadline keeps
  # its slowness from counting as a miss; fd exhaustion fails probes at once either way.
  interval: 2s
  timeout: 1500ms
  retry_interval: 2s
  missed_before_restart: 2
  startup_grace: 100ms
peers:
${peersYaml}
`,
  );
  const { child, output } = spawnDaemon(config, {
    wrap: ["prlimit", `--nofile=${FD_LIMIT}:${FD_LIMIT}`],
    keepChars: 200_000,
  });
  const auth = { authorization: `Bearer ${TOKEN}` };
  type Mesh = {
    peers: Array<{ name: string; status: string }>;
    stats: { total_checks: number; total_misses: number; inconclusive_checks: number };
  };
  const mesh = async (): Promise<Mesh | undefined> => {
    try {
      const r = await fetch(`${api}/v1/mesh`, { headers: { ...auth, connection: "close" } });
      return r.ok ? ((await r.json()) as Mesh) : undefined;
    } catch {
      return undefined;
    }
  };
  await until("every peer HEALTHY", async () => {
    if (child.exitCode !== null) throw new Error(`daemon exited:\n${output()}`);
    const m = await mesh();
    return m !== undefined && m.peers.length === PEERS && m.peers.every((p) => p.status === "HEALTHY");
  });

  // Flood: idle connections to the API, topped up as the node closes them, for 5 s.
  const held = new Set<Socket>();
  let flooding = true;
  const open = (): void => {
    if (!flooding || held.size >= FLOOD) return;
    const s = connect(apiPort, "127.0.0.1");
    held.add(s);
    s.on("error", () => {});
    s.once("close", () => {
      held.delete(s);
      setTimeout(open, 100);
    });
  };
  for (let i = 0; i < FLOOD; i++) open();
  await new Promise((r) => setTimeout(r, 5_000));
  flooding = false;
  for (const s of held) s.destroy();

  let m: Mesh | undefined;
  await until("the API answers again", async () => (m = await mesh()) !== undefined, 30_000);
  // A full probe round of every peer with fds back.
  const afterFlood = m?.stats.total_checks ?? 0;
  await until(
    "a probe round with fds back",
    async () => ((m = await mesh())?.stats.total_checks ?? 0) >= afterFlood + PEERS,
    30_000,
  );
  assert.ok(m);
  assert.ok(
    m.stats.inconclusive_checks > 0,
    `the flood must have exhausted the node's fds (no inconclusive check seen):\n${output().slice(-3000)}`,
  );
  assert.ok(/EMFILE/.test(output()), "the node logged its own EMFILE");
  const told = output()
    .split("\n")
    .filter((l) => /status changed|inconclusive|remediation/.test(l))
    .slice(0, 20)
    .join("\n");
  assert.equal(m.stats.total_misses, 0, `no probe counted as a miss:\n${told}`);
  assert.deepEqual(
    m.peers.filter((p) => p.status !== "HEALTHY").map((p) => `${p.name}:${p.status}`),
    [],
  );
  const metrics = await (await fetch(`${api}/metrics`, { headers: auth })).text();
  assert.match(metrics, /wdmesh_probes_inconclusive_total\{peer="p\d"\} [1-9]/);

  await stopChild(child, "SIGTERM");
  const lines = existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
  assert.deepEqual(lines, [], "no restart command ran");
  const store = SqliteStore.open({ dataDir: data, node: "emfile", sinks: [] });
  try {
    const actions = store.journal(0, 1000).map((e) => `${e.action}:${e.peer_name}`);
    assert.deepEqual(
      actions.filter((a) => /^(alert|restart|isolate|remediation_held):/.test(a)),
      [],
      "no alert, restart or hold against a healthy peer",
    );
  } finally {
    store.close();
  }
});
