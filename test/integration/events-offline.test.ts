// Offline audit: `wdmesh events [--verify] --data-dir DIR` reads a node's journal from its
// state file, read-only, while the node runs and after it stopped, and names the first
// broken link of a tampered copy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { cli, MAIN, spawnCli } from "../cli/harness.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { commitAction, LADDER, newAction } from "../alert/commit.js";
import { freePort } from "../helpers/ports.js";
import { until } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { FAST_LADDER, tcpPeer, writeDaemonConfig } from "../helpers/config-builder.js";

void test("events --data-dir lists and verifies a running node's journal, and finds the tampered entry in a copy", async (t) => {
  const dir = tempDir(t, "wdmesh-audit-");
  const copy = tempDir(t, "wdmesh-audit-copy-");
  const port = await freePort();
  const closed = await freePort();
  const cfg = writeDaemonConfig(dir, {
    node: { name: "auditor", listen: port, data_dir: join(dir, "data") },
    defaults: FAST_LADDER,
    looseSelfHealth: true, // the journal is under test, not this node's own load
    peers: [tcpPeer("shield", closed, { restart: { command: { argv: ["/bin/true"] } } })],
  });
  const run = spawnCli(["run", "--config", cfg]);
  const data = join(dir, "data");
  let listed = "";
  try {
    // restart, isolate, alert_architect: read from the file while the node runs.
    await until(
      "3 journal entries in the state file",
      async () => {
        if (run.child.exitCode !== null) throw new Error(`wdmesh run exited: ${(await run.result).stderr}`);
        if (!existsSync(join(data, "wdmesh.db"))) return false;
        listed = (await cli(["events", "--data-dir", data])).stdout;
        // The isolate's result is recorded just after its entry is committed.
        return /alert_architect/.test(listed) && /\[FAILED: no isolate method/.test(listed);
      },
      30_000,
    );
    assert.match(listed, /^#1 \S+ HIGH\s+restart\s+shield: .*\[ok\]$/m);
    assert.match(listed, /^#2 \S+ CRITICAL isolate\s+shield: .*\[FAILED: no isolate method/m);
    const live = await cli(["events", "--verify", "--data-dir", data]);
    assert.equal(live.code, 0, live.stderr);
    assert.match(live.stdout, /journal ok: \d+ entries verified, chain intact/);
    const json = await cli(["events", "--json", "--after", "1", "--data-dir", join(data, "wdmesh.db")]);
    const first = JSON.parse(json.stdout.split("\n")[0] ?? "{}") as { seq: number; action: string };
    assert.deepEqual([first.seq, first.action], [2, "isolate"]);
  } finally {
    run.child.kill("SIGTERM");
    const r = await run.result;
    assert.equal(r.code, 0, r.stderr);
  }

  // After the node stopped: a copy taken for an investigation, tampered with.
  for (const f of ["wdmesh.db", "wdmesh.db-wal"]) {
    if (existsSync(join(data, f))) copyFileSync(join(data, f), join(copy, f));
  }
  const ok = await cli(["events", "--verify", "--data-dir", copy]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const db = new Database(join(copy, "wdmesh.db"));
  db.prepare("UPDATE journal SET entry = replace(entry, 'shield', 'shie1d') WHERE seq = 2").run();
  db.close();
  const bad = await cli(["events", "--verify", "--data-dir", copy]);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stdout,
    /journal BROKEN at seq 2: hash of entry seq 2 does not match its content .* \(1 entries before it verified\)/,
  );

  const none = await cli(["events", "--verify", "--data-dir", join(copy, "nothing-here")]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no state file at .*nothing-here/);
  const both = await cli(["events", "--data-dir", copy, "--follow"]);
  assert.equal(both.code, 2);
});

void test("events --verify on a copy: prints the chain head (and --json), writes nothing beside it, works on a read-only mount", async (t) => {
  const data = tempDir(t, "wdmesh-audit-node-");
  const copy = tempDir(t, "wdmesh-audit-ro-");
  const store = SqliteStore.open({ dataDir: data, node: "auditor", sinks: [] });
  for (const a of LADDER) commitAction(store, newAction({ ...a, peer_name: "shield" }));
  const head = store.journal().at(-1) as { seq: number; hash: string };
  store.close();
  for (const f of ["wdmesh.db", "wdmesh.db-wal"]) {
    if (existsSync(join(data, f))) copyFileSync(join(data, f), join(copy, f));
  }
  const before = readdirSync(copy).sort();

  const ok = await cli(["events", "--verify", "--data-dir", copy]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /read-only, from a private copy/);
  assert.match(ok.stdout, new RegExp(`chain intact; head: seq ${head.seq} hash ${head.hash}$`, "m"));
  assert.deepEqual(readdirSync(copy).sort(), before, "no -wal/-shm or other file written beside the copy");

  const json = await cli(["events", "--verify", "--json", "--data-dir", copy]);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout) as unknown, {
    ok: true,
    checked: head.seq,
    head: { seq: head.seq, hash: head.hash },
    signatures: {
      checked: false,
      why: "no public key given (--public-key KEY|FILE, or --config FILE with node.identity)",
      checkpoints: 0,
      signed_by: [],
    },
    file: join(copy, "wdmesh.db"),
    mode: "snapshot",
  });

  // A deleted tail leaves an intact, shorter chain: only a head kept elsewhere (a witness)
  // shows it. The verification says which head it found, so the two can be compared.
  const db = new Database(join(copy, "wdmesh.db"));
  db.pragma("foreign_keys = OFF"); // as whoever edits the file would
  db.prepare("DELETE FROM journal WHERE seq = ?").run(head.seq);
  db.close();
  const cut = JSON.parse((await cli(["events", "--verify", "--json", "--data-dir", copy])).stdout) as {
    ok: boolean;
    head: { seq: number };
  };
  assert.deepEqual([cut.ok, cut.head.seq], [true, head.seq - 1]);

  // A read-only mount (a bind mount remounted ro in a private mount namespace; root only).
  if (process.getuid?.() !== 0) {
    if (process.env["CI"]) assert.fail("the read-only mount check needs root");
    t.diagnostic("skipped the read-only mount check: not root");
    return;
  }
  const script = `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" --import tsx "$3" events --verify --json --data-dir "$1"`;
  const ro = spawnSync(
    "unshare",
    ["--mount", "--propagation", "private", "sh", "-c", script, "sh", copy, process.execPath, MAIN],
    { encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(ro.status, 0, ro.stderr);
  assert.equal((JSON.parse(ro.stdout) as { ok: boolean }).ok, true);
});
