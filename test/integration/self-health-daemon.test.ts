// `wdmesh run` as a real process, frozen with SIGSTOP for 3 s: when it runs again it
// knows it was stalled. It says so (/v1/mesh self_health, metrics, one self_degraded
// journal entry), holds the restart of a peer that fails meanwhile (remediation_held),
// and once it is well again (self_recovered) the held restart goes ahead.
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

const TOKEN = "self-health-test-token-0123456789abcdef";

test("a node frozen for 3 s says it is degraded, holds remediation meanwhile, and resumes when well", async (t) => {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-self-");
  const log = join(dir, "effects.log");
  const data = join(dir, "data");
  const peer = await startTogglePeer(t);
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const config = writeDaemonConfig(
    dir,
    {
      node: { name: "selfie", listen: apiPort, data_dir: data, api_token: TOKEN, read_token: TOKEN },
      defaults: { interval: "300ms", timeout: "250ms", retry_interval: "300ms", missed_before_restart: 2 },
      peers: [
        {
          name: "flaky",
          probe: { http: { url: `http://127.0.0.1:${peer.port}/health` } },
          restart: { command: { argv: ["/bin/sh", "-c", `echo restart >> ${log}`] } },
        },
      ],
    },
    "mesh.yaml",
  );
  const { child, output } = spawnDaemon(config, { keepChars: 100_000 });
  const auth = { authorization: `Bearer ${TOKEN}` };
  type Mesh = {
    peers: Array<{ status: string }>;
    self_health?: { status: string; loop_delay_p99_ms: number; lateness_p99_ms: number };
  };
  const mesh = async (): Promise<Mesh | undefined> => {
    try {
      const r = await fetch(`${api}/v1/mesh`, { headers: auth });
      return r.ok ? ((await r.json()) as Mesh) : undefined;
    } catch {
      return undefined;
    }
  };
  const restarts = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0);
  await until("flaky HEALTHY and self_health ok", async () => {
    if (child.exitCode !== null) throw new Error(`daemon exited:\n${output()}`);
    const m = await mesh();
    return m?.peers[0]?.status === "HEALTHY" && m.self_health?.status === "ok";
  });

  child.kill("SIGSTOP");
  await new Promise((r) => setTimeout(r, 3_000));
  peer.failing = true;
  child.kill("SIGCONT");

  let m: Mesh | undefined;
  await until("self_health degraded", async () => (m = await mesh())?.self_health?.status === "degraded");
  assert.ok((m?.self_health?.loop_delay_p99_ms ?? 0) >= 2_000, JSON.stringify(m?.self_health));
  const metrics = await (await fetch(`${api}/metrics`, { headers: auth })).text();
  assert.match(metrics, /^wdmesh_self_degraded 1$/m);
  await until("the failing peer's restart is held", () => output().includes("remediation_held"));
  assert.equal(restarts(), 0, "nothing is restarted while the node is overloaded");

  await until("well again", async () => (await mesh())?.self_health?.status === "ok", 30_000);
  await until("the held restart goes ahead", () => restarts() >= 1, 10_000);

  await stopChild(child, "SIGTERM");
  const store = SqliteStore.open({ dataDir: data, node: "selfie", sinks: [] });
  try {
    const j = store.journal(0, 1000);
    const self = j
      .filter((e) => e.action.startsWith("self_"))
      .map((e) => `${e.action}:${e.severity}:${e.peer_name}`);
    // The freeze is the first episode; a busy machine may degrade the node again later,
    // and each episode is one self_degraded then one self_recovered.
    assert.deepEqual(self.slice(0, 2), ["self_degraded:HIGH:selfie", "self_recovered:INFO:selfie"]);
    self.forEach((k, i) =>
      assert.equal(k, i % 2 === 0 ? "self_degraded:HIGH:selfie" : "self_recovered:INFO:selfie", self.join()),
    );
    const held = j.filter((e) => e.action === "remediation_held");
    assert.equal(held.length, 1);
    assert.match(held[0]?.reason ?? "", /this node is overloaded: loop delay p99 \d+ ms/);
    const firstRestart = j.findIndex((e) => e.action === "restart");
    assert.ok(
      firstRestart > j.findIndex((e) => e.action === "self_recovered"),
      "the restart comes after the node recovered",
    );
  } finally {
    store.close();
  }
});
