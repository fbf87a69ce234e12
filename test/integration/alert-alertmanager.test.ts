// Delivery to a REAL Alertmanager (Debian package prometheus-alertmanager): a firing alert
// becomes visible with the documented names and labels (the scheme the shipped rules use),
// an escalation fires the next name of the same incident, the incident is re-sent while
// firing, the resolution ends all of it, node-level events never look like a peer down, and
// two nodes reporting one incident (a peer's, a fleet host's) to a cluster of two
// Alertmanagers give one notification.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import { hostname } from "node:os";
import { createAlerting, type Alerting } from "../../src/alert/dispatcher.js";
import type { SinkConfig } from "../../src/alert/sink-config.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { commitAction, newAction } from "../alert/commit.js";
import { freePort } from "../helpers/ports.js";
import { waitFor } from "../helpers/wait.js";
import { Receiver } from "../helpers/receiver.js";
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

/** Active alerts matching `filter` (label="value" matchers), on the Alertmanager at `at`. */
async function activeAlertsWhere(filter: string[], at = base): Promise<AmApiAlert[]> {
  const q = new URLSearchParams({ active: "true", silenced: "true", inhibited: "true" });
  for (const f of filter) q.append("filter", f);
  const r = await fetch(`${at}/api/v2/alerts?${q.toString()}`);
  assert.equal(r.status, 200);
  return ((await r.json()) as AmApiAlert[]).filter((a) => a.status.state === "active");
}

async function activeAlerts(peer: string, at = base): Promise<AmApiAlert[]> {
  return activeAlertsWhere([`peer="${peer}"`], at);
}

/** An in-memory outbox and a started worker with one Alertmanager sink "am" at `url`. */
function amWorker(
  url: string | string[],
  resendIntervalMs: number,
  node = "immune",
): { store: SqliteStore; alerting: Alerting } {
  const urls = Array.isArray(url) ? url : [url];
  const names = urls.map((_, i) => (i === 0 ? "am" : `am${i + 1}`));
  // min_severity INFO: the store routes by severity alone, and `recovered` is INFO.
  const store = SqliteStore.openFile(":memory:", {
    node,
    sinks: names.map((name) => ({ name, minSeverity: "INFO" as const })),
  });
  const sinks: SinkConfig[] = urls.map((u, i) => ({
    name: names[i]!,
    kind: "alertmanager",
    url: u,
    resendIntervalMs,
    minSeverity: "INFO",
    timeoutMs: 5000,
    maxAgeMs: 86_400_000,
    headers: {},
  }));
  const alerting = createAlerting({ sinks, outbox: store, generatorURL: "http://127.0.0.1:9760/" });
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
        alertname: "WdmeshPeerDegraded",
        peer,
        host: hostname(),
        severity: "medium",
      });
      assert.equal(firing[0]?.annotations["reported_by"], "immune");
      assert.equal(Date.parse(firing[0]?.startsAt ?? ""), Date.parse(opened), "startsAt = incident start");
      assert.match(
        firing[0]?.annotations["summary"] ?? "",
        /^\[MEDIUM\] alert sidecar-\d+ on immune: 1 missed heartbeat$/,
      );
      assert.equal(firing[0]?.annotations["incident_id"], inc);

      // escalation: the HIGH restart fires WdmeshPeerDown beside the first miss's alert (both
      // stay until the incident closes, so a watcher that has not escalated re-fires nothing)
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
          const a = (await activeAlerts(peer)).filter((x) => x.labels["alertname"] === "WdmeshPeerDown");
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
      assert.deepEqual((await activeAlerts(peer)).map((a) => a.labels["alertname"]).sort(), [
        "WdmeshPeerDegraded",
        "WdmeshPeerDown",
      ]);

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

test(
  "node-level events name the node: a reload fires nothing, an overload is WdmeshNodeOverloaded, never a peer down",
  { skip: missing ?? false },
  async () => {
    const node = `wd-node-${process.pid}`;
    const { store, alerting } = amWorker(base, 60_000, node);
    try {
      const own = { peer_name: node, node, incident_id: null };
      const reload = newAction({ action: "config_reloaded", severity: "INFO", reason: "reloaded", ...own });
      commitAction(store, reload);
      const degraded = newAction({ action: "self_degraded", severity: "HIGH", reason: "loop delay", ...own });
      commitAction(store, degraded);
      const overloaded = await waitFor(
        "the node's overload alert",
        async () => {
          const a = await activeAlertsWhere([`node="${node}"`]);
          return a.length === 1 ? a : undefined;
        },
        30_000,
        { retryErrors: true },
      );
      assert.deepEqual(overloaded[0]?.labels, {
        alertname: "WdmeshNodeOverloaded",
        node,
        host: hostname(),
        severity: "high",
      });
      // Both rows are delivered in order, so the reload went first: it left no alert at all,
      // and nothing names this node as a peer.
      assert.equal(store.depth()["am"]?.pending, 0);
      assert.deepEqual(await activeAlerts(node), []);
      commitAction(store, newAction({ action: "self_recovered", severity: "INFO", reason: "ok", ...own }));
      await waitFor(
        "the overload resolved",
        async () => ((await activeAlertsWhere([`node="${node}"`])).length === 0 ? true : undefined),
        30_000,
        { retryErrors: true },
      );
    } finally {
      await alerting.stop();
      store.close();
    }
  },
);

/** One Alertmanager of a cluster, notifying `hook`. */
async function clusterMember(
  name: string,
  hook: string,
  clusterPort: number,
  peerPort: number | null,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const d = join(dir, name);
  const cfg = join(dir, `${name}.yml`);
  writeFileSync(
    cfg,
    [
      "route:",
      '  receiver: "hook"',
      "  group_by: [alertname, peer, host]",
      "  group_wait: 1s",
      "  group_interval: 5m",
      "  repeat_interval: 4h",
      "receivers:",
      '  - name: "hook"',
      "    webhook_configs:",
      `      - url: "${hook}"`,
      "        send_resolved: false",
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = "";
  const proc = spawn(
    AM_BIN,
    [
      `--config.file=${cfg}`,
      `--storage.path=${d}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--cluster.listen-address=127.0.0.1:${clusterPort}`,
      `--cluster.advertise-address=127.0.0.1:${clusterPort}`,
      "--cluster.peer-timeout=3s",
      "--cluster.gossip-interval=100ms",
      "--cluster.pushpull-interval=1s",
      ...(peerPort === null ? [] : [`--cluster.peer=127.0.0.1:${peerPort}`]),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  proc.stderr?.on("data", (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  await waitFor(
    `${name} /-/ready`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited: ${log}`);
      return (await fetch(`${url}/-/ready`)).status === 200 ? true : undefined;
    },
    30_000,
    { retryErrors: true },
  );
  return {
    url,
    stop: async () => {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await once(proc, "exit");
      clearTimeout(t);
    },
  };
}

test(
  "two nodes report one incident (a peer down, a fleet host down) to two clustered Alertmanagers: one alert, one notification each",
  { skip: missing ?? false, timeout: 120_000 },
  async () => {
    const hook = await new Receiver().start();
    const [c1, c2] = [await freePort(), await freePort()];
    const am1 = await clusterMember("am1", hook.url(), c1, null);
    const am2 = await clusterMember("am2", hook.url(), c2, c1);
    const nodes = [
      amWorker([am1.url, am2.url], 60_000, "wd-a"),
      amWorker([am1.url, am2.url], 60_000, "wd-b"),
    ];
    try {
      await waitFor(
        "the two Alertmanagers joined",
        async () => {
          const st = (await (await fetch(`${am2.url}/api/v2/status`)).json()) as {
            cluster: { peers: unknown[] };
          };
          return st.cluster.peers.length === 2 ? true : undefined;
        },
        30_000,
        { retryErrors: true },
      );
      const peer = `agent-${process.pid}`;
      // Each node has its own incident id and its own name; the alert's identity is the peer and its host.
      for (const [i, n] of nodes.entries()) {
        commitAction(
          n.store,
          newAction({
            action: "alert",
            severity: "MEDIUM",
            reason: "1 missed heartbeat",
            peer_name: peer,
            node: i === 0 ? "wd-a" : "wd-b",
          }),
        );
      }
      // Both nodes also report the same fleet host down, each under its own incident id.
      const host = `h-${process.pid}`;
      for (const [i, n] of nodes.entries()) {
        commitAction(
          n.store,
          newAction({
            action: "host_unreachable",
            severity: "CRITICAL",
            reason: `host ${host} has no live node`,
            peer_name: host,
            node: i === 0 ? "wd-a" : "wd-b",
          }),
        );
      }
      await waitFor(
        "both nodes delivered to both Alertmanagers",
        async () =>
          nodes.every((n) => n.store.depth()["am"]?.pending === 0 && n.store.depth()["am2"]?.pending === 0)
            ? true
            : undefined,
        30_000,
        { retryErrors: true },
      );
      for (const url of [am1.url, am2.url]) {
        const a = await activeAlerts(peer, url);
        assert.equal(a.length, 1, `one alert on ${url}, not one per reporting node`);
        assert.equal(a[0]?.labels["alertname"], "WdmeshPeerDegraded");
      }
      for (const url of [am1.url, am2.url]) {
        const a = await activeAlertsWhere([`host="${host}"`, 'alertname="WdmeshHostUnreachable"'], url);
        assert.equal(a.length, 1, `one host alert on ${url}, not one per reporting node`);
        assert.equal(a[0]?.labels["node"], undefined, "the host is the subject, not the reporting node");
      }
      // One notification per incident: the peer's and the host's (two groups).
      const sent = await hook.waitFor(2, 30_000);
      const bodies = sent.map(
        (r) => JSON.parse(r.body) as { alerts: Array<{ labels: Record<string, string> }> },
      );
      for (const b of bodies) assert.equal(b.alerts.length, 1);
      assert.deepEqual(bodies.map((b) => b.alerts[0]?.labels["alertname"]).sort(), [
        "WdmeshHostUnreachable",
        "WdmeshPeerDegraded",
      ]);
      assert.equal(bodies.find((b) => b.alerts[0]?.labels["peer"] === peer)?.alerts.length, 1);
      // The second Alertmanager of the cluster sends only if the first's notification has not
      // reached it within peer_timeout (3 s) × its position; past that, a second notification
      // would have been sent. Bounded wait (the cluster's own deadline, with margin).
      await new Promise((r) => setTimeout(r, 3000 * 2 + 1000 + 4000));
      assert.equal(hook.requests.length, 2, "one notification per incident");
    } finally {
      for (const n of nodes) {
        await n.alerting.stop();
        n.store.close();
      }
      await am2.stop();
      await am1.stop();
      await hook.stop();
    }
  },
);
