// A node with node.identity (from `wdmesh keygen`) signs its journal: `wdmesh events --verify`
// with its public key checks every signed checkpoint, so a copy whose entry was rewritten and
// every later hash recomputed (the hash links hold) fails and names the checkpoint.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { CLI, haveBuiltCli } from "../helpers/built-cli.js";
import { rewriteAndRehash } from "../helpers/journal-tamper.js";
import { spawnDaemon, stopChild } from "../helpers/daemon-process.js";
import { FAST_LADDER, tcpPeer, writeDaemonConfig } from "../helpers/config-builder.js";
import { freePorts } from "../helpers/ports.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built `wdmesh` with `args`; never rejects. */
function wdmesh(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: 60_000, encoding: "utf8" },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

void test("a node with an identity signs its journal; a rewritten-and-rehashed copy fails --verify, naming the checkpoint", async (t) => {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-signed-");
  const copy = tempDir(t, "wdmesh-signed-copy-");
  const keyFile = join(dir, "node.key");
  const keygen = await wdmesh(["keygen", "--out", keyFile]);
  assert.equal(keygen.code, 0, keygen.stderr);
  const publicKey = keygen.stdout.trim();
  const [port, closed] = await freePorts(2);
  const data = join(dir, "data");
  const cfg = writeDaemonConfig(dir, {
    node: { name: "signer", listen: port!, data_dir: data, identity: `\${file:${keyFile}}` },
    defaults: FAST_LADDER,
    looseSelfHealth: true, // the journal is under test, not this node's own load
    peers: [tcpPeer("shield", closed!, { restart: { command: { argv: ["/bin/true"] } } })],
  });
  const node = spawnDaemon(cfg);
  try {
    // restart, isolate (failed: no method), alert_architect.
    await until(
      "the failing peer's entries in the journal",
      async () => {
        if (node.child.exitCode !== null) throw new Error(`wdmesh run exited: ${node.output()}`);
        if (!existsSync(join(data, "wdmesh.db"))) return false;
        const listed = await wdmesh(["events", "--data-dir", data]);
        return /alert_architect/.test(listed.stdout) && /\[FAILED: no isolate method/.test(listed.stdout);
      },
      30_000,
    );
    // The live node, over its API, with the key given on the command line.
    const live = await wdmesh([
      "events",
      "--verify",
      "--url",
      `http://127.0.0.1:${port}`,
      "--public-key",
      publicKey,
    ]);
    assert.equal(live.code, 0, live.stdout + live.stderr);
    assert.match(
      live.stdout,
      /^signatures ok: \d+ signed checkpoints? verified with .*; entries 1-\d+ covered/m,
    );
    // The node's config alone: the public key of its identity, its own URL.
    const own = await wdmesh(["events", "--verify", "--config", cfg]);
    assert.equal(own.code, 0, own.stdout + own.stderr);
    assert.ok(own.stdout.includes(`verified with ${publicKey}; entries 1-`), own.stdout);
  } finally {
    assert.equal(await stopChild(node.child, "SIGTERM"), 0, node.output());
  }

  for (const f of ["wdmesh.db", "wdmesh.db-wal"]) {
    if (existsSync(join(data, f))) copyFileSync(join(data, f), join(copy, f));
  }
  // The untampered copy: every entry covered, the key taken from the node's config.
  const ok = await wdmesh(["events", "--verify", "--data-dir", copy, "--config", cfg]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const head = /chain intact; head: seq (\d+) hash ([0-9a-f]{64})$/m.exec(ok.stdout);
  assert.ok(head, ok.stdout);
  const n = Number(head[1]);
  assert.ok(n >= 3, ok.stdout);
  assert.match(
    ok.stdout,
    new RegExp(
      `^signatures ok: \\d+ signed checkpoints? verified with ${publicKey.replace(/[+/]/g, "\\$&")}; entries 1-${n} covered \\(newest signed seq ${n}\\)$`,
      "m",
    ),
  );
  const json = JSON.parse(
    (await wdmesh(["events", "--verify", "--json", "--data-dir", copy, "--public-key", publicKey])).stdout,
  ) as {
    ok: boolean;
    signatures: {
      checked: boolean;
      covered: number;
      signed_seq: number;
      unsigned_tail: unknown;
      public_keys: string[];
    };
  };
  assert.deepEqual(
    [
      json.ok,
      json.signatures.checked,
      json.signatures.covered,
      json.signatures.signed_seq,
      json.signatures.unsigned_tail,
      json.signatures.public_keys,
    ],
    [true, true, n, n, null, [publicKey]],
  );

  // Rewrite entry 2 and recompute every later hash: the links hold again.
  const file = join(copy, "wdmesh.db");
  rewriteAndRehash(file, 2, (e) => e.replaceAll("shield", "shie1d"));
  const db = new Database(file, { readonly: true });
  const named = (
    db.prepare("SELECT min(seq) AS seq FROM journal_checkpoints WHERE seq >= 2").get() as { seq: number }
  ).seq;
  db.close();
  const unkeyed = await wdmesh(["events", "--verify", "--data-dir", copy]);
  assert.equal(unkeyed.code, 0, "without a key only the links are checked, and they hold");
  assert.match(
    unkeyed.stdout,
    /^signatures not checked: no public key given .*; the journal holds \d+ signed checkpoints?, by key /m,
  );

  const bad = await wdmesh(["events", "--verify", "--data-dir", copy, "--public-key", publicKey]);
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(
    bad.stdout,
    new RegExp(
      `^journal BROKEN at seq ${named}: the signed checkpoint at seq ${named} vouches for hash \\S+ but the entry's hash is now \\S+: this entry or an earlier one was rewritten after it was signed`,
      "m",
    ),
  );
  const badJson = JSON.parse(
    (await wdmesh(["events", "--verify", "--json", "--data-dir", copy, "--config", cfg])).stdout,
  ) as {
    ok: boolean;
    seq: number;
    reason: string;
    signatures: { signed_seq: number | null };
  };
  assert.deepEqual([badJson.ok, badJson.seq], [false, named]);
  assert.ok((badJson.signatures.signed_seq ?? 0) < named, "coverage stops before the rewritten entry");

  // A key that is not a key, and one not the node's: clear errors, exit codes as documented.
  const junk = await wdmesh([
    "events",
    "--verify",
    "--data-dir",
    copy,
    "--public-key",
    join(dir, "missing.pub"),
  ]);
  assert.equal(junk.code, 2);
  assert.match(junk.stderr, /--public-key .*missing\.pub" is neither a public key nor a readable file/);
});
