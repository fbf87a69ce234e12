// GET /metrics, served from the real metrics registry, passes `promtool check metrics`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createMetrics } from "../../src/api/metrics.js";
import { createApiServer } from "../../src/api/server.js";
import { FakeBackend } from "../helpers/fake-backend.js";

const havePromtool = spawnSync("promtool", ["--version"]).status === 0;
const missing = "promtool not found: install the Debian package `prometheus`";
if (!havePromtool && process.env.CI) throw new Error(missing);

function promtoolCheck(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, out }));
    p.stdin.end(text);
  });
}

void test("/metrics passes promtool check metrics", { skip: havePromtool ? false : missing }, async () => {
  const metrics = createMetrics();
  for (const [peer, status] of [
    ["sidecar", "HEALTHY"],
    ["shield", "ISOLATED"],
    ['we"ird\\name', "DEGRADED"],
  ] as const) {
    metrics.setPeerStatus(peer, status);
    metrics.checks.inc({ peer }, 3);
    metrics.misses.inc({ peer });
    metrics.probeDuration.observe({ peer }, 0.012);
  }
  metrics.restarts.inc({ peer: "shield" }, 3);
  metrics.isolations.inc({ peer: "shield" });
  metrics.probeLateness.observe(0.003);
  metrics.actionFailures.inc({ action: "restart" });
  metrics.deliveries.inc({ sink: "am", outcome: "delivered" });
  let scrapes = 0;
  metrics.beforeScrape(() => {
    scrapes++;
    metrics.outboxDepth.set({ sink: "am", state: "pending" }, 2);
    metrics.outboxDepth.set({ sink: "am", state: "dead" }, 0);
  });
  const backend = new FakeBackend();
  backend.metricsText = () => metrics.text();
  const api = createApiServer({ backend });
  const { url } = await api.listen({ host: "127.0.0.1", port: 0 });
  try {
    const res = await fetch(`${url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(scrapes, 1);
    // The check is only meaningful on a full exposition (promtool accepts an empty one).
    for (const name of [
      "wdmesh_probe_duration_seconds_bucket",
      "wdmesh_probe_lateness_seconds_count",
      'wdmesh_peer_status{peer="shield",status="ISOLATED"} 1',
      'wdmesh_peer_status{peer="shield",status="HEALTHY"} 0',
      'wdmesh_checks_total{peer="sidecar"} 3',
      "wdmesh_misses_total",
      'wdmesh_restarts_total{peer="shield"} 3',
      "wdmesh_isolations_total",
      'wdmesh_action_failures_total{action="restart"} 1',
      'wdmesh_outbox_depth{sink="am",state="pending"} 2',
      'wdmesh_deliveries_total{sink="am",outcome="delivered"} 1',
      "process_cpu_seconds_total",
    ]) {
      assert.ok(text.includes(name), `missing ${name}`);
    }
    const r = await promtoolCheck(text);
    assert.equal(r.code, 0, `promtool check metrics failed:\n${r.out}`);
    assert.equal(r.out.trim(), "");
    // And promtool does reject a broken exposition, so the check above means something.
    const broken = await promtoolCheck(`${text}wdmesh_bogus_total{peer="x"} notanumber\n`);
    assert.notEqual(broken.code, 0);
  } finally {
    await api.close();
  }
});

void test("removePeer drops a peer's series", async () => {
  const m = createMetrics({ processMetrics: false });
  m.setPeerStatus("gone", "OFFLINE");
  m.checks.inc({ peer: "gone" });
  assert.match(await m.text(), /peer="gone"/);
  m.removePeer("gone");
  assert.doesNotMatch(await m.text(), /peer="gone"/);
});
