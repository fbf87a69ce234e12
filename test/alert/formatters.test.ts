import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { formatGeneric } from "../../src/alert/format-generic.js";
import { formatSlack } from "../../src/alert/format-slack.js";
import { formatPagerduty } from "../../src/alert/format-pagerduty.js";
import { alertmanagerAlerts, formatAlertmanager } from "../../src/alert/format-alertmanager.js";
import { buildRequest } from "../../src/alert/sink-request.js";
import type { AlertHosts } from "../../src/alert/alert-identity.js";
import type { SinkConfig } from "../../src/alert/sink-config.js";
import type { EscalationAction, PeerHealth } from "../../src/core/types.js";

const peer: PeerHealth = {
  name: "sidecar",
  endpoint: "http://127.0.0.1:9770/health",
  status: "OFFLINE",
  last_seen: "2025-01-02T03:00:00.000Z",
  missed_count: 0,
  restart_count: 1,
  last_restart: "2025-01-02T03:04:05.000Z",
  response_time_ms: 0,
  last_error: "connection refused",
  incident_id: "inc-7",
  isolated_at: null,
  silenced_until: null,
  owner: "immune",
};

const restart: EscalationAction = {
  timestamp: "2025-01-02T03:04:05.000Z",
  peer_name: "sidecar",
  action: "restart",
  reason: "3 missed heartbeats",
  severity: "HIGH",
  id: "act-42",
  incident_id: "inc-7",
  node: "immune",
  result: { ok: true, detail: "systemctl restart sidecar.service" },
};

const recovered: EscalationAction = {
  ...restart,
  action: "recovered",
  severity: "INFO",
  reason: "probe ok",
  id: "act-43",
  timestamp: "2025-01-02T03:10:00.000Z",
  result: undefined,
};
delete (recovered as Partial<EscalationAction>).result;

test("generic: body = action + version + peer; headers with Idempotency-Key, timestamp, signature", () => {
  const f = formatGeneric(restart, peer, { secret: "s3cret", nowSec: 1735787045 });
  assert.deepEqual(JSON.parse(f.body), { ...restart, version: "1", peer });
  assert.equal(f.headers["Content-Type"], "application/json");
  assert.equal(f.headers["Idempotency-Key"], "act-42");
  assert.equal(f.headers["X-Wdmesh-Timestamp"], "1735787045");
  const mac = createHmac("sha256", "s3cret").update(`1735787045.${f.body}`).digest("hex");
  assert.equal(f.headers["X-Wdmesh-Signature"], `sha256=${mac}`);
});

test("generic: no secret → no signature header", () => {
  const f = formatGeneric(restart, peer, { nowSec: 1 });
  assert.equal(f.headers["X-Wdmesh-Signature"], undefined);
  assert.equal(f.headers["X-Wdmesh-Timestamp"], "1");
});

test("slack: one readable line with severity, action, peer, node, reason, result", () => {
  const f = formatSlack(restart);
  assert.deepEqual(JSON.parse(f.body), {
    text: "[HIGH] restart sidecar on immune: 3 missed heartbeats — result: ok (systemctl restart sidecar.service)",
  });
  const failed = formatSlack({ ...restart, result: { ok: false, error: "unit not found" } });
  assert.match((JSON.parse(failed.body) as { text: string }).text, /result: failed: unit not found$/);
  assert.deepEqual(JSON.parse(formatSlack(recovered).body), {
    text: "[INFO] recovered sidecar on immune: probe ok",
  });
});

test("pagerduty: trigger with dedup_key = the incident's host and peer, and mapped severity", () => {
  const body = JSON.parse(formatPagerduty(restart, peer, "RK", "h1").body) as Record<string, unknown>;
  assert.deepEqual(body, {
    routing_key: "RK",
    event_action: "trigger",
    dedup_key: "wdmesh/h1/peer/sidecar",
    payload: {
      summary:
        "[HIGH] restart sidecar on immune: 3 missed heartbeats — result: ok (systemctl restart sidecar.service)",
      source: "immune",
      severity: "error",
      timestamp: "2025-01-02T03:04:05.000Z",
      component: "sidecar",
      class: "restart",
      custom_details: {
        id: "act-42",
        host: "h1",
        incident_id: "inc-7",
        action: "restart",
        reason: "3 missed heartbeats",
        result: restart.result,
        peer,
      },
    },
  });
  const sev = (a: Partial<EscalationAction>) =>
    (JSON.parse(formatPagerduty({ ...restart, ...a }, peer, "RK").body) as { payload: { severity: string } })
      .payload.severity;
  assert.equal(sev({ severity: "CRITICAL", action: "isolate" }), "critical");
  assert.equal(sev({ severity: "MEDIUM", action: "alert" }), "warning");
  assert.equal(sev({ severity: "INFO", action: "alert" }), "info");
});

test("pagerduty: recovered, release and self_recovered resolve the incident", () => {
  for (const action of ["recovered", "release"] as const) {
    const body = JSON.parse(formatPagerduty({ ...recovered, action }, peer, "RK", "h1").body) as Record<
      string,
      unknown
    >;
    assert.deepEqual(body, {
      routing_key: "RK",
      event_action: "resolve",
      dedup_key: "wdmesh/h1/peer/sidecar",
    });
  }
  // A node-level incident is keyed by the node, not by a peer: self_recovered resolves
  // exactly what self_degraded opened.
  const key = (action: EscalationAction["action"]) =>
    (JSON.parse(formatPagerduty({ ...recovered, action }, peer, "RK", "h1").body) as { dedup_key: string })
      .dedup_key;
  assert.equal(key("self_recovered"), "wdmesh/h1/node/immune/WdmeshNodeOverloaded");
  assert.equal(key("self_degraded"), key("self_recovered"));
  for (const action of [
    "alert",
    "restart",
    "isolate",
    "alert_architect",
    "remediation_held",
    "self_degraded",
  ] as const) {
    const body = JSON.parse(formatPagerduty({ ...restart, action }, peer, "RK").body) as {
      event_action: string;
    };
    assert.equal(body.event_action, "trigger", action);
  }
  // outside an incident (operator restart) the action id keys the PagerDuty alert
  const lone = JSON.parse(formatPagerduty({ ...restart, incident_id: null }, peer, "RK").body) as {
    dedup_key: string;
  };
  assert.equal(lone.dedup_key, "act-42");
});

test("alertmanager: firing alert named for what is wrong, labelled by peer and host (not by the reporting node)", () => {
  const alerts = alertmanagerAlerts(restart, peer, {
    startsAt: "2025-01-02T03:00:00.000Z",
    generatorURL: "http://127.0.0.1:9760/",
    host: "h1",
  });
  assert.equal(alerts.length, 1);
  const [firing] = alerts;
  assert.deepEqual(firing?.labels, {
    alertname: "WdmeshPeerDown",
    peer: "sidecar",
    host: "h1",
    severity: "high",
  });
  assert.equal(firing?.startsAt, "2025-01-02T03:00:00.000Z");
  assert.equal(firing?.endsAt, undefined);
  assert.equal(firing?.generatorURL, "http://127.0.0.1:9760/");
  assert.equal(
    firing?.annotations["summary"],
    "[HIGH] restart sidecar on immune: 3 missed heartbeats — result: ok (systemctl restart sidecar.service)",
  );
  assert.match(
    firing?.annotations["description"] ?? "",
    /Peer status OFFLINE, missed 0, restarts 1, last error: connection refused/,
  );
  assert.equal(firing?.annotations["incident_id"], "inc-7");
  assert.equal(firing?.annotations["reported_by"], "immune");
  const medium = alertmanagerAlerts({ ...restart, action: "alert", severity: "MEDIUM" }, peer, {
    host: "h1",
  });
  assert.deepEqual(
    medium.map((a) => a.labels["alertname"]),
    ["WdmeshPeerDegraded"],
  );
  assert.equal(medium[0]?.startsAt, restart.timestamp);
  // Two nodes reporting the same incident (their own incident ids, their own names) send
  // the same labels: Alertmanager holds one alert.
  const other = alertmanagerAlerts({ ...restart, node: "wd-b", incident_id: "other-inc", id: "x" }, peer, {
    host: "h1",
  });
  assert.deepEqual(other[0]?.labels, firing?.labels);
  const names = (a: Partial<EscalationAction>) =>
    alertmanagerAlerts({ ...restart, ...a }, peer, { host: "h1" }).map((x) => x.labels["alertname"]);
  assert.deepEqual(names({ action: "isolate", severity: "CRITICAL" }), ["WdmeshPeerIsolated"]);
  assert.deepEqual(names({ action: "alert_architect", severity: "CRITICAL" }), ["WdmeshPeerIsolated"]);
  assert.deepEqual(names({ action: "remediation_held" }), ["WdmeshRemediationHeld"]);
});

test("alertmanager: node-level events name the node and are never a peer alert", () => {
  const at = (action: EscalationAction["action"], severity: EscalationAction["severity"]) =>
    alertmanagerAlerts({ ...restart, action, severity, peer_name: "immune", incident_id: null }, peer, {
      host: "h1",
    });
  // A reload is an event, not a condition: it fires nothing (it resolves a refused reload).
  const reload = at("config_reloaded", "INFO");
  assert.equal(reload.filter((a) => a.endsAt === undefined).length, 0);
  assert.deepEqual(reload[0]?.labels, {
    alertname: "WdmeshConfigReloadFailed",
    node: "immune",
    host: "h1",
    severity: "high",
  });
  const degraded = at("self_degraded", "HIGH");
  assert.deepEqual(degraded[0]?.labels, {
    alertname: "WdmeshNodeOverloaded",
    node: "immune",
    host: "h1",
    severity: "high",
  });
  assert.equal(degraded[0]?.endsAt, undefined);
  assert.equal(at("self_recovered", "INFO")[0]?.endsAt, restart.timestamp);
  for (const a of [...reload, ...degraded, ...at("self_recovered", "INFO")]) {
    assert.equal(a.labels["peer"], undefined);
    assert.doesNotMatch(a.labels["alertname"] ?? "", /^WdmeshPeer/);
  }
});

test("alertmanager: recovered resolves every alert of the peer's incident with endsAt", () => {
  const alerts = JSON.parse(
    formatAlertmanager(recovered, peer, { startsAt: "2025-01-02T03:00:00.000Z", host: "h1" }).body,
  ) as Array<{
    labels: Record<string, string>;
    startsAt: string;
    endsAt: string;
  }>;
  assert.deepEqual(
    alerts.map((a) => a.labels["alertname"]),
    [
      "WdmeshPeerDegraded",
      "WdmeshPeerDown",
      "WdmeshRemediationHeld",
      "WdmeshRemediationStalled",
      "WdmeshPeerIsolated",
    ],
  );
  for (const a of alerts) {
    assert.equal(a.endsAt, "2025-01-02T03:10:00.000Z");
    assert.equal(a.startsAt, "2025-01-02T03:00:00.000Z");
    assert.equal(a.labels["peer"], "sidecar");
  }
  // startsAt later than the resolution (unknown start) is clamped: Alertmanager rejects endsAt < startsAt
  const clamped = alertmanagerAlerts(recovered, peer, { startsAt: "2025-01-02T04:00:00.000Z" });
  assert.equal(clamped[0]?.startsAt, "2025-01-02T03:10:00.000Z");
});

const common = {
  minSeverity: "INFO" as const,
  timeoutMs: 1000,
  maxAgeMs: 60_000,
  headers: { Authorization: "Bearer x", "Content-Type": "text/plain" },
};

/** An Alertmanager sink and a PagerDuty sink, both with `common`'s extra headers. */
const am: SinkConfig = {
  ...common,
  name: "am",
  kind: "alertmanager",
  url: "http://127.0.0.1:9093/",
  resendIntervalMs: 60_000,
};
const pd: SinkConfig = {
  ...common,
  name: "p",
  kind: "pagerduty",
  url: "http://127.0.0.1:1/v2/enqueue",
  routingKey: "RK",
};

test("buildRequest: URL and format per sink kind; format headers win over configured extras", () => {
  const r = buildRequest(am, restart, peer, { nowMs: 0 });
  assert.equal(r.url, "http://127.0.0.1:9093/api/v2/alerts");
  assert.equal(r.headers["Content-Type"], "application/json");
  assert.equal(r.headers["Authorization"], "Bearer x");
  assert.ok(Array.isArray(JSON.parse(r.body)));

  const hook: SinkConfig = {
    ...common,
    name: "h",
    kind: "webhook",
    url: "http://127.0.0.1:1/x",
    format: "generic",
    secret: "k",
  };
  const g = buildRequest(hook, restart, peer, { nowMs: 1_735_787_045_900 });
  assert.equal(g.url, "http://127.0.0.1:1/x");
  assert.equal(g.headers["X-Wdmesh-Timestamp"], "1735787045");
  assert.equal((JSON.parse(g.body) as { version: string }).version, "1");

  const slack: SinkConfig = { ...common, name: "s", kind: "slack", url: "http://127.0.0.1:1/s" };
  assert.ok("text" in (JSON.parse(buildRequest(slack, restart, peer, { nowMs: 0 }).body) as object));
  assert.equal(
    (JSON.parse(buildRequest(pd, restart, peer, { nowMs: 0 }).body) as { routing_key: string }).routing_key,
    "RK",
  );
  const pdHook: SinkConfig = {
    ...common,
    name: "p2",
    kind: "webhook",
    url: "http://127.0.0.1:1/",
    format: "pagerduty",
    routingKey: "RK2",
  };
  assert.equal(
    (JSON.parse(buildRequest(pdHook, restart, peer, { nowMs: 0 }).body) as { routing_key: string })
      .routing_key,
    "RK2",
  );
});

test("buildRequest: nodes on two hosts watching one peer send its host, one identity (labels and dedup_key)", () => {
  // wd-a runs on h1 and wd-b on h2; the peer runs on h-peer (peers[].host).
  const hostsOf = (self: string): AlertHosts => ({
    self: () => self,
    peer: (name) => (name === "sidecar" ? "h-peer" : undefined),
  });
  const send = (node: string, self: string, action: EscalationAction = restart) => {
    const a = { ...action, node, id: `${node}-act`, incident_id: `${node}-inc` };
    const ctx = { nowMs: 0, hosts: hostsOf(self) };
    return {
      labels: (
        JSON.parse(buildRequest(am, a, peer, ctx).body) as Array<{ labels: Record<string, string> }>
      )[0]?.labels,
      key: (JSON.parse(buildRequest(pd, a, peer, ctx).body) as { dedup_key: string }).dedup_key,
    };
  };
  const a = send("wd-a", "h1");
  assert.deepEqual(a.labels, {
    alertname: "WdmeshPeerDown",
    peer: "sidecar",
    host: "h-peer",
    severity: "high",
  });
  assert.equal(a.key, "wdmesh/h-peer/peer/sidecar");
  assert.deepEqual(send("wd-b", "h2"), a);
  // A peer that names no host runs on the reporting node's host; the node itself is on its own.
  assert.equal(send("wd-b", "h2", { ...restart, peer_name: "local" }).labels?.["host"], "h2");
  const own = { ...restart, action: "self_degraded" as const, peer_name: "wd-b" };
  assert.deepEqual(send("wd-b", "h2", own).labels, {
    alertname: "WdmeshNodeOverloaded",
    node: "wd-b",
    host: "h2",
    severity: "high",
  });
});
