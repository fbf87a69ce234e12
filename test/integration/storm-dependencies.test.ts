// The storm guard and depends_on against the real thing: `wdmesh run` (a real process)
// watching real loopback HTTP peers, restarting through a command that appends to a log
// file, alerting a real HTTP receiver.
// - Storm: 4 of 5 peers stop together → one correlated_failure (CRITICAL) naming them,
//   zero restarts while they keep failing; once they answer again it is cleared and a
//   peer failing alone is restarted as before.
// - Dependencies: db down → web and api (depends_on: [db]) are never restarted, only db
//   pages, their dependency_failing entries carry db's incident id (alerts and API);
//   after db recovers they get a fresh startup_grace and then their own misses count.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnCli } from "../cli/harness.js";
import { freePort } from "../helpers/ports.js";
import { Receiver } from "../helpers/receiver.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { startTogglePeer, type TogglePeer } from "../helpers/toggle-peer.js";
import { until } from "../helpers/wait.js";
import { LOOSE_SELF_HEALTH_YAML } from "../helpers/loose-self-health.js";

interface Body {
  action: string;
  severity: string;
  peer_name: string;
  incident_id: string | null;
  reason: string;
}
interface Health {
  status: string;
  missed_count: number;
  incident_id: string | null;
  root_cause?: { peer: string; incident_id: string | null };
}

function config(o: {
  dir: string;
  port: number;
  rx: Receiver;
  peers: Array<{ name: string; peer: TogglePeer; dependsOn?: string[] }>;
  extra: string[];
}): string {
  const log = join(o.dir, "restarts.log");
  const cfg = join(o.dir, "mesh.yaml");
  const restart = (name: string) => JSON.stringify(["/bin/sh", "-c", `echo ${name} >> ${log}`]);
  writeFileSync(
    cfg,
    [
      "node:",
      "  name: guard",
      `  listen: 127.0.0.1:${o.port}`,
      `  data_dir: ${join(o.dir, "data")}`,
      "defaults: { interval: 300ms, retry_interval: 300ms, timeout: 250ms, missed_before_restart: 2, restarts_before_isolate: 3, startup_grace: 2s, restart_backoff: { initial: 300ms, max: 300ms } }",
      LOOSE_SELF_HEALTH_YAML, // remediation is under test, not this node's own load
      ...o.extra,
      "peers:",
      ...o.peers.flatMap((p) => [
        `  - name: ${p.name}`,
        `    probe: { http: { url: "http://127.0.0.1:${p.peer.port}/health" } }`,
        `    restart: { command: { argv: ${restart(p.name)} } }`,
        "    isolate: none",
        ...(p.dependsOn ? [`    depends_on: [${p.dependsOn.join(", ")}]`] : []),
      ]),
      "alerts:",
      "  - name: pager",
      `    webhook: { url: "${o.rx.url("/hook")}", format: generic }`,
      "    min_severity: INFO",
      "",
    ].join("\n"),
  );
  return cfg;
}

const restartsIn = (dir: string): string[] => {
  const f = join(dir, "restarts.log");
  return existsSync(f) ? readFileSync(f, "utf8").split("\n").filter(Boolean) : [];
};

async function peer(port: number, name: string): Promise<Health> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/peers/${name}`);
  return (await r.json()) as Health;
}

/** Waits until the node serves every one of `names` HEALTHY; returns a check that it still runs. */
async function runningWithHealthy(
  run: { child: { exitCode: number | null } },
  port: number,
  names: string[],
): Promise<() => void> {
  const alive = (): void => {
    if (run.child.exitCode !== null) throw new Error("wdmesh run exited early");
  };
  await until("every peer HEALTHY", async () => {
    alive();
    try {
      return (await Promise.all(names.map((n) => peer(port, n)))).every((h) => h.status === "HEALTHY");
    } catch {
      return false;
    }
  });
  return alive;
}

test("storm: 4 of 5 peers stopped together → one correlated_failure, zero restarts; per-peer remediation resumes after", async (t) => {
  const dir = tempDir(t, "wdmesh-storm-");
  const rx = await new Receiver().start();
  t.after(() => rx.stop());
  const peers = await Promise.all(
    ["a", "b", "c", "d", "e"].map(async (name) => ({ name, peer: await startTogglePeer(t) })),
  );
  const port = await freePort();
  const run = spawnCli(["run", "--config", config({ dir, port, rx, peers, extra: [] })]);
  const bodies = (): Body[] => rx.requests.map((r) => JSON.parse(r.body) as Body);
  try {
    const alive = await runningWithHealthy(
      run,
      port,
      peers.map((p) => p.name),
    );
    for (const p of peers.slice(0, 4)) p.peer.failing = true;
    await until(
      "correlated_failure delivered",
      () => (alive(), bodies().some((b) => b.action === "correlated_failure")),
    );
    // Witness instead of a sleep: every failing peer missed at least 3 × K times since.
    await until("the failing peers keep missing", async () => {
      alive();
      const hs = await Promise.all(peers.slice(0, 4).map((p) => peer(port, p.name)));
      return hs.every((h) => h.missed_count >= 6);
    });
    assert.deepEqual(restartsIn(dir), [], "no restart while the storm is on");
    const storms = bodies().filter((b) => b.action === "correlated_failure");
    assert.equal(storms.length, 1, JSON.stringify(storms));
    assert.equal(storms[0]?.severity, "CRITICAL");
    assert.equal(storms[0]?.peer_name, "guard");
    assert.match(storms[0]?.reason ?? "", /of 5 watched peers failed within \d+ ms: (a, )?(b, )?(c, )?(d)?/);
    assert.ok(
      !bodies().some((b) => b.action === "restart" || b.action === "remediation_held"),
      "nothing per peer beyond the first alerts",
    );

    for (const p of peers) p.peer.failing = false;
    await until("correlated_failure_cleared delivered", () =>
      bodies().some(
        (b) => b.action === "correlated_failure_cleared" && b.incident_id === storms[0]?.incident_id,
      ),
    );
    assert.deepEqual(restartsIn(dir), []);
    const one = peers[0] as { name: string; peer: TogglePeer };
    one.peer.failing = true;
    await until("a peer failing alone is restarted as before", () => restartsIn(dir).includes("a"));
    assert.equal(bodies().filter((b) => b.action === "correlated_failure").length, 1);
  } finally {
    run.child.kill("SIGTERM");
    await run.result;
  }
});

test("depends_on: db down → web and api not restarted, one page, db's incident id on their entries; fresh grace after db recovers", async (t) => {
  const dir = tempDir(t, "wdmesh-deps-");
  const rx = await new Receiver().start();
  t.after(() => rx.stop());
  const db = await startTogglePeer(t);
  const web = await startTogglePeer(t);
  const api = await startTogglePeer(t);
  const port = await freePort();
  const cfg = config({
    dir,
    port,
    rx,
    peers: [
      { name: "db", peer: db },
      { name: "web", peer: web, dependsOn: ["db"] },
      { name: "api", peer: api, dependsOn: ["db"] },
    ],
    extra: ["storm: false"], // 3 of 3 failing would be a storm: this test is about dependencies
  });
  const run = spawnCli(["run", "--config", cfg]);
  const bodies = (): Body[] => rx.requests.map((r) => JSON.parse(r.body) as Body);
  try {
    const alive = await runningWithHealthy(run, port, ["db", "web", "api"]);
    db.failing = true;
    await until("db is failing", async () => (alive(), (await peer(port, "db")).status !== "HEALTHY"));
    web.failing = true;
    api.failing = true;
    await until("db restarted twice while web and api keep missing", async () => {
      alive();
      const [w, a] = await Promise.all([peer(port, "web"), peer(port, "api")]);
      return (
        restartsIn(dir).filter((l) => l === "db").length >= 2 && w.missed_count >= 4 && a.missed_count >= 4
      );
    });
    assert.deepEqual([...new Set(restartsIn(dir))], ["db"], "only the root is restarted");
    const dbHealth = await peer(port, "db");
    assert.ok(dbHealth.incident_id);
    const webHealth = await peer(port, "web");
    assert.deepEqual(webHealth.root_cause, { peer: "db", incident_id: dbHealth.incident_id });
    await until("both dependency_failing entries delivered", () =>
      ["web", "api"].every((n) =>
        bodies().some((b) => b.action === "dependency_failing" && b.peer_name === n),
      ),
    );
    const joins = bodies().filter((b) => b.action === "dependency_failing");
    assert.equal(joins.length, 2, "once per dependent");
    assert.ok(joins.every((b) => b.incident_id === dbHealth.incident_id && b.severity === "INFO"));
    const pages = bodies().filter((b) => b.severity !== "INFO");
    assert.deepEqual([...new Set(pages.map((b) => b.peer_name))], ["db"], "only db pages");

    // db recovers; web and api keep failing on their own: after a fresh 2 s grace they count.
    db.failing = false;
    await until("db HEALTHY", async () => (alive(), (await peer(port, "db")).status === "HEALTHY"));
    const recoveredAt = Date.now();
    const w = await peer(port, "web");
    assert.ok(w.missed_count <= 1, `web starts afresh (missed ${w.missed_count})`);
    assert.equal(w.root_cause, undefined);
    await until("web restarted on its own", () => (alive(), restartsIn(dir).includes("web")));
    // 2 s grace + 2 misses after db recovered; measured from when this test saw it (later).
    assert.ok(Date.now() - recoveredAt >= 1_500, "not before the fresh startup grace");
    assert.equal(bodies().filter((b) => b.action === "dependency_failing").length, 2);
  } finally {
    run.child.kill("SIGTERM");
    await run.result;
  }
});
