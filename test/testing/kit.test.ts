// watchdog-mesh/testing, the kit an embedding agent's unit tests use: the prober's scripted
// behaviours on the fake clock, the executor's scripted results as the Monitor sees them,
// and the in-process mesh (the real gate over loopback views: held without a quorum, one
// restart with it, nothing left running after stop()).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Monitor, type PeerSpec } from "../../src/index.js";
import { createTestMesh, FakeClock, FakeProber, RecordingExecutor } from "../../src/testing/index.js";

const URL_A = "http://10.0.0.9:9811/health";
const spec = { http: { url: URL_A } };

test("FakeProber: up, down, error, a sequence, and hang until the deadline on its clock", async () => {
  const clock = new FakeClock();
  const p = new FakeProber({ clock });
  assert.equal((await p.probe(spec, 500)).ok, true, "unscripted: up");
  p.set(URL_A, ["down", "up"]);
  assert.equal((await p.probe(spec, 500)).error, "connection refused");
  assert.equal((await p.probe(spec, 500)).ok, true);
  assert.equal((await p.probe(spec, 500)).ok, true, "the last entry stays");
  p.set(URL_A, "error");
  await assert.rejects(p.probe(spec, 500), /scripted prober failure for http:\/\/10\.0\.0\.9:9811\/health/);
  p.set(URL_A, "hang");
  let result: unknown;
  void p.probe(spec, 800).then((r) => (result = r));
  await clock.advance(799);
  assert.equal(result, undefined, "no answer before the deadline");
  await clock.advance(1);
  assert.deepEqual(result, { ok: false, duration_ms: 800, error: "timeout after 800 ms" });
  const ac = new AbortController();
  const cut = p.probe(spec, 60_000, ac.signal);
  ac.abort();
  assert.equal((await cut).ok, false, "a hung probe cut short ends at once");
  assert.equal(p.count(URL_A), 7);
  assert.equal(p.count("tcp-nothing"), 0);
});

test("RecordingExecutor: a scripted failed restart is what the Monitor records", async () => {
  const clock = new FakeClock();
  const prober = new FakeProber({ clock }).set(URL_A, "down");
  const executor = new RecordingExecutor().script("restart", { ok: false, error: "unit not found" });
  const m = new Monitor({ selfName: "a", interval: "1s", clock, prober, executor, random: () => 0 });
  const results: unknown[] = [];
  m.onEscalation((a) => {
    if (a.action === "restart" && a.result) results.push({ ok: a.result.ok, error: a.result.error });
  });
  m.registerPeer({ name: "w", probe: spec, restart: { systemd: { unit: "w.service" } } });
  m.start();
  await clock.advance(5_000);
  await m.stop();
  assert.deepEqual(
    executor.callsOf("restart").map((c) => [c.peer, c.attempt]),
    [["w", 1]],
  );
  assert.deepEqual(results, [{ ok: false, error: "unit not found" }]);
});

test("TestMesh: the real gate holds with one node of three, restarts once with all three, stops clean", async () => {
  const mesh = await createTestMesh({ nodes: 3, confirm: "all" });
  const worker: PeerSpec = { name: "w", probe: spec, restart: { systemd: { unit: "w.service" } } };
  try {
    assert.deepEqual(
      mesh.nodes.map((n) => n.name),
      ["node-1", "node-2", "node-3"],
    );
    assert.ok(mesh.node("node-2").monitor instanceof Monitor, "the root's Monitor");
    mesh.registerPeer(worker);
    mesh.start();
    await mesh.advance("5s");
    for (const n of mesh.nodes) {
      const members = n.monitor.mesh.meshDocument().members;
      assert.deepEqual(
        members.map((x) => [x.status, typeof x.view_age_ms]),
        [
          ["HEALTHY", "number"],
          ["HEALTHY", "number"],
        ],
        `${n.name} sees both members with views`,
      );
    }
    mesh.script("w", "down", ["node-1", "node-2"]); // two of three: confirm "all" holds
    await mesh.advance("15s");
    assert.deepEqual(mesh.calls("restart"), []);
    const held = mesh.node("node-1").monitor.getPeerStatus("w");
    assert.ok(held && held.status !== "HEALTHY" && held.missed_count >= 3, "held, not healthy");
    mesh.script("w", "down");
    await mesh.advance("10s");
    const restarts = mesh.calls("restart", "w");
    assert.equal(restarts.length, 1, JSON.stringify(restarts));
  } finally {
    await mesh.stop();
    await mesh.stop();
  }
  await assert.rejects(fetch(`${mesh.nodes[0]?.url}/health`), "its servers are closed");
  assert.equal(mesh.clock.pending, 0, "no timer left armed");
});

test("TestMesh: an option the Monitor refuses rejects with its typed error", async () => {
  await assert.rejects(createTestMesh({ nodes: 2, options: { concurrency: -1 } }), {
    code: "WDM_INVALID_OPTION",
  });
  await assert.rejects(createTestMesh({ nodes: [] }), /at least one node/);
});
