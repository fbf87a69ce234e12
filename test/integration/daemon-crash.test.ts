// `wdmesh run` as a real process, killed with SIGKILL at random moments during an
// escalation, twenty times, restarted after each: counters never go back, ISOLATED
// stays, no restart step runs twice, the journal verifies. Then: a corrupted state
// file is a clear startup error that leaves the file as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHmac } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { freePort as deadPort } from "../helpers/ports.js";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { killAll, spawnDaemon, stopChild } from "../helpers/daemon-process.js";
import { until } from "../helpers/wait.js";
import { writeDaemonConfig } from "../helpers/config-builder.js";

/** True once `pred` holds within `ms`; false after (the caller reports what it saw). */
const holdsWithin = (pred: () => boolean, ms: number): Promise<boolean> =>
  until("a condition", pred, ms, { everyMs: 20 }).then(
    () => true,
    () => false,
  );

const SECRET = "crash-test-signing-secret";

function readState(dataDir: string) {
  const store = SqliteStore.open({ dataDir, node: "crashy", sinks: [] });
  try {
    const peer = store.loadPeers().find((p) => p.name === "victim");
    const journal = store.journal(0, 10_000);
    return { state: peer?.state, journal, verify: store.verifyJournal(), pending: store.pendingEffects() };
  } finally {
    store.close();
  }
}

test("kill -9 twenty times during an escalation: no counter goes back, no restart runs twice", async (t) => {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-crash-");
  const log = join(dir, "effects.log");
  const port = await deadPort();
  // The alert receiver is down during all the crashes and comes up for the last run.
  const alertPort = await deadPort();
  const sh = (what: string): string[] => [
    "/bin/sh",
    "-c",
    `echo "$WDMESH_EFFECT_ID ${what} $WDMESH_ATTEMPT" >> ${log}`,
  ];
  const config = writeDaemonConfig(
    dir,
    {
      node: { name: "crashy", listen: "127.0.0.1:0", data_dir: join(dir, "data") },
      defaults: {
        interval: "300ms",
        timeout: "100ms",
        retry_interval: "300ms",
        missed_before_restart: 3,
        restarts_before_isolate: 3,
        startup_grace: "200ms",
        restart_backoff: { initial: "300ms", max: "1s" },
        stable_after: "10m",
      },
      looseSelfHealth: true, // crash recovery is under test, not this node's own load
      peers: [
        {
          name: "victim",
          probe: { http: { url: `http://127.0.0.1:${port}/health` } },
          // A step whose node was killed mid-way blocks the peer in the host's step ledger
          // until its own timeout (the command may outlive the node): short ones here.
          restart: { command: { argv: sh("restart"), timeout: "2s" } },
          isolate: { command: { argv: sh("isolate"), timeout: "2s" } },
        },
      ],
      alerts: [
        {
          name: "architect",
          webhook: { url: `http://127.0.0.1:${alertPort}/alerts`, secret: SECRET, format: "generic" },
        },
      ],
    },
    "mesh.yaml",
  );

  let maxRestarts = 0;
  let maxJournal = 0;
  let wasIsolated = false;
  let killsDuringEscalation = 0;
  for (let i = 0; i < 20; i++) {
    const { child, output } = spawnDaemon(config);
    const up = await holdsWithin(
      () => output().includes("wdmesh node running") || child.exitCode !== null,
      15_000,
    );
    assert.ok(up && child.exitCode === null, `run ${i}: daemon did not start:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 900)));
    await stopChild(child, "SIGKILL");

    const s = readState(join(dir, "data"));
    assert.deepEqual(s.verify.ok, true, `run ${i}: journal chain broken: ${JSON.stringify(s.verify)}`);
    const restarts = s.state?.restarts ?? 0;
    assert.ok(
      restarts >= maxRestarts,
      `run ${i}: restart_count went back from ${maxRestarts} to ${restarts}`,
    );
    assert.ok(s.journal.length >= maxJournal, `run ${i}: journal shrank`);
    if (wasIsolated) assert.equal(s.state?.status, "ISOLATED", `run ${i}: ISOLATED was lost`);
    if (s.state?.status !== "ISOLATED") killsDuringEscalation++;
    wasIsolated ||= s.state?.status === "ISOLATED";
    maxRestarts = restarts;
    maxJournal = s.journal.length;
  }

  // One clean run to the end, with the receiver up: every alert of every crashed run
  // arrives, in order, signed; then SIGTERM stops the node with exit 0.
  const received: Array<{ id: string; ok: boolean }> = [];
  const rx = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const ts = String(req.headers["x-wdmesh-timestamp"]);
      const expected = "sha256=" + createHmac("sha256", SECRET).update(`${ts}.${body}`).digest("hex");
      received.push({
        id: (JSON.parse(body) as { id: string }).id,
        ok: expected === req.headers["x-wdmesh-signature"],
      });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => rx.listen(alertPort, "127.0.0.1", r));
  t.after(() => {
    killAll();
    rx.closeAllConnections();
    return new Promise<void>((r) => rx.close(() => r()));
  });
  const last = spawnDaemon(config);
  assert.ok(await holdsWithin(() => last.output().includes("wdmesh node running"), 15_000), last.output());
  const journalIds = readState(join(dir, "data")).journal.map((e) => e.id);
  const delivered = await holdsWithin(
    () => new Set(received.map((r) => r.id)).size >= journalIds.length,
    30_000,
  );
  assert.ok(delivered, `${new Set(received.map((r) => r.id)).size} of ${journalIds.length} alerts arrived`);
  assert.ok(
    received.every((r) => r.ok),
    "every alert carries a valid signature",
  );
  const firstSeen = [...new Set(received.map((r) => r.id))];
  assert.deepEqual(firstSeen, journalIds, "alerts arrive in journal order, none lost");
  const code = await stopChild(last.child, "SIGTERM");
  assert.equal(code, 0, last.output());

  const s = readState(join(dir, "data"));
  assert.equal(s.verify.ok, true);
  assert.equal(s.state?.status, "ISOLATED", "the escalation completes across the crashes");
  assert.ok(killsDuringEscalation >= 2, `only ${killsDuringEscalation} kills landed before isolation`);
  const restartIds = s.journal.filter((e) => e.action === "restart").map((e) => e.id);
  assert.equal(restartIds.length, 3, "exactly R restarts decided in the incident");
  assert.equal(s.journal.filter((e) => e.action === "isolate").length, 1);
  assert.equal(s.pending.length, 0, "every effect has an outcome after resume");

  const lines = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
  const ran = lines.filter((l) => l.includes(" restart ")).map((l) => l.split(" ")[0]);
  assert.equal(new Set(ran).size, ran.length, `a restart step ran twice:\n${lines.join("\n")}`);
  for (const id of ran)
    assert.ok(restartIds.includes(id as string), `restart ${id} ran without a journal entry`);
  const interrupted = s.journal.filter(
    (e) => e.action === "restart" && e.result?.error?.startsWith("interrupted"),
  );
  assert.equal(ran.length + interrupted.length >= restartIds.length, true);
  assert.ok(
    lines.some((l) => l.includes(" isolate ")),
    "isolation ran",
  );
});

test("a corrupted state file is a clear startup error and is left as it was", async (t) => {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-corrupt-");
  const data = join(dir, "data");
  const config = writeDaemonConfig(dir, {
    node: { name: "corrupt", listen: "127.0.0.1:0", data_dir: data },
    peers: [],
  });
  // A first run creates the file.
  const first = spawnDaemon(config);
  assert.ok(await holdsWithin(() => first.output().includes("wdmesh node running"), 15_000), first.output());
  await stopChild(first.child, "SIGTERM");
  const file = join(data, "wdmesh.db");
  const garbage = Buffer.concat([Buffer.from("this is not a database"), Buffer.alloc(8192, 7)]);
  writeFileSync(file, garbage);
  const second = spawnDaemon(config);
  const code = await new Promise<number | null>((r) => second.child.once("exit", r));
  assert.equal(code, 1, second.output());
  assert.match(second.output(), /wdmesh\.db/);
  assert.match(second.output(), /not a SQLite|not a database|corrupt/i);
  assert.deepEqual(readFileSync(file), garbage, "the file is untouched");
});
