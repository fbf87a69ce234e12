// Delivery to a REAL Alertmanager (Debian package prometheus-alertmanager): a firing alert
// becomes visible with the documented labels, an escalation leaves exactly one active
// alert per peer, the incident is re-sent while firing, and the resolution ends it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import { createAlerting, type Alerting } from "../../src/alert/dispatcher.js";
import type { SinkConfig } from "../../src/alert/sink-config.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { commitAction, newAction } from "../alert/commit.js";
import { freePort } from "../helpers/ports.js";
import { waitFor } from "../helpers/wait.js";
import { fileTempDir } from "../helpers/tmp-dir.js";

const AM_BIN = "/usr/bin/prometheus-alertmanager";
const missing = existsSync(AM_BIN)
  ? null
  : `${AM_BIN} not found (install the Debian package prometheus-alertmanager)`;
if (missing && process.env["CI"]) throw new Error(`alertmanager integration test cannot run: ${missing}`);

interface AmApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

let am: ChildProcess | null = null;
let amLog = "";
let base = "";
let dir = "";

before(async () => {
  if (missing) return;
  dir = fileTempDir("wdmesh-am-");
  writeFileSync(join(dir, "am.yml"), 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  am = spawn(
    AM_BIN,
    [
      `--config.file=${join(dir, "am.yml")}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  am.stderr?.on("data", (d: Buffer) => (amLog = (amLog + d.toString()).slice(-4000)));
  await waitFor(
    "alertmanager /-/ready",
    async () => {
      if (am?.exitCode !== null) throw new Error(`alertmanager exited: ${amLog}`);
      const r = await fetch(`${base}/-/ready`);
      return r.status === 200 ? true : undefined;
    },
    30_000,
    { retryErrors: true },
  );
});

after(async () => {
  if (am && am.exitCode === null) {
    am.kill("SIGTERM");
    const t = setTimeout(() => am?.kill("SIGKILL"), 5000);
    await once(am, "exit");
    clearTimeout(t);
  }
});

async function activeAlerts(peer: string): Promise<AmApiAlert[]> {
  const q = new URLSearchParams({ active: "true", silenced: "true", inhibited: "true" });
  q.append("filter", 'alertname="WatchdogPeerDown"');
  q.append("filter", `peer="${peer}"`);
  const r = await fetch(`${base}/api/v2/alerts?${q.toString()}`);
  assert.equal(r.status, 200);
  return ((await r.json()) as AmApiAlert[]).filter((a) => a.status.state === "active");
}

/** An in-memory outbox and a started worker with one Alertmanager sink "am" at `url`. */
function amWorker(url: string, resendIntervalMs: number): { store: SqliteStore; alerting: Alerting } {
  // min_severity INFO: the store routes by severity alone, and `recovered` is INFO.
  const store = SqliteStore.openFile(":memory:", {
    node: "immune",
    sinks: [{ name: "am", minSeverity: "INFO" }],
  });
  const sink: SinkConfig = {
    name: "am",
    kind: "alertmanager",
    url,
    resendIntervalMs,
    minSeverity: "INFO",
    timeoutMs: 5000,
    maxAgeMs: 86_400_000,
    headers: {},
  };
  const alerting = createAlerting({ sinks: [sink], outbox: store, generatorURL: "http://127.0.0.1:9760/" });
  alerting.start();
  return { store, alerting };
}

test(
  "firing, escalation, re-send and resolution against a real Alertmanager",
  { skip: missing ?? false },
  async () => {
    const { store, alerting } = amWorker(base, 500);
    try {
      const peer = `sidecar-${process.pid}`;
      const inc = `inc-${Date.now()}`;
      const opened = new Date(Date.now() - 1000).toISOString();
      const alert = newAction({
        action: "alert",
        severity: "MEDIUM",
        reason: "1 missed heartbeat",
        incident_id: inc,
        peer_name: peer,
        timestamp: opened,
      });
      commitAction(store, alert);

      const firing = await waitFor(
        "the firing alert in Alertmanager",
        async () => {
          const a = await activeAlerts(peer);
          return a.length === 1 ? a : undefined;
        },
        30_000,
        { retryErrors: true },
      );
      assert.deepEqual(firing[0]?.labels, {
        alertname: "WatchdogPeerDown",
        peer,
        node: "immune",
        severity: "medium",
      });
      assert.equal(Date.parse(firing[0]?.startsAt ?? ""), Date.parse(opened), "startsAt = incident start");
      assert.match(
        firing[0]?.annotations["summary"] ?? "",
        /^\[MEDIUM\] alert sidecar-\d+ on immune: 1 missed heartbeat$/,
      );
      assert.equal(firing[0]?.annotations["incident_id"], inc);

      // escalation: the HIGH restart replaces the MEDIUM alert (one active alert per peer)
      const restart = newAction({
        action: "restart",
        severity: "HIGH",
        reason: "3 missed heartbeats",
        incident_id: inc,
        peer_name: peer,
      });
      commitAction(store, restart);
      const high = await waitFor(
        "only the HIGH alert active",
        async () => {
          const a = await activeAlerts(peer);
          return a.length === 1 && a[0]?.labels["severity"] === "high" ? a : undefined;
        },
        30_000,
        { retryErrors: true },
      );
      assert.equal(Date.parse(high[0]?.startsAt ?? ""), Date.parse(opened));

      // while the incident is open the worker re-sends it
      await waitFor(
        "two re-sends",
        async () => ((alerting.stats()[0]?.resent ?? 0) >= 2 ? true : undefined),
        30_000,
        { retryErrors: true },
      );
      assert.equal((await activeAlerts(peer)).length, 1);

      // resolution: recovered → endsAt; Alertmanager no longer reports it active
      const recovered = newAction({
        action: "recovered",
        severity: "INFO",
        reason: "probe ok",
        incident_id: inc,
        peer_name: peer,
      });
      commitAction(store, recovered);
      await waitFor(
        "no active alert after resolve",
        async () => ((await activeAlerts(peer)).length === 0 ? true : undefined),
        30_000,
        { retryErrors: true },
      );
      await waitFor(
        "outbox drained",
        async () => (store.depth()["am"]?.pending === 0 ? true : undefined),
        30_000,
        { retryErrors: true },
      );
      const resentAtResolve = alerting.stats()[0]?.resent ?? 0;
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await activeAlerts(peer)).length, 0, "no re-send revives a resolved incident");
      assert.equal(alerting.stats()[0]?.resent, resentAtResolve, "no re-sends once the incident closed");
      const st = alerting.stats()[0];
      assert.equal(st?.delivered, 3);
      assert.equal(st?.dead, 0);
    } finally {
      await alerting.stop();
      store.close();
    }
  },
);

test(
  "a wrong Alertmanager base URL (404 from Alertmanager) dead-letters the row with the reason",
  { skip: missing ?? false },
  async () => {
    // e.g. a route prefix that this Alertmanager does not have
    const { store, alerting } = amWorker(`${base}/alertmanager`, 60_000);
    try {
      const a = newAction({ action: "alert", severity: "MEDIUM", reason: "x" });
      commitAction(store, a);
      const dead = await waitFor(
        "dead-lettered row",
        async () => store.list({ sink: "am", state: "dead" })[0],
        30_000,
        { retryErrors: true },
      );
      assert.equal(dead.action.id, a.id);
      assert.match(dead.last_error ?? "", /^HTTP 404: /);
      assert.equal(alerting.stats()[0]?.dead, 1);
    } finally {
      await alerting.stop();
      store.close();
    }
  },
);
