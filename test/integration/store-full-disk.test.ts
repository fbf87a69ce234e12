// `wdmesh run` with its data_dir on a REAL tmpfs (4 MiB, in a private mount namespace)
// filled to the brim while a peer fails: the node acts on nothing it cannot record. No
// restart or isolation runs, the peer is never ISOLATED in memory without its record,
// /health answers 503 with the reason, /v1/mesh and /metrics say the store is failing, and
// a direct store_failed alert reaches the sink. Once space is freed, escalation resumes
// from the committed state: the journal gets store_failed/store_recovered and the peer's
// incident (restart, isolate) with their alerts. After a kill -9 and a restart, the state
// on disk is consistent: ISOLATED with its isolation record, counters matching the journal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { CLI, haveBuiltCli } from "../helpers/built-cli.js";
import { spawnTracked, stopChild, track } from "../helpers/daemon-process.js";
import { startTogglePeer } from "../helpers/toggle-peer.js";
import { Receiver } from "../helpers/receiver.js";
import { until, waitFor } from "../helpers/wait.js";
import { LOOSE_SELF_HEALTH_YAML } from "../helpers/loose-self-health.js";

/** Why a private mount namespace with a tmpfs cannot be made here, or null. */
function noMountNamespace(): string | null {
  if (process.getuid?.() !== 0) return "needs root (mount a tmpfs in a private mount namespace)";
  const r = spawnSync("unshare", ["-m", "--propagation", "private", "true"], { encoding: "utf8" });
  return r.status === 0 ? null : `unshare -m failed: ${(r.stderr || r.error?.message || "").trim()}`;
}

test("a full data_dir holds every step and loses nothing; freed, the incident resumes from disk", async (t) => {
  if (!haveBuiltCli(t)) return;
  const why = noMountNamespace();
  if (why) {
    if (process.env.CI) assert.fail(why);
    t.skip(why);
    return;
  }
  const dir = tempDir(t, "wdmesh-fulldisk-");
  const mnt = join(dir, "mnt");
  spawnSync("mkdir", ["-p", mnt]);
  // A holder process keeps the namespace (and its tmpfs) alive across daemon runs.
  const holder = track(
    spawn(
      "unshare",
      [
        "-m",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        `mount -t tmpfs -o size=4m tmpfs ${mnt} && echo mounted && exec sleep 600`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    ),
  );
  t.after(() => holder.kill("SIGKILL"));
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.once("data", () => resolve());
    holder.once("exit", (c) => reject(new Error(`tmpfs holder exited (${String(c)})`)));
  });
  const pid = holder.pid as number;
  const inNs = (path: string): string => `/proc/${pid}/root${path}`;
  const data = join(mnt, "data");

  const peer = await startTogglePeer(t);
  const rx = await new Receiver().start();
  t.after(() => rx.stop());
  const effects = join(dir, "effects.log");
  const sh = (what: string) =>
    JSON.stringify(["/bin/sh", "-c", `echo "$WDMESH_EFFECT_ID ${what}" >> ${effects}`]);
  const config = join(dir, "wdmesh.yaml");
  writeFileSync(
    config,
    `node: { name: fullnode, listen: "127.0.0.1:0", data_dir: "${data}" }
defaults:
  interval: 200ms
  timeout: 150ms
  retry_interval: 200ms
  missed_before_restart: 2
  restarts_before_isolate: 1
  startup_grace: 200ms
  restart_backoff: { initial: 200ms, max: 400ms }
${LOOSE_SELF_HEALTH_YAML}
peers:
  - name: victim
    probe: { http: { url: "http://127.0.0.1:${peer.port}/health" } }
    restart: { command: { argv: ${sh("restart")} } }
    isolate: { command: { argv: ${sh("isolate")} } }
alerts:
  - name: hook
    webhook: { url: "http://127.0.0.1:${rx.port}/alerts", format: generic }
`,
  );
  const start = () =>
    spawnTracked([
      "nsenter",
      "-t",
      String(pid),
      "-m",
      "--",
      process.execPath,
      CLI,
      "run",
      "--config",
      config,
    ]);
  const urlOf = async (out: () => string): Promise<string> =>
    waitFor("the node's URL", () => /"url":"(http:[^"]+)"/.exec(out())?.[1], 20_000);

  let d = start();
  const url = await urlOf(d.output);
  await until("victim HEALTHY", async () => {
    const r = await fetch(`${url}/v1/peers/victim`);
    return r.ok && ((await r.json()) as { status: string }).status === "HEALTHY";
  });

  // Fill the tmpfs to the brim, then make the peer fail.
  const fill = spawnSync("dd", ["if=/dev/zero", `of=${inNs(join(mnt, "fill"))}`, "bs=64k"], {
    encoding: "utf8",
  });
  assert.match(fill.stderr, /No space left/, "the tmpfs is full");
  peer.failing = true;

  const health = await waitFor(
    "/health answering 503",
    async () => {
      const r = await fetch(`${url}/health`);
      return r.status === 503 ? ((await r.json()) as { status: string; reason: string }) : undefined;
    },
    20_000,
  );
  assert.equal(health.status, "degraded");
  assert.match(health.reason, /state store cannot commit/);
  const direct = await waitFor(
    "the direct store_failed alert",
    () => rx.requests.find((r) => r.body.includes('"store_failed"')),
    20_000,
  );
  const failedId = (JSON.parse(direct.body) as { id: string }).id;
  // Many probe cycles of the failing peer (2 misses would restart, 3 would isolate).
  await until(
    "10 refused commits",
    async () => {
      const m = (await (await fetch(`${url}/v1/mesh`)).json()) as {
        store: { status: string; failed_commits?: number };
      };
      return m.store.status === "failing" && (m.store.failed_commits ?? 0) >= 10;
    },
    30_000,
  );
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /^wdmesh_store_failing 1$/m);
  assert.match(metrics, /^wdmesh_store_errors_total (\d+)$/m);
  const victim = (await (await fetch(`${url}/v1/peers/victim`)).json()) as {
    status: string;
    restart_count: number;
  };
  // A full disk does not refuse every commit at once: SQLite reuses the space of its
  // write-ahead log after a checkpoint, so a step may still commit (and then run) before
  // the first refused commit. Whatever ran has its record on disk; nothing else runs.
  const before = (await (await fetch(`${url}/v1/events?limit=1000`)).json()) as Array<{
    action: string;
    id: string;
  }>;
  const ran = existsSync(effects)
    ? readFileSync(effects, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(" ")[0])
    : [];
  for (const id of ran)
    assert.ok(
      before.some((e) => e.id === id),
      `step ${id} ran without its record`,
    );
  assert.equal(
    victim.restart_count,
    before.filter((e) => e.action === "restart").length,
    "no restart counted without its record",
  );
  if (victim.status === "ISOLATED")
    assert.ok(
      before.some((e) => e.action === "isolate"),
      "not ISOLATED in memory without its record",
    );
  assert.match(d.output(), /state store cannot commit/, "the log says so");

  // Free the space: the episode is journaled, the incident resumes and is alerted.
  spawnSync("rm", ["-f", inNs(join(mnt, "fill"))]);
  await until(
    "restart and isolate ran",
    () => existsSync(effects) && /isolate/.test(readFileSync(effects, "utf8")),
    30_000,
  );
  const journal = await waitFor(
    "the isolate entry",
    async () => {
      const r = (await (await fetch(`${url}/v1/events?limit=1000`)).json()) as Array<{
        action: string;
        id: string;
      }>;
      return r.some((e) => e.action === "isolate") ? r : undefined;
    },
    20_000,
  );
  const kinds = journal.map((e) => e.action);
  for (const k of ["store_failed", "store_recovered", "alert", "restart", "isolate"])
    assert.ok(kinds.includes(k), `journal has ${k}: ${kinds.join(",")}`);
  assert.equal(journal.find((e) => e.action === "store_failed")?.id, failedId, "the direct alert's id");
  await until(
    "every journaled alert delivered",
    () => journal.every((e) => rx.requests.some((r) => r.body.includes(e.id))),
    30_000,
  );

  // kill -9, then start again: what is on disk is consistent and stays so.
  await stopChild(d.child, "SIGKILL");
  // SQLite does not open through /proc/PID/root: read a copy of the files the kill left.
  const copy = join(dir, "copy");
  spawnSync("mkdir", ["-p", copy]);
  for (const f of ["wdmesh.db", "wdmesh.db-wal"]) {
    if (existsSync(inNs(join(data, f)))) copyFileSync(inNs(join(data, f)), join(copy, f));
  }
  const s = SqliteStore.open({ dataDir: copy, node: "fullnode", sinks: [] });
  try {
    const p = s.loadPeers().find((x) => x.name === "victim");
    assert.equal(p?.state.status, "ISOLATED");
    assert.ok(p?.isolation, "ISOLATED on disk with its isolation record");
    assert.equal(s.verifyJournal().ok, true);
    const restarts = s.journal(0, 10_000).filter((e) => e.action === "restart" && e.peer_name === "victim");
    assert.equal(p?.state.restarts, restarts.length, "restart counter matches the journal");
  } finally {
    s.close();
  }
  d = start();
  const url2 = await urlOf(d.output);
  const after = (await (await fetch(`${url2}/v1/peers/victim`)).json()) as { status: string };
  assert.equal(after.status, "ISOLATED");
  assert.equal(await stopChild(d.child, "SIGTERM"), 0, d.output());
});
